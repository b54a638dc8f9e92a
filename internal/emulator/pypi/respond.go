package pypi

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// pyStr encodes s as Python's json.dumps does (ensure_ascii, no HTML escaping).
func pyStr(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || (r >= 0x7f && r < 0x10000):
			if r < 0x7f {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		case r >= 0x10000:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// explanations are Pyramid's standard texts, repeated in error bodies.
var explanations = map[int]string{
	400: "The server could not comply with the request since it is either malformed or otherwise incorrect.",
	403: "Access was denied to this resource.",
	404: "The resource could not be found.",
	405: "The method is not allowed for this resource.",
	308: "The resource has been moved to",
	429: "",
}

// latin1 replaces what cannot go in a status line, as Warehouse does
// (message.encode("iso-8859-1", "replace")).
func latin1(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r > 0xff || r < 0x20 || r == 0x7f {
			b.WriteByte('?')
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// fail answers like Warehouse's _exc_with_message: the message is the status
// line's reason phrase and is repeated in a plain-text body. net/http cannot
// set a custom reason phrase, so the response is written on the hijacked
// connection; when that is impossible (a wrapped writer) only the body has it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string, extra ...[2]string) {
	reason := latin1(msg)
	body := fmt.Sprintf("%d %s\n\n%s\n\n%s\n\n", status, reason, explanations[status], msg)
	if !s.opts.PlainReason {
		if hj, ok := w.(http.Hijacker); ok {
			// The client must not still be sending when the connection closes.
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<30))
			conn, bw, err := hj.Hijack()
			if err == nil {
				defer conn.Close()
				fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", status, reason)
				fmt.Fprintf(bw, "Date: %s\r\n", time.Now().UTC().Format(http.TimeFormat))
				bw.WriteString("Content-Type: text/plain; charset=UTF-8\r\n")
				for _, h := range extra {
					fmt.Fprintf(bw, "%s: %s\r\n", h[0], h[1])
				}
				fmt.Fprintf(bw, "Content-Length: %d\r\nConnection: close\r\n\r\n", len(body))
				bw.WriteString(body)
				_ = bw.Flush()
				return
			}
		}
	}
	for _, h := range extra {
		w.Header().Set(h[0], h[1])
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
