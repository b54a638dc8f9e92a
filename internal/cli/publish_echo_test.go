package cli

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// A PyPI (or a proxy in front of it) that echoes the Authorization header,
// and the token in other encodings, in its refusal: the OIDC-minted token
// appears in no form in `publish --json` stdout or stderr.
func TestPublishEchoedCredentialInAnyFormIsRedacted(t *testing.T) {
	w := newWorld(t)
	echo := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
		tok := strings.TrimPrefix(string(raw), "__token__:")
		rw.WriteHeader(400)
		fmt.Fprintf(rw, "400 upstream rejected request with Authorization: %s; token=%s; b64=%s; json={\"t\":%q}; raw=%s",
			auth, url.QueryEscape(tok), base64.URLEncoding.EncodeToString([]byte("x"+tok)), tok, tok)
	}))
	defer echo.Close()
	w.env["PUTITOUTTHERE_PYPI_UPLOAD_URL"] = echo.URL + "/legacy/"
	stdout, stderr, code := w.cli("--json", "publish")
	if code == 0 {
		t.Fatalf("publish succeeded against a refusing PyPI\n%s", stderr)
	}
	minted := w.pypi.MintedTokens()
	if len(minted) == 0 {
		t.Fatal("no PyPI token was minted: the test did not reach the upload")
	}
	all := stdout + stderr
	for _, tok := range minted {
		forms := append([]string{tok}, secret.Derived(tok)...)
		for _, f := range forms {
			if len(f) >= 8 && strings.Contains(all, f) {
				t.Errorf("the minted token appears (as %.12s…) in the output", f)
			}
		}
	}
	// Cut-off encodings too: no base64 run in the output decodes to 12
	// consecutive bytes of a token.
	for _, run := range strings.FieldsFunc(all, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '-' || r == '_')
	}) {
		for skip := 0; skip < 4 && skip < len(run); skip++ {
			r := run[skip:]
			r = r[:len(r)-len(r)%4]
			for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
				b, err := enc.DecodeString(r)
				if err != nil {
					continue
				}
				for _, tok := range minted {
					for i := 0; i+12 <= len(tok); i++ {
						if strings.Contains(string(b), tok[i:i+12]) {
							t.Fatalf("a base64 run in the output decodes to part of the minted token: %.40s…", run)
						}
					}
				}
			}
		}
	}
	if !strings.Contains(all, "upstream rejected request") {
		t.Errorf("the registry's words are not reported:\n%s", all)
	}
}
