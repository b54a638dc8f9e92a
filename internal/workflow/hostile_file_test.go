package workflow

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/safefile"
)

// A committed workflow symlinked to /dev/zero, or a FIFO, is refused at once
// (it once grew to 24 GB in memory).
func TestLoadDirRefusesDevZeroAndFIFO(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no /dev/zero or FIFOs")
	}
	for _, mk := range []func(string) error{
		func(p string) error { return os.Symlink("/dev/zero", p) },
		func(p string) error { return syscall.Mkfifo(p, 0o644) },
	} {
		root := t.TempDir()
		dir := filepath.Join(root, ".github", "workflows")
		os.MkdirAll(dir, 0o755)
		if err := mk(filepath.Join(dir, "release.yml")); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := LoadDir(root); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, safefile.ErrNotRegular) {
				t.Fatalf("err = %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("LoadDir blocked")
		}
	}
}
