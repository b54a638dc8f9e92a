package run

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

func TestEnvironAllowlistOnly(t *testing.T) {
	base := env.Env{
		"PATH": "/bin", "HOME": "/home/u", "LANG": "C.UTF-8", "SystemRoot": `C:\Windows`,
		"AWS_SECRET_ACCESS_KEY": "canary-aws", "GITHUB_TOKEN": "canary-gh", "NODE_AUTH_TOKEN": "canary-npm",
		"CARGO_REGISTRY_TOKEN": "canary-cargo", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "canary-oidc",
		"TMPDIR": "", // empty is unset
	}
	got := Environ(base, []string{"CARGO_REGISTRY_TOKEN=passed"})
	want := []string{"CARGO_REGISTRY_TOKEN=passed", "HOME=/home/u", "LANG=C.UTF-8", "PATH=/bin", `SystemRoot=C:\Windows`}
	if !slices.Equal(got, want) {
		t.Fatalf("Environ = %q, want %q", got, want)
	}
	for _, kv := range got {
		if strings.Contains(kv, "canary") {
			t.Errorf("leaked %q", kv)
		}
	}
}

func TestExecRunsWithoutShellAndRedacts(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	secret.Register("sekrit-value-123")
	t.Cleanup(secret.Reset)
	x := Exec{Base: env.FromOS()}
	// The argument holds shell metacharacters; it must arrive verbatim.
	res, err := x.Run(t.Context(), Cmd{Name: "sh", Args: []string{"-c", `printf '%s|%s' "$1" "$TOKEN_FOR_TOOL"; echo oops >&2; exit 0`, "x", "a;b$(c)`d`"}, Env: []string{"TOKEN_FOR_TOOL=sekrit-value-123"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != "a;b$(c)`d`|***" {
		t.Errorf("stdout = %q", res.Stdout)
	}
	if strings.TrimSpace(res.Stderr) != "oops" {
		t.Errorf("stderr = %q", res.Stderr)
	}
}

func TestExecNonZeroExitIsRunError(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	secret.Register("another-secret-xyz")
	t.Cleanup(secret.Reset)
	_, err := Exec{Base: env.FromOS()}.Run(t.Context(), Cmd{Name: "sh", Args: []string{"-c", "echo 'error: bad another-secret-xyz' >&2; exit 101"}})
	var re *RunError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want *RunError", err)
	}
	if re.ExitCode != 101 || !strings.Contains(re.Stderr, "error: bad ***") || strings.Contains(err.Error(), "another-secret-xyz") {
		t.Errorf("RunError = %+v", re)
	}
}

func TestExecMissingTool(t *testing.T) {
	_, err := Exec{Base: env.Env{"PATH": t.TempDir()}}.Run(t.Context(), Cmd{Name: "definitely-not-a-tool-xyz"})
	if err == nil {
		t.Fatal("want error")
	}
	var re *RunError
	if errors.As(err, &re) {
		t.Errorf("a missing tool is not an exit status: %v", err)
	}
}

func TestExecContextCancel(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Exec{Base: env.FromOS()}.Run(ctx, Cmd{Name: "sleep", Args: []string{"10"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("did not stop on cancel")
	}
}

func TestFakeRecordsEnvAndExit(t *testing.T) {
	f := &Fake{Base: env.Env{"PATH": "/bin", "MY_API_TOKEN": "canary"}, Handler: func(c Cmd) (Result, error) {
		return Result{Stderr: "npm error code E403", ExitCode: 1}, nil
	}}
	_, err := f.Run(t.Context(), Cmd{Name: "npm", Args: []string{"publish"}, Env: []string{"NODE_AUTH_TOKEN=t"}})
	var re *RunError
	if !errors.As(err, &re) || re.ExitCode != 1 {
		t.Fatalf("err = %v", err)
	}
	calls := f.Calls()
	if len(calls) != 1 || !slices.Equal(calls[0].Environ, []string{"NODE_AUTH_TOKEN=t", "PATH=/bin"}) {
		t.Errorf("calls = %+v", calls)
	}
}

func TestTail(t *testing.T) {
	s := strings.Repeat("line\n", 2000) + "last"
	got := Tail(s, 100)
	if len(got) > 110 || !strings.HasSuffix(got, "last") || !strings.HasPrefix(got, "…line") {
		t.Errorf("Tail = %q", got)
	}
	if Tail("short", 100) != "short" {
		t.Error("short changed")
	}
}

// A missing tool is said plainly, not as Go's `exec: "cargo": executable file
// not found in $PATH`; LookPath searches the PATH the tool would run with.
func TestMissingToolSaidPlainly(t *testing.T) {
	empty := t.TempDir()
	x := Exec{Base: env.Env{"PATH": empty}}
	_, err := x.Run(t.Context(), Cmd{Name: "piot-no-such-tool"})
	var nf *NotFoundError
	if !errors.As(err, &nf) || strings.Contains(err.Error(), "exec:") || !strings.Contains(err.Error(), "piot-no-such-tool is not installed or not on PATH") {
		t.Errorf("err = %v", err)
	}
	if err := x.LookPath("piot-no-such-tool"); !errors.As(err, &nf) {
		t.Errorf("LookPath = %v", err)
	}
	tool := filepath.Join(empty, "piot-tool")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := x.LookPath("piot-tool"); err != nil {
		t.Errorf("LookPath of an executable on Base's PATH = %v", err)
	}
}
