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

// A bad --trust flag is a usage error even when the plan is empty; so is a
// GITHUB_REPOSITORY that is not exactly owner/repo.
func TestRehearseBadTrustWithEmptyPlan(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	cfg := "[putitoutthere]\nversion = 1\n\n[[package]]\nname = \"a\"\nkind = \"crates\"\npath = \"a\"\npaths = [\"a/**\"]\n"
	os.MkdirAll(filepath.Join(dir, "a"), 0o755)
	os.WriteFile(filepath.Join(dir, "putitoutthere.toml"), []byte(cfg), 0o644)
	os.WriteFile(filepath.Join(dir, "a", "Cargo.toml"), []byte("[package]\nname = \"a\"\nversion = \"0.1.0\"\n"), 0o644)
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-qm", "init"}, {"tag", "a-v0.1.0"}} {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	e := env.Env{"HOME": t.TempDir(), "PATH": os.Getenv("PATH")}
	var out, errb bytes.Buffer
	code := MainEnv(t.Context(), []string{"--cwd", dir, "rehearse", "--trust", "nonsense"}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, e)
	if code != 2 || !strings.Contains(errb.String(), "--trust") {
		t.Fatalf("rehearse --trust nonsense: exit %d\n%s%s", code, out.String(), errb.String())
	}
	for _, bad := range []string{"a/b/c", "../../evil/x"} {
		e2 := env.Env{"HOME": e["HOME"], "PATH": e["PATH"], "GITHUB_TOKEN": "ghs_canary0123456789", "GITHUB_REPOSITORY": bad}
		out.Reset()
		errb.Reset()
		code = MainEnv(t.Context(), []string{"--cwd", dir, "publish"}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, e2)
		if code != 2 || !strings.Contains(errb.String(), "PIOT_GITHUB_REPOSITORY") {
			t.Fatalf("GITHUB_REPOSITORY=%s: exit %d\n%s%s", bad, code, out.String(), errb.String())
		}
	}
}
