package crates

import (
	"context"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

// A 5xx from crates.io (or a dropped connection) is retried with backoff; a
// 4xx refusal is not.
func TestCargoPublishRetriesTransientFailures(t *testing.T) {
	cases := []struct {
		name   string
		stderr string
		calls  int
		ok     bool
	}{
		{"503 then success", "error: failed to publish to registry at http://x\n\nCaused by:\n  the remote server responded with an error (status 503 Service Unavailable): Service unavailable", 2, true},
		{"cargo's 503 wording then success", "error: failed to publish rel-core v0.1.0 to registry at http://x\n\nCaused by:\n  failed to get a 200 OK response, got 503\n  body:\n  Service Unavailable", 2, true},
		{"dropped connection then success", "Caused by:\n  [52] Empty reply from server", 2, true},
		{"400 refusal is final", "the remote server responded with an error (status 400 Bad Request): missing or empty metadata fields: description, license", 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			fr := &run.Fake{Handler: func(run.Cmd) (run.Result, error) {
				n++
				if n == 1 {
					return run.Result{Stderr: c.stderr, ExitCode: 101}, &run.RunError{Cmd: "cargo publish", ExitCode: 101, Stderr: c.stderr}
				}
				return run.Result{}, nil
			}}
			var waits []time.Duration
			h := &Handler{Client: &fakeClient{}, Runner: fr, Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
			e := env.Env{"CARGO_REGISTRY_TOKEN": "cio-user-token-0001"}
			j := job(e)
			err := h.Publish(t.Context(), j, &publish.Credential{Method: auth.MethodToken, Token: "cio-user-token-0001"})
			if (err == nil) != c.ok || n != c.calls {
				t.Fatalf("err=%v calls=%d (want ok=%v calls=%d) waits=%v", err, n, c.ok, c.calls, waits)
			}
		})
	}
}
