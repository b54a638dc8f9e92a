package config

import (
	"strings"
	"testing"
)

func TestAttestationsKey(t *testing.T) {
	base := "[putitoutthere]\nversion = 1\n\n[[package]]\nname = \"py\"\nkind = \"pypi\"\npath = \"py\"\npaths = [\"py/**\"]\n"
	for _, c := range []struct {
		line string
		off  bool
		err  string
	}{
		{"", false, ""},
		{"attestations = true\n", false, ""},
		{"attestations = false\n", true, ""},
		{"attestations = \"no\"\n", false, "attestations"},
	} {
		cfg, err := Parse("putitoutthere.toml", []byte(base+c.line))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "putitoutthere.toml:9:") {
				t.Errorf("%q: err = %v", c.line, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.line, err)
		}
		if got := cfg.Packages[0].NoAttestations; got != c.off {
			t.Errorf("%q: NoAttestations = %v, want %v", c.line, got, c.off)
		}
	}
	// Only PyPI packages have the key.
	_, err := Parse("putitoutthere.toml", []byte(strings.Replace(base, `kind = "pypi"`, `kind = "npm"`, 1)+"attestations = false\n"))
	if err == nil || !strings.Contains(err.Error(), "attestations") {
		t.Errorf("npm package with attestations: err = %v", err)
	}
}
