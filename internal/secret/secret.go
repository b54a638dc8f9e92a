// Package secret keeps the set of values that must never be printed: tokens
// registered the moment they are minted or read, and scrubs them from every
// string and stream the tool writes.
//
// A registered value is masked in the forms it travels in, not only as itself:
// base64 (of the value alone at each of the three byte alignments, so it is
// caught inside any longer encoded string such as a Basic authorization
// header, and of PyPI's `__token__:VALUE` login), URL-encoded and JSON-escaped.
// Streams are redacted across write boundaries: Writer holds back the tail of a
// partial line that could still be the start of a secret.
package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Mask replaces a secret in output.
const Mask = "***"

var (
	mu     sync.RWMutex
	values = map[string]struct{}{} // registered values and their derived forms
	sorted []string                // longest first, so a token containing another is masked whole
	maxLen int                     // longest entry of sorted
	anyNL  bool                    // some entry contains a newline
)

// minLen: shorter values are not registered (masking "1" would mangle output).
const minLen = 6

// minDerived: a derived form shorter than this is not masked on its own (a
// base64 fragment of a 6-byte value is too short to be specific).
const minDerived = 8

// Register adds values to the redaction set. Empty and very short values are ignored.
func Register(vals ...string) {
	mu.Lock()
	defer mu.Unlock()
	changed := false
	add := func(v string, min int) {
		if len(v) < min {
			return
		}
		if _, ok := values[v]; !ok {
			values[v] = struct{}{}
			changed = true
		}
	}
	for _, v := range vals {
		v = strings.TrimSpace(v)
		if len(v) < minLen {
			continue
		}
		add(v, minLen)
		for _, d := range Derived(v) {
			add(d, minDerived)
		}
	}
	if changed {
		sorted = sorted[:0]
		maxLen, anyNL = 0, false
		for v := range values {
			sorted = append(sorted, v)
			if len(v) > maxLen {
				maxLen = len(v)
			}
			if strings.ContainsAny(v, "\r\n") {
				anyNL = true
			}
		}
		sort.Slice(sorted, func(i, j int) bool {
			if len(sorted[i]) != len(sorted[j]) {
				return len(sorted[i]) > len(sorted[j])
			}
			return sorted[i] < sorted[j]
		})
	}
}

// Derived returns the encoded forms of v that are masked along with it.
func Derived(v string) []string {
	var out []string
	encs := []*base64.Encoding{base64.StdEncoding, base64.URLEncoding}
	for _, whole := range []string{v, "__token__:" + v} {
		for _, enc := range encs {
			e := enc.EncodeToString([]byte(whole))
			out = append(out, e, strings.TrimRight(e, "="))
		}
	}
	// v inside a longer encoded string: at byte offset k (mod 3) the
	// characters from the first one made only of v's bits to the last one
	// made only of v's bits are the same whatever surrounds v.
	for k := 0; k < 3; k++ {
		pre := make([]byte, k, k+len(v))
		b := append(pre, v...)
		first := [3]int{0, 2, 3}[k]
		last := len(b) * 8 / 6 // characters entirely inside b's bits
		for _, enc := range encs {
			e := enc.EncodeToString(b)
			if last > len(e) {
				last = len(e)
			}
			if last > first {
				out = append(out, e[first:last])
			}
		}
	}
	out = append(out, url.QueryEscape(v), url.PathEscape(v))
	if j, err := json.Marshal(v); err == nil {
		out = append(out, strings.Trim(string(j), `"`))
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		out = append(out, strings.Trim(strings.TrimSpace(b.String()), `"`))
	}
	uniq := out[:0]
	seen := map[string]bool{v: true}
	for _, d := range out {
		if !seen[d] {
			seen[d] = true
			uniq = append(uniq, d)
		}
	}
	return uniq
}

// Redact returns s with every registered secret replaced by Mask.
func Redact(s string) string {
	mu.RLock()
	defer mu.RUnlock()
	return redactLocked(s)
}

func redactLocked(s string) string {
	for _, v := range sorted {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Mask)
		}
	}
	return s
}

// Reset forgets every registered value (tests only).
func Reset() {
	mu.Lock()
	defer mu.Unlock()
	values = map[string]struct{}{}
	sorted = nil
	maxLen, anyNL = 0, false
}

// Writer wraps w so that everything written through it is redacted, also
// when a secret arrives split over several writes (a tool's output read in
// 32 KiB pieces): complete lines pass through at once, and of a partial line
// only the part that cannot be the start of a secret. Call Flush (or Close)
// when the stream ends to write what is held back.
func Writer(w io.Writer) *StreamWriter { return &StreamWriter{w: w} }

// StreamWriter is the redacting writer returned by Writer.
type StreamWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// Write implements io.Writer.
func (r *StreamWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, p...)
	mu.RLock()
	cut := safeCut(r.buf)
	var out string
	if cut > 0 {
		out = redactLocked(string(r.buf[:cut]))
	}
	mu.RUnlock()
	if cut > 0 {
		r.buf = append(r.buf[:0], r.buf[cut:]...)
		if _, err := io.WriteString(r.w, out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes what is held back, redacted.
func (r *StreamWriter) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) == 0 {
		return nil
	}
	out := Redact(string(r.buf))
	r.buf = r.buf[:0]
	_, err := io.WriteString(r.w, out)
	return err
}

// Close flushes.
func (r *StreamWriter) Close() error { return r.Flush() }

// Flush flushes w when it holds output back (a Writer); otherwise it does nothing.
func Flush(w io.Writer) {
	if f, ok := w.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
}

// safeCut is how much of buf can be written now: no registered secret that
// starts before the cut can still be completed by later writes. Called with
// mu held.
func safeCut(buf []byte) int {
	if maxLen == 0 {
		return len(buf)
	}
	cut := len(buf) - (maxLen - 1)
	if !anyNL {
		// No secret spans a newline: everything up to the last one is final.
		if nl := bytes.LastIndexByte(buf, '\n'); nl+1 > cut {
			cut = nl + 1
		}
	}
	if cut <= 0 {
		return 0
	}
	// A secret that is complete in buf but straddles the cut moves the cut
	// past its end, so it is masked whole.
	for changed := true; changed; {
		changed = false
		for _, v := range sorted {
			lo := cut - len(v) + 1
			if lo < 0 {
				lo = 0
			}
			for lo < cut {
				i := bytes.Index(buf[lo:], []byte(v))
				if i < 0 || lo+i >= cut {
					break
				}
				if end := lo + i + len(v); end > cut {
					cut, changed = end, true
					break
				}
				lo += i + 1
			}
		}
	}
	return cut
}

// CredentialEnvNames are the variables that hold registry or GitHub
// credentials; their values are registered at start-up.
var CredentialEnvNames = []string{
	"CARGO_REGISTRY_TOKEN", "PYPI_API_TOKEN", "PYPI_TOKEN", "TWINE_PASSWORD",
	"NPM_TOKEN", "NODE_AUTH_TOKEN", "GITHUB_TOKEN", "GH_TOKEN",
	"CRATES_IO_DOCTOR_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_RUNTIME_TOKEN",
}

// notSecret are variables whose names look like credentials but whose values
// are settings, not secrets (masking them mangles messages: "the OS keyring
// is not available").
var notSecret = map[string]bool{
	"PUTITOUTTHERE_CREDENTIAL_STORE":             true,
	"GIT_CREDENTIAL_HELPER":                      true,
	"GCM_CREDENTIAL_STORE":                       true,
	"CARGO_REGISTRY_CREDENTIAL_PROVIDER":         true,
	"CARGO_REGISTRY_GLOBAL_CREDENTIAL_PROVIDERS": true,
}

// LooksSecret reports whether an env var name suggests it holds a credential.
func LooksSecret(name string) bool {
	n := strings.ToUpper(name)
	if notSecret[n] || strings.HasSuffix(n, "_CREDENTIAL_PROVIDER") || strings.HasSuffix(n, "_CREDENTIAL_PROVIDERS") {
		return false
	}
	for _, s := range []string{"TOKEN", "SECRET", "PASSWORD", "PASSWD", "API_KEY", "APIKEY", "PRIVATE_KEY", "CREDENTIAL"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}
