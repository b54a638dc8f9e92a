package npm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	npmreg "github.com/putitoutthere/putitoutthere/internal/registry/npm"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

// TestDryRunUsesThePlannedVersion is false alarm 10: the pull-request check
// runs `publish --dry-run` on a checkout whose package.json still holds the
// version already on npm (3.0.1); npm refuses to dry-run a publish over it.
// The dry run must see the planned version, in a copy, leaving the checkout
// as it was.
func TestDryRunUsesThePlannedVersion(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skipf("needs npm: %v", err)
	}
	srv, err := npmemu.Start(npmemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.CreatePackageVersion("js-dry", "octocat", "3.0.1"); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "js")
	manifest := "{\n  \"name\": \"js-dry\",\n  \"version\": \"3.0.1\",\n  \"main\": \"index.js\"\n}\n"
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "package.json"), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(dir, "index.js"), []byte("module.exports = 1\n"), 0o644)

	e := env.Env{"PATH": os.Getenv("PATH"), "HOME": t.TempDir(), npmreg.RegistryEnv: srv.URL()}
	client, err := npmreg.New(context.Background(), e, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{Client: client, Runner: run.Exec{Base: e}, TempDir: t.TempDir()}
	pkg := &config.Package{Name: "js", Kind: "npm", NPM: "js-dry", Path: "js"}
	j := publish.Job{Package: pkg, Release: plan.Release{Name: "js", Version: "3.0.2"}, Root: root, Env: e}
	if ps := h.DryRun(context.Background(), j); len(ps) != 0 {
		t.Fatalf("dry run of 3.0.2 refused: %v", ps)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "package.json")); string(b) != manifest {
		t.Errorf("the checkout's package.json was edited:\n%s", b)
	}
	// The refusal the copy avoids is real: the committed version is refused.
	j.Release.Version = "3.0.1"
	if ps := h.DryRun(context.Background(), j); len(ps) == 0 {
		t.Error("a dry run over the published 3.0.1 passed: the test cannot fail")
	}
}
