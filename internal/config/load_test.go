package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/diag"
)

var update = flag.Bool("update", false, "rewrite testdata/*.out from the current output")

// TestTestdata parses every testdata/*.toml and compares the problems with
// the sibling .out file: one `file:line:col: message` per line, or a
// /regexp/ line. err_*.toml must have an .out; ok_*.toml must be valid.
func TestTestdata(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".toml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, perr := Parse(name, data)
			var got []string
			if perr != nil {
				var de *diag.Error
				if !errors.As(perr, &de) {
					t.Fatalf("Parse returned %T, want *diag.Error", perr)
				}
				if de.Exit != diag.ExitUsage {
					t.Errorf("exit = %d, want %d", de.Exit, diag.ExitUsage)
				}
				got = de.Details
				if len(ProblemsOf(perr)) != len(got) {
					t.Errorf("ProblemsOf gives %d problems, Details %d", len(ProblemsOf(perr)), len(got))
				}
			}
			outFile := strings.TrimSuffix(f, ".toml") + ".out"
			if *update {
				body := strings.Join(got, "\n")
				if body != "" {
					body += "\n"
				}
				if err := os.WriteFile(outFile, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			var want []string
			if strings.HasPrefix(name, "err_") {
				// An error case without its expectations would pass vacuously.
				if _, err := os.Stat(outFile); err != nil {
					t.Fatalf("%s has no %s (note: *.out is git-ignored; add it with git add -f)", name, filepath.Base(outFile))
				}
			}
			if b, err := os.ReadFile(outFile); err == nil {
				for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
					if l != "" {
						want = append(want, l)
					}
				}
			}
			if len(got) != len(want) {
				t.Fatalf("got %d problems, want %d\ngot:\n  %s\nwant:\n  %s", len(got), len(want), strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			for i := range want {
				if w := want[i]; strings.HasPrefix(w, "/") && strings.HasSuffix(w, "/") && len(w) > 1 {
					if !regexp.MustCompile(w[1 : len(w)-1]).MatchString(got[i]) {
						t.Errorf("problem %d:\n got  %s\n want %s", i+1, got[i], w)
					}
				} else if got[i] != w {
					t.Errorf("problem %d:\n got  %s\n want %s", i+1, got[i], w)
				}
			}
		})
	}
}

func TestLoadDirectoryIsClearError(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
	var de *diag.Error
	if !errors.As(err, &de) || de.Code != CodeConfigNotFound || de.Exit != diag.ExitUsage {
		t.Fatalf("err = %#v, want %s with exit 2", err, CodeConfigNotFound)
	}
	if strings.Contains(err.Error(), "read "+dir) || !strings.Contains(err.Error(), "is a directory, not a config file") || de.Hint == "" {
		t.Errorf("message %q / hint %q: want a plain sentence and a hint, not Go's read error", err, de.Hint)
	}
}
