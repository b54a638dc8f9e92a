package npm

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

// The folder npm publishes gets the real versions of its workspace:
// siblings (this run's version for a sibling the run releases).
func TestPublishReplacesWorkspaceProtocol(t *testing.T) {
	j, art := setup(t, env.Env{"NPM_TOKEN": "npm_tok_123456"})
	os.MkdirAll(filepath.Join(j.Root, "core"), 0o755)
	os.WriteFile(filepath.Join(j.Root, "core", "package.json"), []byte(`{"name":"@s/core","version":"0.1.0"}`), 0o644)
	os.WriteFile(filepath.Join(j.Root, "util.json"), nil, 0o644)
	os.WriteFile(filepath.Join(art, "package.json"), []byte(`{"name":"@s/js","version":"0.0.0","dependencies":{"@s/core":"workspace:^"}}`), 0o644)
	j.RunVersions = map[string]map[string]string{config.KindNPM: {"@s/core": "1.0.0", "@s/js": "2.0.0"}}
	var published string
	fr := &run.Fake{Handler: func(c run.Cmd) (run.Result, error) {
		b, _ := os.ReadFile(filepath.Join(c.Args[1], "package.json"))
		published = string(b)
		if slices.Contains(c.Args, "--ignore-scripts") {
			t.Error("a single package keeps its lifecycle scripts")
		}
		return run.Result{}, nil
	}}
	h := &Handler{Client: &fakeClient{}, Runner: fr, TempDir: t.TempDir(),
		SetVersion: func(kind, dir, v string) error { _, err := manifest.SetVersion(kind, dir, v); return err }}
	c, err := h.Authorize(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Publish(t.Context(), j, c); err != nil {
		t.Fatal(err)
	}
	if published != `{"name":"@s/js","version":"2.0.0","dependencies":{"@s/core":"^1.0.0"}}` {
		t.Fatalf("published %s", published)
	}
}

func TestCheckWorkspaceAndEntries(t *testing.T) {
	j, art := setup(t, env.Env{})
	os.WriteFile(filepath.Join(art, "package.json"), []byte(`{"name":"@s/js","version":"0.0.0","main":"dist/index.js","dependencies":{"ghost":"workspace:*"}}`), 0o644)
	packed := `[{"files":[{"path":"package.json"}]}]`
	calls := 0
	fr := &run.Fake{Handler: func(c run.Cmd) (run.Result, error) {
		calls++
		if c.Name != "npm" || c.Args[0] != "pack" || !slices.Contains(c.Args, "--ignore-scripts") || c.Dir != art {
			t.Errorf("unexpected %v in %s", c.Args, c.Dir)
		}
		return run.Result{Stdout: packed}, nil
	}}
	h := &Handler{Client: &fakeClient{}, Runner: fr}
	// Not built at all: found without asking npm.
	got := h.Check(t.Context(), j)
	if len(got) != 2 || !strings.Contains(got[0], `ghost = "workspace:*"`) || !strings.Contains(got[1], "main points at dist/index.js, which does not exist") || calls != 0 {
		t.Fatalf("problems = %q (npm ran %d times)", got, calls)
	}
	// Built, but "files" leaves it out of what npm packs.
	os.MkdirAll(filepath.Join(art, "dist"), 0o755)
	os.WriteFile(filepath.Join(art, "dist", "index.js"), nil, 0o644)
	os.WriteFile(filepath.Join(art, "package.json"), []byte(`{"name":"@s/js","version":"0.0.0","main":"dist/index.js","files":["lib"]}`), 0o644)
	if got := h.Check(t.Context(), j); len(got) != 1 || !strings.Contains(got[0], "not in the packed package") || calls != 1 {
		t.Fatalf("problems = %q", got)
	}
	packed = `[{"files":[{"path":"package.json"},{"path":"dist/index.js"}]}]`
	if got := h.Check(t.Context(), j); len(got) != 0 {
		t.Fatalf("problems = %q", got)
	}
	// No "files" list and no ignore file: everything there is packed.
	os.WriteFile(filepath.Join(art, "package.json"), []byte(`{"name":"@s/js","version":"0.0.0","main":"dist/index.js"}`), 0o644)
	if got := h.Check(t.Context(), j); len(got) != 0 || calls != 2 {
		t.Fatalf("problems = %q (npm ran %d times)", got, calls)
	}
}
