package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/url"
	"strings"
	"testing"
)

const canary = "pypi-AgEIcHlwaS5vcmcCJGNhbmFyeS0xMjM0NTY3ODkwYWJjZGVm+/=&\"<>x"

func TestRedactDerivedForms(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	Register(canary)
	b64 := base64.StdEncoding.EncodeToString
	cases := map[string]string{
		"basic __token__":  "Authorization: Basic " + b64([]byte("__token__:"+canary)),
		"basic other user": "Authorization: Basic " + b64([]byte("someone:"+canary)),
		"base64 alone":     b64([]byte(canary)),
		"base64 raw url":   base64.RawURLEncoding.EncodeToString([]byte("__token__:" + canary)),
		"query escaped":    "https://x/?t=" + url.QueryEscape(canary) + "&a=b",
		"path escaped":     "https://x/" + url.PathEscape(canary),
		"json escaped":     mustJSON(map[string]string{"auth": canary}),
		"json no html esc": `{"auth":"` + strings.ReplaceAll(canary, `"`, `\"`) + `"}`,
		"inside long blob": b64([]byte(`{"headers":{"Authorization":"Bearer ` + canary + `"}}`)),
	}
	for k := 0; k < 3; k++ {
		for pre := 0; pre < 6; pre++ {
			blob := strings.Repeat("x", pre+k) + canary + strings.Repeat("y", k)
			cases[fmt.Sprintf("aligned %d/%d", k, pre)] = b64([]byte(blob))
			cases[fmt.Sprintf("aligned url %d/%d", k, pre)] = base64.URLEncoding.EncodeToString([]byte(blob))
		}
	}
	for name, in := range cases {
		out := Redact(in)
		if leaks(out) {
			t.Errorf("%s: %q leaks the canary", name, out)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// leaks reports whether s holds the canary in any form Derived knows.
func leaks(s string) bool {
	if strings.Contains(s, canary) {
		return true
	}
	for _, d := range Derived(canary) {
		if len(d) >= minDerived && strings.Contains(s, d) {
			return true
		}
	}
	// Decoding every base64-looking run is the independent check.
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '-' || r == '_' || r == '=')
	}) {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			if b, err := enc.DecodeString(f); err == nil && bytes.Contains(b, []byte(canary)) {
				return true
			}
		}
	}
	return false
}

func TestShortValuesNotRegistered(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	Register("abc", "  ")
	if got := Redact("abc def"); got != "abc def" {
		t.Fatalf("got %q", got)
	}
}

func TestWriterAcrossBoundaries(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	tok := "cio_canary_0123456789abcdefghijklmnopqrstuv"
	Register(tok)
	text := strings.Repeat("   Compiling foo v0.1.0\n", 50) + "warning: token " + tok + " in output" + strings.Repeat("z", 300) + tok + "\npartial " + tok
	for split := 0; split <= len(text); split++ {
		var out bytes.Buffer
		w := Writer(&out)
		w.Write([]byte(text[:split]))
		w.Write([]byte(text[split:]))
		w.Flush()
		if strings.Contains(out.String(), tok[:len(tok)/2]) || strings.Contains(out.String(), tok[len(tok)/2:]) {
			t.Fatalf("split at %d leaks: %q", split, out.String())
		}
		if want := Redact(text); out.String() != want {
			t.Fatalf("split at %d: output differs from whole-text redaction", split)
		}
	}
	// Random many-piece splits, one byte at a time included.
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 200; i++ {
		var out bytes.Buffer
		w := Writer(&out)
		for rest := text; rest != ""; {
			n := 1 + r.Intn(40)
			if n > len(rest) {
				n = len(rest)
			}
			w.Write([]byte(rest[:n]))
			rest = rest[n:]
		}
		w.Flush()
		if out.String() != Redact(text) {
			t.Fatalf("random split %d differs: %q", i, out.String())
		}
	}
}

func TestWriterPassesCompleteLines(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	Register("secret-value-123456")
	var out bytes.Buffer
	w := Writer(&out)
	w.Write([]byte("line one\nline two\n"))
	if out.String() != "line one\nline two\n" {
		t.Fatalf("complete lines held back: %q", out.String())
	}
	w.Write([]byte("a partial line that is long enough to pass some of it through now"))
	if out.Len() <= len("line one\nline two\n") {
		t.Fatalf("long partial line entirely held back")
	}
	w.Flush()
	if !strings.HasSuffix(out.String(), "through now") {
		t.Fatalf("flush lost output: %q", out.String())
	}
}

func TestCredentialStoreSettingNotSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"PUTITOUTTHERE_CREDENTIAL_STORE":     false,
		"CARGO_REGISTRY_TOKEN":               true,
		"MY_API_KEY":                         true,
		"CARGO_REGISTRY_CREDENTIAL_PROVIDER": false,
	} {
		if got := LooksSecret(name); got != want {
			t.Errorf("LooksSecret(%s) = %v", name, got)
		}
	}
}
