package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, and every problem it reports has a
// position inside the input and a code.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.toml"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("[putitoutthere]\nversion = 1\n[[package]]\nname = \"a\"\nkind = \"npm\"\nbuild = \"napi\"\ntargets = [{triple = 1}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.toml", data)
		if err == nil {
			if cfg == nil || cfg.Version != 1 || len(cfg.Packages) == 0 {
				t.Fatalf("accepted an incomplete config: %+v", cfg)
			}
			for i := range cfg.Packages {
				if _, err := TagPattern(&cfg.Packages[i]); err != nil {
					t.Fatalf("accepted package with bad tag_format: %v", err)
				}
			}
			return
		}
		ps := ProblemsOf(err)
		if len(ps) == 0 {
			t.Fatalf("error without problems: %v", err)
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, p := range ps {
			if p.Code == "" || p.Msg == "" || p.Pos.Line < 1 || p.Pos.Col < 1 || p.Pos.Line > lines {
				t.Fatalf("bad problem %+v (input has %d lines)", p, lines)
			}
		}
	})
}

// FuzzTagFormat: a format either fails to parse or round-trips: the tag it
// renders for a version matches and gives the version back.
func FuzzTagFormat(f *testing.F) {
	for _, s := range []string{"{name}-v{version}", "v{version}", "{name}@{version}", "release/{name}/{version}", "{version}", "{name}}", "{{version}}", "{name}-{ver}"} {
		f.Add(s, "core", "1.2.3")
	}
	f.Add("{name}@{version}", "@scope/pkg", "1.0.0-rc.1+build.5")
	f.Fuzz(func(t *testing.T, format, name, version string) {
		tf, err := ParseTagFormat(format)
		if err != nil {
			return
		}
		m := tf.Matcher(name)
		tag := tf.Render(name, version)
		got, ok := m.Match(tag)
		valid := semverRE.MatchString(version)
		if valid && (!ok || got != version) {
			t.Fatalf("format %q name %q: Match(%q) = %q, %v; want %q", format, name, tag, got, ok, version)
		}
		if ok && !semverRE.MatchString(got) {
			t.Fatalf("format %q: matched a non-version %q in %q", format, got, tag)
		}
	})
}
