// Package secret keeps the set of values that must never be printed: tokens
// registered the moment they are minted or read, and scrubs them from every
// string and stream the tool writes.
package secret

import (
	"io"
	"sort"
	"strings"
	"sync"
)

// Mask replaces a secret in output.
const Mask = "***"

var (
	mu     sync.RWMutex
	values = map[string]struct{}{}
	sorted []string // longest first, so a token containing another is masked whole
)

// minLen: shorter values are not registered (masking "1" would mangle output).
const minLen = 6

// Register adds values to the redaction set. Empty and very short values are ignored.
func Register(vals ...string) {
	mu.Lock()
	defer mu.Unlock()
	changed := false
	for _, v := range vals {
		v = strings.TrimSpace(v)
		if len(v) < minLen {
			continue
		}
		if _, ok := values[v]; !ok {
			values[v] = struct{}{}
			changed = true
		}
	}
	if changed {
		sorted = sorted[:0]
		for v := range values {
			sorted = append(sorted, v)
		}
		sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	}
}

// Redact returns s with every registered secret replaced by Mask.
func Redact(s string) string {
	mu.RLock()
	defer mu.RUnlock()
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
}

// Writer wraps w so that everything written through it is redacted. Writes are
// redacted per call; callers write whole lines or documents.
func Writer(w io.Writer) io.Writer { return &writer{w: w} }

type writer struct{ w io.Writer }

func (r *writer) Write(p []byte) (int, error) {
	out := Redact(string(p))
	if _, err := io.WriteString(r.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CredentialEnvNames are the variables that hold registry or GitHub
// credentials; their values are registered at start-up.
var CredentialEnvNames = []string{
	"CARGO_REGISTRY_TOKEN", "PYPI_API_TOKEN", "PYPI_TOKEN", "TWINE_PASSWORD",
	"NPM_TOKEN", "NODE_AUTH_TOKEN", "GITHUB_TOKEN", "GH_TOKEN",
	"CRATES_IO_DOCTOR_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_RUNTIME_TOKEN",
}

// LooksSecret reports whether an env var name suggests it holds a credential.
func LooksSecret(name string) bool {
	n := strings.ToUpper(name)
	for _, s := range []string{"TOKEN", "SECRET", "PASSWORD", "PASSWD", "API_KEY", "APIKEY", "PRIVATE_KEY", "CREDENTIAL"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}
