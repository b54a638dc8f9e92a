package github

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, s *Server, path, token string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL()+path, nil)
	req.Header.Set("User-Agent", "test")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestDeviceCodeFormEncodedByDefault(t *testing.T) {
	s, _ := Start(Options{})
	defer s.Close()
	resp, err := http.PostForm(s.URL()+"/login/device/code", url.Values{"client_id": {"Iv1.x"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	v, err := url.ParseQuery(string(b))
	if err != nil || len(v.Get("device_code")) != 40 || v.Get("interval") != "5" || v.Get("expires_in") != "900" {
		t.Fatalf("%s: %v", b, err)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		t.Fatalf("content type %s", resp.Header.Get("Content-Type"))
	}
	// Pending answers come with HTTP 200.
	resp, err = http.PostForm(s.URL()+"/login/oauth/access_token", url.Values{"client_id": {"Iv1.x"}, "device_code": {v.Get("device_code")},
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "error=authorization_pending") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

func TestPaginationLinks(t *testing.T) {
	s, _ := Start(Options{})
	defer s.Close()
	s.AddUser("u", "tok_abcdef")
	for i := 0; i < 5; i++ {
		s.AddSecret("o/r", "S"+string(rune('A'+i)))
	}
	resp, body := get(t, s, "/repos/o/r/actions/secrets?per_page=2&page=2", "tok_abcdef")
	link := resp.Header.Get("Link")
	if !strings.Contains(link, `page=3&per_page=2>; rel="next"`) || !strings.Contains(link, `rel="last"`) || !strings.Contains(link, `rel="prev"`) {
		t.Fatalf("Link: %s", link)
	}
	var v struct {
		Total   int `json:"total_count"`
		Secrets []struct{ Name string }
	}
	_ = json.Unmarshal([]byte(body), &v)
	if v.Total != 5 || len(v.Secrets) != 2 || v.Secrets[0].Name != "SC" {
		t.Fatalf("%s", body)
	}
	resp, _ = get(t, s, "/repos/o/r/actions/secrets?per_page=2&page=3", "tok_abcdef")
	if strings.Contains(resp.Header.Get("Link"), `rel="next"`) {
		t.Fatal("last page has a next link")
	}
}

func TestRateLimitExhausted(t *testing.T) {
	s, _ := Start(Options{RateLimit: 2})
	defer s.Close()
	s.AddUser("u", "tok_abcdef")
	for i := 0; i < 2; i++ {
		if resp, _ := get(t, s, "/user", "tok_abcdef"); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	resp, body := get(t, s, "/user", "tok_abcdef")
	if resp.StatusCode != 403 || resp.Header.Get("x-ratelimit-remaining") != "0" || !strings.Contains(body, "rate limit") {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, body)
	}
	if resp, _ := get(t, s, "/user", ""); resp.StatusCode != 401 || resp.Header.Get("x-ratelimit-limit") != "60" {
		t.Fatalf("anonymous: %d %s", resp.StatusCode, resp.Header.Get("x-ratelimit-limit"))
	}
}

func TestTokenExpiryFollowsClock(t *testing.T) {
	s, _ := Start(Options{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	defer s.Close()
	tok := s.IssueInstallationToken("o/r")
	if !s.TokenValid(tok) {
		t.Fatal("fresh token invalid")
	}
	s.Advance(time.Hour)
	if s.TokenValid(tok) {
		t.Fatal("installation token outlived its hour")
	}
	if resp, _ := get(t, s, "/repos/o/r/releases", tok); resp.StatusCode != 401 {
		t.Fatalf("expired token: %d", resp.StatusCode)
	}
}

func TestInstallationTokenScopedToItsRepo(t *testing.T) {
	s, _ := Start(Options{})
	defer s.Close()
	s.AddRepo("o/other")
	tok := s.IssueInstallationToken("o/r")
	if resp, _ := get(t, s, "/repos/o/other/releases", tok); resp.StatusCode != 404 {
		t.Fatalf("other repo: %d", resp.StatusCode)
	}
	if resp, body := get(t, s, "/user", tok); resp.StatusCode != 403 || !strings.Contains(body, "Resource not accessible by integration") {
		t.Fatalf("/user: %d %s", resp.StatusCode, body)
	}
}

func TestDraftReleaseNotFoundByTag(t *testing.T) {
	s, _ := Start(Options{})
	defer s.Close()
	tok := s.IssueInstallationToken("o/r")
	req, _ := http.NewRequest("POST", s.URL()+"/repos/o/r/releases", strings.NewReader(`{"tag_name":"v1","draft":true}`))
	req.Header.Set("User-Agent", "t")
	req.Header.Set("Authorization", "token "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("Location") == "" {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	if resp, _ := get(t, s, "/repos/o/r/releases/tags/v1", tok); resp.StatusCode != 404 {
		t.Fatalf("draft by tag: %d", resp.StatusCode)
	}
	if _, ok := s.Refs("o/r")["refs/tags/v1"]; ok {
		t.Fatal("a draft created the tag")
	}
}
