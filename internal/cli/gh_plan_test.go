package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

// gitRepo makes a repository at dir holding files, committed once.
func gitRepo(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-qm", "init"}} {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// A plan of 300 rows (more than GitHub runs from one matrix) stops with the
// fix, inside Actions as an annotation, and writes no matrix output.
func TestPlanOver256RowsStops(t *testing.T) {
	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("[putitoutthere]\nversion = 1\n")
	files := map[string]string{}
	for i := range 300 {
		fmt.Fprintf(&cfg, "\n[[package]]\nname = \"p%03d\"\nkind = \"npm\"\npath = \"p%03d\"\npaths = [\"p%03d/**\"]\n", i, i, i)
		files[fmt.Sprintf("p%03d/package.json", i)] = fmt.Sprintf(`{"name":"p%03d","version":"0.0.0"}`, i)
	}
	files["putitoutthere.toml"] = cfg.String()
	gitRepo(t, dir, files)
	gh := t.TempDir()
	outFile, sumFile := filepath.Join(gh, "out"), filepath.Join(gh, "summary")
	e := env.Env{"HOME": t.TempDir(), "PATH": os.Getenv("PATH"), "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": outFile, "GITHUB_STEP_SUMMARY": sumFile}
	var out, errb bytes.Buffer
	code := MainEnv(t.Context(), []string{"--cwd", dir, "plan", "--json"}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, e)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{`"code": "PIOT_PLAN_TOO_LARGE"`, "300 matrix rows for 300 packages", "release: skip ["} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--json output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errb.String(), "::error::the plan has 300 matrix rows") {
		t.Errorf("no ::error annotation:\n%s", errb.String())
	}
	if b, err := os.ReadFile(outFile); err == nil && strings.Contains(string(b), "matrix=") {
		t.Errorf("the matrix was written to GITHUB_OUTPUT: %.200s", b)
	}
	if b, _ := os.ReadFile(sumFile); !strings.Contains(string(b), "**Stopped:** 300 matrix rows") {
		t.Errorf("summary does not say why it stopped:\n%.400s", b)
	}
}

// Inside Actions a tool's output is folded into a group named after the
// command, and streamed as it comes (not held back until it exits).
func TestGroupRunnerFoldsToolOutput(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	var buf bytes.Buffer
	g := groupRunner{inner: run.Exec{Base: env.Env{"PATH": os.Getenv("PATH")}, Stream: &buf}, w: &buf}
	res, err := g.Run(t.Context(), run.Cmd{Name: "sh", Args: []string{"-c", "echo uploading"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "::group::sh -c echo uploading\nuploading\n::endgroup::\n"
	if buf.String() != want {
		t.Errorf("log =\n%s\nwant\n%s", buf.String(), want)
	}
	if res.Stdout != "uploading\n" {
		t.Errorf("stdout kept = %q", res.Stdout)
	}
}

// A script's file entries stay inside $WORK: testscript removes the work
// directory, not what a `-- ../x --` entry wrote next to it in $TMPDIR.
func TestScriptsWriteOnlyInsideWork(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "script", "*.txtar"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for i, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "-- ../") || strings.HasPrefix(l, "-- /") {
				t.Errorf("%s:%d: %s writes outside $WORK", filepath.Base(f), i+1, l)
			}
		}
	}
}
