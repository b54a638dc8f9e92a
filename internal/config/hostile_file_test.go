package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/diag"
)

const minimalConfig = `[putitoutthere]
version = 1

[[package]]
name = "core"
kind = "crates"
path = "core"
paths = ["core/**"]
`

func loadWithin(t *testing.T, path string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := Load(path); done <- err }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("Load(%s) did not return", path)
		return nil
	}
}

func TestLoadRefusesDevZeroFIFOAndHugeFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no /dev/zero or FIFOs")
	}
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero.toml")
	os.Symlink("/dev/zero", zero)
	fifo := filepath.Join(dir, "fifo.toml")
	syscall.Mkfifo(fifo, 0o644)
	huge := filepath.Join(dir, "huge.toml")
	os.WriteFile(huge, []byte(minimalConfig+"# "+strings.Repeat("x", 2<<20)+"\n"), 0o644)
	for _, p := range []string{zero, fifo, huge} {
		err := loadWithin(t, p)
		if err == nil || diag.ExitCode(err) != diag.ExitUsage {
			t.Fatalf("%s: %v", p, err)
		}
		if len(err.Error()) > 1000 {
			t.Fatalf("%s: error is %d bytes", p, len(err.Error()))
		}
	}
}

func TestLongValueNotEchoedWhole(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	long := strings.Repeat("A", 500<<10)
	os.WriteFile(p, []byte(strings.Replace(minimalConfig, `kind = "crates"`, `kind = "`+long+`"`, 1)), 0o644)
	err := loadWithin(t, p)
	if err == nil {
		t.Fatal("no error")
	}
	var all strings.Builder
	all.WriteString(err.Error())
	for _, pr := range ProblemsOf(err) {
		all.WriteString(pr.String())
	}
	if e, ok := err.(*diag.Error); ok {
		all.WriteString(strings.Join(e.Details, "\n"))
	}
	if all.Len() > 4000 || strings.Contains(all.String(), strings.Repeat("A", 1000)) {
		t.Fatalf("the value is echoed whole (%d bytes)", all.Len())
	}
}

func TestLoadAcceptsByteOrderMark(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	os.MkdirAll(filepath.Join(dir, "core"), 0o755)
	os.WriteFile(filepath.Join(dir, "core", "Cargo.toml"), []byte("[package]\nname = \"core\"\nversion = \"0.1.0\"\n"), 0o644)
	os.WriteFile(p, []byte("\xef\xbb\xbf"+minimalConfig), 0o644)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Packages) != 1 || cfg.Packages[0].Name != "core" {
		t.Fatalf("%+v", cfg.Packages)
	}
}
