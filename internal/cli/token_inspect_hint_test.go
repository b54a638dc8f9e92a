package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/token"
)

// A registry that fails every try: inspect names the code, gives a hint and
// never prints the token, human and --json.
func TestTokenInspectUnreachableHasHint(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	old := token.HTTPClient
	token.HTTPClient = func() *httpx.Client {
		c := httpx.New()
		c.Sleep = func(context.Context, time.Duration) error { return nil }
		return c
	}
	defer func() { token.HTTPClient = old }()

	const tok = "npm_DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD"
	f := newGHFixture(t)
	f.env["PUTITOUTTHERE_NPM_REGISTRY"] = srv.URL
	out, errs, code := f.run(t, "token", "inspect", "--token", tok)
	if code != 1 || !strings.Contains(errs, "[PIOT_") || !strings.Contains(errs, "\nhint: ") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	jout, _, _ := f.run(t, "--json", "token", "inspect", "--token", tok)
	if !strings.Contains(jout, `"hint": "`) {
		t.Errorf("--json carries no hint:\n%s", jout)
	}
	if strings.Contains(out+errs+jout, tok) {
		t.Fatal("token printed")
	}
}
