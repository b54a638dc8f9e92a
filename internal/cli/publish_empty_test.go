package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/env"
)

// With every package released, `publish --json` is one document whose
// packages is an empty list (not null), and it exits 0.
func TestPublishJSONNothingToRelease(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	cfg := "[putitoutthere]\nversion = 1\n\n[[package]]\nname = \"a\"\nkind = \"crates\"\npath = \"a\"\npaths = [\"a/**\"]\n"
	if err := os.MkdirAll(filepath.Join(dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "putitoutthere.toml"), []byte(cfg), 0o644)
	os.WriteFile(filepath.Join(dir, "a", "x"), []byte("1\n"), 0o644)
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-qm", "init"}, {"tag", "a-v0.1.0"}} {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	var out, errb bytes.Buffer
	code := MainEnv(t.Context(), []string{"--cwd", dir, "publish", "--json"}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, env.Env{"HOME": t.TempDir(), "PATH": os.Getenv("PATH")})
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, out.String())
	}
	if string(doc["outcome"]) != `"nothing-to-release"` || string(doc["packages"]) != "[]" {
		t.Errorf("doc = %s", out.String())
	}
}
