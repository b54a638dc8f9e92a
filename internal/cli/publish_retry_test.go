package cli

import (
	"net/http"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
)

// A registry that asks publish to wait (429 Retry-After) or fails for a
// moment is waited for with a progress line on stderr naming the request and
// the answer once (not Go's `Get "URL": …` echo); --json stdout stays one
// document and the run completes.
func TestPublishSaysWhenItWaitsForARegistry(t *testing.T) {
	w := newWorld(t)
	w.pypi.Faults.Add(fault.Rule{Method: http.MethodPost, PathPrefix: "/legacy", Kind: fault.Status, Status: 429, RetryAfter: "3", Count: 1})
	w.pypi.Faults.Add(fault.Rule{Method: http.MethodPost, PathPrefix: "/legacy", Kind: fault.Status, Status: 503, Count: 1})
	doc, stderr, code := w.publishJSON()
	if code != 0 || statusesOf(doc) != "core=published py-core=published js-core=published" {
		t.Fatalf("exit %d %s\n%s", code, statusesOf(doc), stderr)
	}
	for _, want := range []string{"/legacy/: HTTP 429: Too Many Requests; retrying in 3s (retry 1)", "/legacy/: HTTP 503: Service Unavailable; retrying in"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, `POST http://`) {
		t.Errorf("the URL is repeated:\n%s", stderr)
	}
}
