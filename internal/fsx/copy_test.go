package fsx

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestCopyFileKeepsModeDespiteUmask: an executable stays executable under a
// umask that would strip the bit from a newly created file.
func TestCopyFileKeepsModeDespiteUmask(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "bin"), filepath.Join(dir, "copy")
	if err := os.WriteFile(src, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(src, 0o755); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0o177)
	err := CopyFile(src, dst)
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("mode = %v, want 0755", fi.Mode().Perm())
	}
	if data, _ := os.ReadFile(dst); string(data) != "#!/bin/sh\n" {
		t.Errorf("content = %q", data)
	}
}
