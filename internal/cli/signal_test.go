package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Ctrl-C while a command waits on the network: exit 130 and one line saying
// it was interrupted (not "context canceled").
func TestInterruptExits130WithOneLine(t *testing.T) {
	done := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	defer hang.Close()
	defer close(done)
	f := newGHFixture(t)
	f.env["GITHUB_SERVER_URL"], f.env["GITHUB_API_URL"] = hang.URL, hang.URL
	for _, c := range []struct {
		sig  syscall.Signal
		code int
		json bool
	}{{syscall.SIGINT, 130, false}, {syscall.SIGTERM, 143, false}, {syscall.SIGINT, 130, true}} {
		ctx, cancel := context.WithCancelCause(context.Background())
		time.AfterFunc(200*time.Millisecond, func() { cancel(&SignalError{Signal: c.sig}) })
		var out, errb bytes.Buffer
		args := []string{"--cwd", f.home, "auth", "login"}
		if c.json {
			args = append([]string{"--json"}, args...)
		}
		code := MainEnv(ctx, args, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, f.env)
		if code != c.code {
			t.Fatalf("%v: exit %d, want %d\n%s%s", c.sig, code, c.code, out.String(), errb.String())
		}
		all := out.String() + errb.String()
		if strings.Count(all, "interrupted") != 1 || strings.Contains(all, "context canceled") || !strings.Contains(all, "PIOT_INTERRUPTED") {
			t.Fatalf("%v: output %q", c.sig, all)
		}
	}
}

func TestCompletionUnknownShellIsUsageError(t *testing.T) {
	f := newGHFixture(t)
	_, errs, code := f.run(t, "completion", "tcsh")
	if code != 2 || !strings.Contains(errs, "tcsh") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	out, _, code := f.run(t, "completion", "bash")
	if code != 0 || !strings.Contains(out, "bash completion") {
		t.Fatalf("bash completion: exit %d: %.200q", code, out)
	}
}
