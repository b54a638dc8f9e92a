package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/env"
)

// TestFetchIDTokenHasADeadline: a runtime that accepts the request and never
// answers does not hang the caller, even with a client that has no timeout
// and a context without a deadline.
func TestFetchIDTokenHasADeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	shortRetries(t)
	e := env.Env{"ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL + "/token", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token-value"}
	start := time.Now()
	_, err := FetchIDToken(context.Background(), nil, e, "pypi")
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %s", took)
	}
	var de *diag.Error
	if !errors.As(err, &de) || de.Code != CodeIDTokenRequest || !errors.Is(err, context.DeadlineExceeded) || de.Hint == "" {
		t.Fatalf("err = %v", err)
	}
}

func shortRetries(t *testing.T) {
	oldT, oldB := IDTokenTimeout, IDTokenBackoff
	IDTokenTimeout, IDTokenBackoff = 200*time.Millisecond, time.Millisecond
	t.Cleanup(func() { IDTokenTimeout, IDTokenBackoff = oldT, oldB })
}

// TestFetchIDTokenRetriesTransientFailures: 503 and 429 are tried again;
// 403 (no id-token permission) is not.
func TestFetchIDTokenRetriesTransientFailures(t *testing.T) {
	shortRetries(t)
	var calls int
	answers := []int{503, 429, 200}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := answers[calls%len(answers)]
		calls++
		w.WriteHeader(code)
		if code == 200 {
			w.Write([]byte(`{"value":"header.payload.signature"}`))
		}
	}))
	defer srv.Close()
	e := env.Env{"ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL + "/token", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token-value"}
	tok, err := FetchIDToken(context.Background(), nil, e, "pypi")
	if err != nil || tok != "header.payload.signature" || calls != 3 {
		t.Fatalf("tok=%q err=%v calls=%d", tok, err, calls)
	}
	calls, answers = 0, []int{403}
	if _, err := FetchIDToken(context.Background(), nil, e, "pypi"); err == nil || calls != 1 {
		t.Fatalf("403: err=%v calls=%d", err, calls)
	}
	calls, answers = 0, []int{500}
	if _, err := FetchIDToken(context.Background(), nil, e, "pypi"); err == nil || calls != IDTokenAttempts {
		t.Fatalf("500s: err=%v calls=%d", err, calls)
	}
}
