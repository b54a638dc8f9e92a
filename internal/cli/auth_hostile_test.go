package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// hostileGitHub answers the device flow with the given device-code body and
// user login; the access token is granted at the first poll.
func hostileGitHub(t *testing.T, deviceBody, userBody string) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/login/device/code":
			fmt.Fprint(w, deviceBody)
		case "/login/oauth/access_token":
			fmt.Fprint(w, `{"access_token":"ghu_hostile0123456789","token_type":"bearer","expires_in":28800,"refresh_token":"ghr_hostile0123456789"}`)
		case "/user":
			fmt.Fprint(w, userBody)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func TestAuthLoginHostileServer(t *testing.T) {
	esc := "\x1b]8;;https://evil.example/\x1b\\"
	f := newGHFixture(t)
	dev, _ := json.Marshal(map[string]any{"device_code": "dc1234567", "user_code": "ABCD\x1b[2J-1234",
		"verification_uri": esc + "https://github.com/login/device\x1b]8;;\x1b\\", "expires_in": 900, "interval": 1000000000})
	url := hostileGitHub(t, string(dev), `{"login":"octo\u001b[31mcat\u202e","id":1}`)
	f.env["GITHUB_SERVER_URL"], f.env["GITHUB_API_URL"] = url, url
	out, errs, code := f.run(t, "auth", "login")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if strings.ContainsAny(out+errs, "\x1b\u202e") {
		t.Fatalf("escape sequences reached the terminal: %q %q", out, errs)
	}
	for _, want := range []string{"ABCD-1234", "open https://github.com/login/device in", "as octocat"} {
		if !strings.Contains(out+errs, want) {
			t.Errorf("missing %q in %q %q", want, out, errs)
		}
	}
	for _, w := range f.clk.waits {
		if w > time.Minute {
			t.Errorf("waited %s between polls (server asked for 1e9 s)", w)
		}
	}
}

func TestAuthLoginMalformedAnswers(t *testing.T) {
	for name, c := range map[string][2]string{
		"not json":          {`<html>captive portal</html>`, `{"login":"x"}`},
		"no user code":      {`{"device_code":"dc1234567","verification_uri":"https://github.com/login/device"}`, `{"login":"x"}`},
		"javascript uri":    {`{"device_code":"dc1234567","user_code":"ABCD-1234","verification_uri":"javascript:alert(1)"}`, `{"login":"x"}`},
		"interval a string": {`{"device_code":"dc1234567","user_code":"ABCD-1234","verification_uri":"https://github.com/login/device","interval":"soon"}`, `{"login":"x"}`},
		"login missing":     {`{"device_code":"dc1234567","user_code":"ABCD-1234","verification_uri":"https://github.com/login/device"}`, `{"id":1}`},
	} {
		t.Run(name, func(t *testing.T) {
			f := newGHFixture(t)
			url := hostileGitHub(t, c[0], c[1])
			f.env["GITHUB_SERVER_URL"], f.env["GITHUB_API_URL"] = url, url
			_, errs, code := f.run(t, "auth", "login")
			if code == 0 || !strings.Contains(errs, CodeGitHubMalformed) || strings.Contains(errs, "transient") {
				t.Fatalf("exit %d: %s", code, errs)
			}
		})
	}
}
