package config

import (
	"strings"
	"testing"
)

func TestTagPatternMatch(t *testing.T) {
	tests := []struct {
		format, name, tag, version string
		ok                         bool
	}{
		{"{name}-v{version}", "core", "core-v0.1.0", "0.1.0", true},
		{"{name}-v{version}", "core", "core-v1.20.3-rc.1", "1.20.3-rc.1", true},
		{"{name}-v{version}", "core", "core-v1.2.3+build.5", "1.2.3+build.5", true},
		{"{name}-v{version}", "core", "core-py-v0.1.0", "", false},
		{"{name}-v{version}", "core-py", "core-py-v0.1.0", "0.1.0", true},
		{"{name}-v{version}", "core", "core-v0.1", "", false},
		{"{name}-v{version}", "core", "core-v01.2.3", "", false},
		{"{name}-v{version}", "core", "xcore-v0.1.0", "", false},
		{"{name}-v{version}", "core", "core-v0.1.0x", "", false},
		{"{name}-v{version}", "a.b", "axb-v1.0.0", "", false},
		{"v{version}", "core", "v2.0.0", "2.0.0", true},
		{"v{version}", "core", "core-v2.0.0", "", false},
		{"v{version}", "core", "v2.0.0-beta", "2.0.0-beta", true},
		{"{name}@{version}", "@scope/pkg", "@scope/pkg@1.0.0", "1.0.0", true},
		{"{name}@{version}", "cli", "cli@1.0.0", "1.0.0", true},
		{"{name}@{version}", "cli", "cli@v1.0.0", "", false},
		{"release/{name}/{version}", "x", "release/x/3.4.5", "3.4.5", true},
		{"{version}", "x", "3.4.5", "3.4.5", true},
		{"{version}-{name}", "x", "3.4.5-x", "3.4.5", true},
	}
	for _, tt := range tests {
		m, err := TagPattern(&Package{Name: tt.name, TagFormat: tt.format})
		if err != nil {
			t.Fatalf("TagPattern(%q): %v", tt.format, err)
		}
		v, ok := m.Match(tt.tag)
		if ok != tt.ok || v != tt.version {
			t.Errorf("%q/%q Match(%q) = %q, %v; want %q, %v", tt.format, tt.name, tt.tag, v, ok, tt.version, tt.ok)
		}
	}
}

func TestTagPatternDefaultAndRender(t *testing.T) {
	p := &Package{Name: "utils"}
	m, err := TagPattern(p)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := m.Match(p.TagFor("0.2.0")); !ok || v != "0.2.0" {
		t.Errorf("default format round trip: %q %v", v, ok)
	}
	if g := m.Glob(); g != "utils-v*" {
		t.Errorf("Glob = %q", g)
	}
	tf, _ := ParseTagFormat("{name}@{version}")
	if got := tf.Render("cli", "1.0.0"); got != "cli@1.0.0" {
		t.Errorf("Render = %q", got)
	}
	if g := tf.Matcher("cli").Glob(); g != "cli@*" {
		t.Errorf("Glob = %q", g)
	}
	tf, _ = ParseTagFormat("v{version}")
	if g := tf.Matcher("x").Glob(); g != "v*" {
		t.Errorf("Glob = %q", g)
	}
}

func TestParseTagFormatErrors(t *testing.T) {
	tests := map[string]string{
		"":                         "empty",
		"{name}":                   "must contain {version}",
		"v1":                       "must contain {version}",
		"{version}-{version}":      "only once",
		"{name}-{ver}":             "unknown placeholder {ver}",
		"{Name}-{version}":         "unknown placeholder {Name}",
		"{name}-v{version":         "unclosed",
		"{name}}-v{version}":       "unmatched",
		"{name} v{version}":        "not allow",
		"{name}..v{version}":       `".."`,
		"{name}~{version}":         "not allow",
		"-{version}":               "may not start",
		"{version}.":               "may not start",
		"{name}:{version}":         "not allow",
		"{name}-v{version}\n":      "not allow",
		"{name}/{}{version}":       "unknown placeholder {}",
		"x@{{version}":             "unknown placeholder {{version}",
		"{name}-{version}[1]":      "not allow",
		"{name}-{version}\\latest": "not allow",
	}
	for in, want := range tests {
		_, err := ParseTagFormat(in)
		if err == nil {
			t.Errorf("ParseTagFormat(%q): no error", in)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTagFormat(%q) = %q, want it to mention %s", in, err, want)
		}
	}
	if _, err := TagPattern(&Package{Name: "x", TagFormat: "{name}"}); err == nil || !strings.Contains(err.Error(), `package "x"`) {
		t.Errorf("TagPattern error = %v", err)
	}
}
