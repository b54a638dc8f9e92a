package cli

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/env"
)

// Rehearsing the example monorepo: every wheel and sdist of both PyPI
// packages reaches the PyPI emulator with a PEP 740 attestation it verified
// against the trusted publisher (the emulator answers 200 only then).
func TestRehearsePolyglotAttestsEveryPyPIFile(t *testing.T) {
	for _, tool := range []string{"git", "cargo", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (the example also releases a crate and an npm package)", tool)
		}
	}
	dir := t.TempDir()
	src := filepath.Join("..", "..", "examples", "polyglot")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	gitIn(t, dir, "init", "-q", "-b", "main")
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-qm", "initial")
	gitIn(t, dir, "remote", "add", "origin", "https://github.com/polyglot-example/polyglot.git")

	// First releases of the crate and the npm package need a token; the
	// rehearsal replaces these with emulator tokens.
	e := env.Env{"PATH": os.Getenv("PATH"), "HOME": t.TempDir(), "CARGO_REGISTRY_TOKEN": "x", "NODE_AUTH_TOKEN": "x"}
	if h := os.Getenv("CARGO_HOME"); h != "" {
		e["CARGO_HOME"] = h
	}
	if h := os.Getenv("RUSTUP_HOME"); h != "" {
		e["RUSTUP_HOME"] = h
	} else if home, err := os.UserHomeDir(); err == nil {
		e["RUSTUP_HOME"] = filepath.Join(home, ".rustup")
		if os.Getenv("CARGO_HOME") == "" {
			e["CARGO_HOME"] = filepath.Join(home, ".cargo")
		}
	}
	var out, errb bytes.Buffer
	code := MainEnv(context.Background(), []string{"--cwd", dir, "rehearse"}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, e)
	all := out.String() + errb.String()
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, all)
	}
	uploaded := regexp.MustCompile(`(?m): (\S+\.(?:whl|tar\.gz)) uploaded(.*)$`).FindAllStringSubmatch(all, -1)
	if len(uploaded) != 6 { // core-py: three wheels and an sdist; utils: a wheel and an sdist
		t.Fatalf("%d PyPI uploads, want 6\n%s", len(uploaded), all)
	}
	for _, m := range uploaded {
		if m[2] != " with its PEP 740 attestation" {
			t.Errorf("%s uploaded without an attestation", m[1])
		}
	}
	for _, want := range []string{"core-py: 4 PEP 740 attestation(s) signed for release.yml @ polyglot-example/polyglot", "utils: 2 PEP 740 attestation(s) signed"} {
		if !strings.Contains(all, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
