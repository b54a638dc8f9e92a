package initcmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// init never writes through a committed symlink: not by appending to
// CLAUDE.md, not into a symlinked .github/workflows, not by --force over a
// symlinked putitoutthere.toml or AGENTS.md. The targets stay untouched.
func TestInitRefusesSymlinks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	cases := []struct {
		name  string
		link  string // path in the repository made a symlink
		dir   bool
		force bool
	}{
		{"CLAUDE.md", FileClaude, false, false},
		{"workflows dir", ".github/workflows", true, false},
		{"config with --force", FileConfig, false, true},
		{"AGENTS.md with --force", FileAgents, false, true},
		{"release workflow with --force", FileRelease, false, true},
		{"agents dir", filepath.Dir(FileAgents), true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			root := filepath.Join(base, "repo")
			outside := filepath.Join(base, "outside")
			os.MkdirAll(root, 0o755)
			os.MkdirAll(outside, 0o755)
			target := filepath.Join(outside, "target")
			if c.dir {
				os.MkdirAll(target, 0o755)
			} else {
				os.WriteFile(target, []byte("export SAFE=1\n"), 0o644)
			}
			link := filepath.Join(root, filepath.FromSlash(c.link))
			os.MkdirAll(filepath.Dir(link), 0o755)
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			_, err := Run(context.Background(), Options{Root: root, Force: c.force})
			var se *SymlinkError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a SymlinkError", err)
			}
			if c.dir {
				if ents, _ := os.ReadDir(target); len(ents) != 0 {
					t.Fatalf("wrote %d files into the symlinked directory", len(ents))
				}
			} else if b, _ := os.ReadFile(target); string(b) != "export SAFE=1\n" {
				t.Fatalf("the link's target was changed: %q", b)
			}
		})
	}
}
