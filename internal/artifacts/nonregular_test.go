package artifacts

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/plan"
)

// A FIFO named like a wheel beside the real one is a gap, not skipped: the
// release would otherwise report success with one of two files.
func TestNonRegularArtifactIsAGap(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs")
	}
	root := t.TempDir()
	dir := filepath.Join(root, Dir, "py-wheels")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "py-1.0.0-py3-none-any.whl"), []byte("PK"), 0o644)
	if err := syscall.Mkfifo(filepath.Join(dir, "py-1.0.0-cp312-cp312-manylinux_2_17_x86_64.whl"), 0o644); err != nil {
		t.Fatal(err)
	}
	gaps := Check(root, []plan.Row{{Name: "py", Kind: "pypi", Target: "noarch", ArtifactName: "py-wheels"}})
	found := false
	for _, g := range gaps {
		if strings.Contains(g.Problem, "manylinux_2_17_x86_64.whl is not a regular file") {
			found = true
		}
	}
	if !found {
		t.Fatalf("gaps = %+v", gaps)
	}
}
