package publish

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/plan"
)

// A dependent listed first and without depends_on is published after the
// sibling its stale requirement names, and the requirement is rewritten
// before its upload.
func TestRequirementOrdersAndRewrites(t *testing.T) {
	hh := newHarness(t, nil)
	root := hh.opts.Root
	for rel, body := range map[string]string{
		"app/Cargo.toml":  "[package]\nname = \"app\"\nversion = \"0.3.0\"\n\n[dependencies]\ncore = { path = \"../core\", version = \"0.9\" } # sibling\n",
		"core/Cargo.toml": "[package]\nname = \"core\"\nversion = \"0.9.0\"\n",
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, rel)), 0o755)
		os.WriteFile(filepath.Join(root, rel), []byte(body), 0o644)
	}
	cfg := &config.Config{File: "putitoutthere.toml", Packages: []config.Package{
		{Name: "app", Kind: "crates", Path: "app", TagFormat: config.DefaultTagFormat},
		{Name: "core", Kind: "crates", Path: "core", TagFormat: config.DefaultTagFormat},
	}}
	p := &plan.Plan{Releases: []plan.Release{
		{Name: "app", Kind: "crates", Version: "0.3.1", Tag: "app-v0.3.1", LastTag: "app-v0.3.0"},
		{Name: "core", Kind: "crates", Version: "1.0.0", Tag: "core-v1.0.0", LastTag: "core-v0.9.0"},
	}}
	hh.w.exists["app"] = true
	hh.opts.Config = cfg
	hh.opts.Plan = func(context.Context, string, *config.Config) (*plan.Plan, error) { return p, nil }
	rep, err := hh.run(t)
	if err != nil {
		t.Fatal(err)
	}
	pubs := hh.w.has("publish ")
	if len(pubs) != 2 || !strings.HasPrefix(pubs[0], "publish core@1.0.0") || !strings.HasPrefix(pubs[1], "publish app@0.3.1") {
		t.Fatalf("publish order = %q", pubs)
	}
	b, _ := os.ReadFile(filepath.Join(root, "app", "Cargo.toml"))
	if !strings.Contains(string(b), `core = { path = "../core", version = "1.0" } # sibling`) {
		t.Errorf("app/Cargo.toml:\n%s", b)
	}
	if rep.Packages[1].Name != "app" || len(rep.Packages[1].Notes) == 0 || !strings.Contains(rep.Packages[1].Notes[0], `"0.9" → "1.0"`) {
		t.Errorf("report = %+v", rep.Packages)
	}
}
