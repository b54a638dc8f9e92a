// Package safefile reads files that come from a repository (config,
// workflows, manifests) with a bound: a committed symlink to /dev/zero, a
// FIFO or a multi-gigabyte file is refused with a clear error instead of
// being read until memory runs out or blocking forever.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Size limits. Real files are far smaller: the largest Cargo.toml or
// package.json of the fixture repositories is under 64 KiB.
const (
	MaxConfig   = 1 << 20  // putitoutthere.toml
	MaxWorkflow = 4 << 20  // a workflow YAML file
	MaxManifest = 16 << 20 // Cargo.toml, Cargo.lock, package.json, pyproject.toml
)

// ErrNotRegular: the path is (or a symlink points at) a device, FIFO,
// socket or directory.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge: the file is larger than the limit.
var ErrTooLarge = errors.New("file too large")

// ReadFile reads path (following symlinks) when it is a regular file of at
// most max bytes. A missing file gives an error satisfying
// errors.Is(err, fs.ErrNotExist), as os.ReadFile does.
func ReadFile(path string, max int64) ([]byte, error) {
	// Stat before opening: opening a FIFO for reading blocks until a writer
	// appears.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kind(fi.Mode()))}
	}
	if fi.Size() > max {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, fi.Size(), max)}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The file may have been swapped or may grow: the read is bounded too.
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: ErrNotRegular}
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)}
	}
	return data, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}

// Truncate shortens s to at most n bytes for a message, saying how much was cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xc0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return fmt.Sprintf("%s… (%d more bytes)", s[:cut], len(s)-cut)
}
