package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadFileRefusesHostileFiles(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.toml")
	os.WriteFile(ok, []byte("a = 1\n"), 0o644)
	if b, err := ReadFile(ok, 100); err != nil || string(b) != "a = 1\n" {
		t.Fatalf("%q %v", b, err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), 100); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, []byte(strings.Repeat("x", 101)), 0o644)
	if _, err := ReadFile(big, 100); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("big: %v", err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	zero := filepath.Join(dir, "zero")
	os.Symlink("/dev/zero", zero)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{zero, fifo, dir} {
		done := make(chan error, 1)
		go func() { _, err := ReadFile(p, MaxConfig); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("%s: %v", p, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: ReadFile blocked", p)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := Truncate(strings.Repeat("é", 100), 11); !strings.HasPrefix(got, "ééééé…") {
		t.Fatalf("%q", got)
	}
}
