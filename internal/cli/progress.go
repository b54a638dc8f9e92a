package cli

import (
	"fmt"
	"io"
	"net/http"
	"path"
	"sync"
	"time"
)

// uploadProgressMin is the smallest body shown as an upload: API calls
// (JSON, token exchanges) are not uploads.
const uploadProgressMin = 256 << 10

// uploadProgress is the HTTP client's OnSend on a terminal: one updating
// line per upload with bytes sent, the total and the rate, cleared when the
// body is sent (the handler then prints its `uploaded` line). In CI the
// handlers print a line per file instead; nothing is drawn there.
func uploadProgress(w io.Writer, now func() time.Time) func(req *http.Request, sent, total int64) {
	var mu sync.Mutex
	type state struct {
		start, last time.Time
	}
	uploads := map[*http.Request]*state{}
	return func(req *http.Request, sent, total int64) {
		if total < uploadProgressMin {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		t := now()
		st := uploads[req]
		if st == nil || sent <= 0 {
			st = &state{start: t}
			uploads[req] = st
		}
		if sent < total && t.Sub(st.last) < 100*time.Millisecond {
			return
		}
		st.last = t
		rate := ""
		if el := t.Sub(st.start).Seconds(); el > 0.05 {
			rate = ", " + humanBytes(int64(float64(sent)/el)) + "/s"
		}
		name := path.Base(req.URL.Path)
		if name == "" || name == "/" || name == "." || name == "new" || name == "legacy" {
			name = req.URL.Host
		}
		fmt.Fprintf(w, "\r\033[Kuploading to %s: %s of %s%s", name, humanBytes(sent), humanBytes(total), rate)
		if sent >= total {
			fmt.Fprint(w, "\r\033[K")
			delete(uploads, req)
		}
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
