package manifest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
)

// The check publish --dry-run runs agrees with the real writer on every
// awkward manifest: when the write would fail, the check fails; when the
// check passes, the write succeeds and the version reads back.
func TestCheckVersionAgreesWithWriter(t *testing.T) {
	cases := map[string]string{
		"plain":            "[package]\nname = \"a\"\nversion = \"0.1.0\"\n",
		"bom":              "\xef\xbb\xbf[package]\nname = \"a\"\nversion = \"0.1.0\"\n",
		"multiline basic":  "[package]\nname = \"a\"\nversion = \"\"\"\n0.1.0\"\"\"\n",
		"multiline lit":    "[package]\nname = \"a\"\nversion = '''0.1.0'''\n",
		"literal":          "[package]\nname = \"a\"\nversion = '0.1.0'\n",
		"dotted":           "package.name = \"a\"\npackage.version = \"0.1.0\"\n",
		"inline table":     "package = { name = \"a\", version = \"0.1.0\" }\n",
		"no version":       "[package]\nname = \"a\"\n",
		"version int":      "[package]\nname = \"a\"\nversion = 1\n",
		"crlf":             "[package]\r\nname = \"a\"\r\nversion = \"0.1.0\"\r\n",
		"comment after":    "[package]\nname = \"a\"\nversion = \"0.1.0\" # managed\n",
		"escaped":          "[package]\nname = \"a\"\nversion = \"0.1.\\u0030\"\n",
		"two tables":       "[package]\nname = \"a\"\n[package.metadata]\nx = 1\n[package]\nversion = \"0.1.0\"\n",
		"invalid toml":     "[package\nname = \"a\"\n",
		"version in other": "[package]\nname = \"a\"\nversion = \"0.1.0\"\n[dependencies]\nversion = \"1\"\n",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "Cargo.toml")
			os.WriteFile(p, []byte(text), 0o644)
			checkErr := CheckVersion(config.KindCrates, dir, "1.2.3")
			if b, _ := os.ReadFile(p); string(b) != text {
				t.Fatal("the check wrote the file")
			}
			_, writeErr := SetVersion(config.KindCrates, dir, "1.2.3")
			if (checkErr == nil) != (writeErr == nil) {
				t.Fatalf("check: %v, write: %v", checkErr, writeErr)
			}
			if writeErr == nil {
				if _, v, err := ReadName(config.KindCrates, dir); err != nil || v != "1.2.3" {
					b, _ := os.ReadFile(p)
					t.Fatalf("written, but reads back %q (%v):\n%s", v, err, b)
				}
			}
		})
	}
}
