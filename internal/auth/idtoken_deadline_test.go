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
	old := IDTokenTimeout
	IDTokenTimeout = 200 * time.Millisecond
	defer func() { IDTokenTimeout = old }()
	e := env.Env{"ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL + "/token", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token-value"}
	start := time.Now()
	_, err := FetchIDToken(context.Background(), nil, e, "pypi")
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %s", took)
	}
	var de *diag.Error
	if !errors.As(err, &de) || de.Code != CodeIDTokenRequest || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}
