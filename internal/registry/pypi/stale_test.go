package pypi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/pydist/pydisttest"
)

// The upload lands, its answer is lost, and PyPI's JSON API lags behind for
// a moment (a CDN): the client must not send the file a second time.
func TestLostAnswerThenStaleReadUploadsOnce(t *testing.T) {
	spec := pydisttest.Spec{Name: "stale-py", Version: "1.0.0"}
	name, data := pydisttest.Wheel(spec)
	dir := t.TempDir()
	p := filepath.Join(dir, name)
	os.WriteFile(p, data, 0o644)
	sum := sha256.Sum256(data)
	var mu sync.Mutex
	posts := 0
	var landed time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case http.MethodPost:
			io.Copy(io.Discard, r.Body)
			posts++
			if landed.IsZero() {
				landed = time.Now()
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close() // landed; the answer is lost
				return
			}
			http.Error(w, "400 File already exists ('"+name+"', with blake2_256 hash 'x'). See https://pypi.org/help/#file-name-reuse for more information.", 400)
		case http.MethodGet:
			// The read side shows the file only 150 ms after it landed.
			if landed.IsZero() || time.Since(landed) < 150*time.Millisecond {
				http.NotFound(w, r)
				return
			}
			fmt.Fprintf(w, `{"info":{"version":"1.0.0"},"urls":[{"filename":%q,"digests":{"sha256":%q}}]}`, name, hex.EncodeToString(sum[:]))
		}
	}))
	defer srv.Close()
	c := New(env.Env{EnvURL: srv.URL, EnvUploadURL: srv.URL + "/legacy/"}, &httpx.Client{HTTP: srv.Client(),
		Policy: httpx.Policy{Attempts: 3, BaseDelay: 300 * time.Millisecond, MaxDelay: time.Second}})
	res, err := c.Upload(t.Context(), "pypi-stale-token-0123456789", p)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if res != Uploaded || posts != 1 {
		t.Fatalf("result %s after %d POSTs, want uploaded after 1", res, posts)
	}
}
