package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/diag"
)

func TestCheckPathsInRepo(t *testing.T) {
	outside := t.TempDir()
	repo := t.TempDir()
	for _, d := range []string{"crates/core", "py/bin"} {
		if err := os.MkdirAll(filepath.Join(repo, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(repo, "escape")); err != nil {
		t.Skip("symlinks unavailable:", err)
	}
	// A symlink that stays inside is fine.
	if err := os.Symlink(filepath.Join(repo, "crates"), filepath.Join(repo, "inside")); err != nil {
		t.Fatal(err)
	}
	src := `[putitoutthere]
version = 1

[[package]]
name = "ok"
kind = "crates"
path = "inside/core"
paths = ["inside/**"]

[[package]]
name = "missing"
kind = "crates"
path = "not/there"
paths = ["x/**"]

[[package]]
name = "bad"
kind = "crates"
path = "escape"
paths = ["escape/**"]

[[package]]
name = "py"
kind = "pypi"
path = "py"
paths = ["py/**"]
build = "maturin"
targets = ["x86_64-unknown-linux-gnu"]
bundle_cli = { bin = "x", stage_to = "bin", crate_path = "../escape" }

[[package]]
name = "py2"
kind = "pypi"
path = "py"
paths = ["py/**"]
build = "maturin"
targets = ["x86_64-unknown-linux-gnu"]
bundle_cli = { bin = "x", stage_to = "bin", crate_path = "../crates/core" }
`
	cfg, err := Parse("putitoutthere.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	err = CheckPathsInRepo(cfg, repo)
	if diag.CodeOf(err) != CodeConfigPathEscape || diag.ExitCode(err) != diag.ExitUsage {
		t.Fatalf("err = %v", err)
	}
	ps := ProblemsOf(err)
	if len(ps) != 2 {
		t.Fatalf("problems = %v", ps)
	}
	if ps[0].Package != "bad" || ps[0].Pos != (Pos{Line: 19, Col: 1}) || !strings.Contains(ps[0].Msg, "outside the repository") {
		t.Errorf("problem 0 = %+v", ps[0])
	}
	if ps[1].Package != "py" || ps[1].Key != "bundle_cli.crate_path" {
		t.Errorf("problem 1 = %+v", ps[1])
	}

	cfg.Packages = append(cfg.Packages[:2], cfg.Packages[4])
	if err := CheckPathsInRepo(cfg, repo); err != nil {
		t.Errorf("clean config: %v", err)
	}
	if err := CheckPathsInRepo(cfg, filepath.Join(repo, "nope")); diag.CodeOf(err) != CodeConfigPathEscape {
		t.Errorf("missing root: %v", err)
	}
}
