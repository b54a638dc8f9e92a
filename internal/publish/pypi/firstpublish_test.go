package pypi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
)

// A refused mint for a project PyPI does not have yet names the first-publish
// step (a pending publisher) and its page, not the project's settings page
// that does not exist. A project that exists keeps the settings page.
func TestRefusalForMissingProjectNamesPendingPublisher(t *testing.T) {
	exists := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/pypi/py/json" || !exists {
			http.Error(w, `{"message": "Not Found"}`, http.StatusNotFound)
			return
		}
		w.Write([]byte(`{"info": {"version": "0.1.0"}}`))
	}))
	defer srv.Close()
	hc := httpx.New()
	hc.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	e := env.Env{"ACTIONS_ID_TOKEN_REQUEST_URL": "u", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t"}
	fc := &fakeClient{mintErr: diag.New("PIOT_PYPI_INVALID_PUBLISHER", "PyPI refused the token exchange (invalid-publisher): valid token, but no corresponding publisher")}
	h := &Handler{Client: fc, BaseURL: srv.URL, HTTP: hc, IDToken: func(context.Context, string) (string, error) { return "h.e30.s", nil }}

	_, err := h.Authorize(t.Context(), job(t, e))
	var de *diag.Error
	if !errors.As(err, &de) || de.Code != "PIOT_PYPI_INVALID_PUBLISHER" {
		t.Fatalf("err = %v", err)
	}
	all := err.Error()
	for _, want := range []string{"compare with: " + srv.URL + "/manage/account/publishing/ (pending publisher)", "first publish: py does not exist on PyPI yet"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}

	exists = true
	_, err = h.Authorize(t.Context(), job(t, e))
	if all := err.Error(); strings.Contains(all, "first publish") || !strings.Contains(all, "/manage/project/py/settings/publishing/") {
		t.Errorf("existing project:\n%s", all)
	}
}
