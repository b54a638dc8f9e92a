package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/httpx"
)

// A large upload on a terminal shows bytes, total and rate on one updating
// line, cleared at the end; small API bodies show nothing.
func TestUploadProgressOnATerminal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	defer srv.Close()
	var out bytes.Buffer
	clock := time.Unix(0, 0)
	now := func() time.Time { clock = clock.Add(60 * time.Millisecond); return clock }
	c := httpx.New()
	c.OnSend = uploadProgress(&out, now)
	body := bytes.Repeat([]byte("x"), 3<<20)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/legacy/", nil)
	if _, _, err := c.Do(context.Background(), req, body); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "uploading to 127.0.0.1:") || !strings.Contains(s, "of 3.0 MB") || !strings.Contains(s, "/s") {
		t.Errorf("progress = %q", s)
	}
	if !strings.HasSuffix(s, "3.0 MB of 3.0 MB"+s[strings.LastIndex(s, ", "):strings.LastIndex(s, "\r")]+"\r\033[K") {
		t.Errorf("the line is not completed and cleared: %q", s[max(0, len(s)-80):])
	}
	out.Reset()
	req, _ = http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/api", nil)
	c.Do(context.Background(), req, []byte(`{"small":true}`))
	if out.Len() != 0 {
		t.Errorf("a small body showed progress: %q", out.String())
	}
}
