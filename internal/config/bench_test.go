package config

import (
	"fmt"
	"strings"
	"testing"
)

// bigConfig is n packages, each with dependencies, targets and a trust
// policy: a stand-in for a large monorepo.
func bigConfig(n int) []byte {
	var b strings.Builder
	b.WriteString("[putitoutthere]\nversion = 1\n")
	for i := 0; i < n; i++ {
		var deps []string
		for j := max(0, i-3); j < i; j++ {
			deps = append(deps, fmt.Sprintf("%q", fmt.Sprintf("p%d", j)))
		}
		fmt.Fprintf(&b, "\n[[package]]\nname = \"p%d\"\nkind = \"npm\"\npath = \"p/%d\"\npaths = [\"p/%d/**\", \"shared/**\"]\ndepends_on = [%s]\nbuild = \"napi\"\ntargets = [\"x86_64-unknown-linux-gnu\", \"aarch64-apple-darwin\", { triple = \"x86_64-pc-windows-msvc\", runner = \"w\" }]\n[package.trust_policy]\nworkflow = \"release.yml\"\n", i, i, i, strings.Join(deps, ", "))
	}
	return []byte(b.String())
}

func TestParseLargeConfig(t *testing.T) {
	cfg, err := Parse("big.toml", bigConfig(1000))
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Package("p999")
	if p == nil || len(p.DependsOn) != 3 || p.KeyPos["trust_policy.workflow"].Line == 0 {
		t.Fatalf("p999 = %+v", p)
	}
}

func BenchmarkParse(b *testing.B) {
	data := bigConfig(1000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("big.toml", data); err != nil {
			b.Fatal(err)
		}
	}
}
