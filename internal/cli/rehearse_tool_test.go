package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/env"
)

// Without cargo on this machine, a rehearsal of a crate says it could not
// run (not that the real publish would fail), names the tool, and uploads
// nothing.
func TestRehearseWithoutCargoSaysItCouldNotRun(t *testing.T) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	dir := rehearsalRepo(t, rehearseWorkflow, true)
	bin := t.TempDir()
	if err := os.Symlink(gitPath, filepath.Join(bin, "git")); err != nil {
		t.Skip("no symlinks")
	}
	e := env.Env{"PATH": bin, "HOME": t.TempDir(), "CARGO_REGISTRY_TOKEN": "cio-bootstrap"}
	var out, errb bytes.Buffer
	code := MainEnv(context.Background(), []string{"--cwd", dir, "rehearse"}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, e)
	all := out.String() + errb.String()
	if code != 1 || !strings.Contains(all, "PIOT_TOOL_MISSING") || !strings.Contains(all, "cargo is not installed or not on PATH") {
		t.Fatalf("exit %d\n%s", code, all)
	}
	if !strings.Contains(out.String(), "rehearsal could not run") || strings.Contains(out.String(), "the real publish would stop here too") {
		t.Errorf("stdout:\n%s", out.String())
	}
	if strings.Contains(all, "/legacy/ → 200") {
		t.Errorf("uploaded despite the missing tool:\n%s", all)
	}
}
