package github_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	emu "github.com/putitoutthere/putitoutthere/internal/emulator/github"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	gh "github.com/putitoutthere/putitoutthere/internal/registry/github"
)

const clientID = "Iv23lio0NtN1koa0Rwle"

// emuClock sleeps by advancing the emulator's clock, and records each wait.
type emuClock struct {
	s      *emu.Server
	waits  []time.Duration
	onWait func(n int)
}

func (c *emuClock) Now() time.Time { return c.s.Now() }
func (c *emuClock) Sleep(_ context.Context, d time.Duration) error {
	c.waits = append(c.waits, d)
	c.s.Advance(d)
	if c.onWait != nil {
		c.onWait(len(c.waits))
	}
	return nil
}

func start(t *testing.T, opts emu.Options) (*emu.Server, *gh.Client) {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	}
	s, err := emu.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	c := gh.New(env.Env(s.Env()))
	c.HTTP.Sleep = func(context.Context, time.Duration) error { return nil }
	c.HTTP.Policy = httpx.Policy{Attempts: 3}
	return s, c
}

func TestDeviceFlowPendingThenApproved(t *testing.T) {
	s, c := start(t, emu.Options{ClientID: clientID})
	ctx := context.Background()
	clk := &emuClock{s: s}
	dc, err := c.DeviceCode(ctx, clientID, clk)
	if err != nil {
		t.Fatal(err)
	}
	if dc.Interval != 5 || dc.ExpiresIn != 900 || !strings.HasSuffix(dc.VerificationURI, "/login/device") || len(dc.UserCode) != 9 {
		t.Fatalf("device code = %+v", dc)
	}
	clk.onWait = func(n int) {
		if n == 3 { // two pending answers first
			if err := s.Approve(dc.UserCode, "octocat"); err != nil {
				t.Error(err)
			}
		}
	}
	tok, err := c.PollToken(ctx, clientID, dc, clk)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.AccessToken, "ghu_") || !strings.HasPrefix(tok.RefreshToken, "ghr_") {
		t.Fatalf("token shapes: %q %q", tok.AccessToken[:4], tok.RefreshToken[:4])
	}
	if got := tok.ExpiresAt.Sub(s.Now()); got != 8*time.Hour {
		t.Fatalf("expires in %v, want 8h", got)
	}
	if len(clk.waits) != 3 || clk.waits[0] != 5*time.Second {
		t.Fatalf("waits = %v", clk.waits)
	}
	u, err := c.User(ctx, tok.AccessToken)
	if err != nil || u.Login != "octocat" {
		t.Fatalf("user = %+v, %v", u, err)
	}
}

func TestDeviceFlowSlowDownAddsFiveSeconds(t *testing.T) {
	s, c := start(t, emu.Options{})
	ctx := context.Background()
	clk := &emuClock{s: s}
	dc, err := c.DeviceCode(ctx, clientID, clk)
	if err != nil {
		t.Fatal(err)
	}
	s.SlowDown(2)
	clk.onWait = func(n int) {
		if n == 3 {
			_ = s.Approve(dc.UserCode, "octocat")
		}
	}
	if _, err := c.PollToken(ctx, clientID, dc, clk); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{5 * time.Second, 10 * time.Second, 15 * time.Second}
	if fmt.Sprint(clk.waits) != fmt.Sprint(want) {
		t.Fatalf("waits = %v, want %v", clk.waits, want)
	}
	if got := s.DeviceInterval(dc.UserCode); got != 15 {
		t.Fatalf("server interval = %d, want 15", got)
	}
}

// A client that ignores the interval is told slow_down by the server itself.
func TestEmulatorSlowDownOnFastPolling(t *testing.T) {
	s, c := start(t, emu.Options{})
	ctx := context.Background()
	clk := &emuClock{s: s}
	dc, _ := c.DeviceCode(ctx, clientID, clk)
	fast := &fastClock{s: s}
	fast.onWait = func(n int) {
		if n == 4 {
			_ = s.Approve(dc.UserCode, "octocat")
		}
	}
	if _, err := c.PollToken(ctx, clientID, dc, fast); err != nil {
		t.Fatal(err)
	}
	if s.DeviceInterval(dc.UserCode) <= 5 {
		t.Fatalf("interval not raised: %d", s.DeviceInterval(dc.UserCode))
	}
}

// fastClock advances only one second for its first two sleeps, then behaves.
type fastClock struct {
	s      *emu.Server
	n      int
	onWait func(int)
}

func (c *fastClock) Now() time.Time { return c.s.Now() }
func (c *fastClock) Sleep(_ context.Context, d time.Duration) error {
	c.n++
	if c.n <= 2 {
		d = time.Second
	}
	c.s.Advance(d)
	if c.onWait != nil {
		c.onWait(c.n)
	}
	return nil
}

func TestDeviceFlowDenied(t *testing.T) {
	s, c := start(t, emu.Options{})
	ctx := context.Background()
	clk := &emuClock{s: s}
	dc, _ := c.DeviceCode(ctx, clientID, clk)
	clk.onWait = func(n int) { _ = s.Deny(dc.UserCode) }
	_, err := c.PollToken(ctx, clientID, dc, clk)
	if !errors.Is(err, gh.ErrAccessDenied) {
		t.Fatalf("err = %v, want ErrAccessDenied", err)
	}
}

func TestDeviceFlowExpired(t *testing.T) {
	s, c := start(t, emu.Options{})
	ctx := context.Background()
	clk := &emuClock{s: s}
	dc, _ := c.DeviceCode(ctx, clientID, clk)
	_, err := c.PollToken(ctx, clientID, dc, clk)
	if !errors.Is(err, gh.ErrExpiredToken) {
		t.Fatalf("err = %v, want ErrExpiredToken", err)
	}
	// 900 s / 5 s: the client stops at the deadline, not after it.
	if len(clk.waits) > 181 {
		t.Fatalf("polled %d times", len(clk.waits))
	}
}

// The server's expired_token answer is honoured even if our deadline is off.
func TestDeviceFlowServerSaysExpired(t *testing.T) {
	s, c := start(t, emu.Options{})
	ctx := context.Background()
	clk := &emuClock{s: s}
	dc, _ := c.DeviceCode(ctx, clientID, clk)
	dc.ExpiresIn = 0 // no client-side deadline
	s.Advance(time.Hour)
	if _, err := c.PollToken(ctx, clientID, dc, clk); !errors.Is(err, gh.ErrExpiredToken) {
		t.Fatalf("err = %v", err)
	}
}

func TestDeviceCodeUnknownClient(t *testing.T) {
	_, c := start(t, emu.Options{ClientID: clientID})
	_, err := c.DeviceCode(context.Background(), "Iv1.nope", nil)
	if !errors.Is(err, gh.ErrDeviceFlowDisabled) {
		t.Fatalf("err = %v", err)
	}
}

func TestDeviceFlowServerErrorIsRetriedThenReported(t *testing.T) {
	s, c := start(t, emu.Options{})
	s.Faults.Add(fault.Rule{Method: "POST", PathPrefix: "/login/device/code", Status: 502, Count: 5})
	_, err := c.DeviceCode(context.Background(), clientID, nil)
	if err == nil || httpx.StatusOf(err) != 502 {
		t.Fatalf("err = %v", err)
	}
	if s.Faults.Hits() != 3 {
		t.Fatalf("tries = %d, want 3", s.Faults.Hits())
	}
}

func login(t *testing.T, s *emu.Server, c *gh.Client) *gh.Token {
	t.Helper()
	ctx := context.Background()
	clk := &emuClock{s: s}
	dc, err := c.DeviceCode(ctx, clientID, clk)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Approve(dc.UserCode, "octocat"); err != nil {
		t.Fatal(err)
	}
	tok, err := c.PollToken(ctx, clientID, dc, clk)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRefreshRotatesAndInvalidatesOld(t *testing.T) {
	s, c := start(t, emu.Options{})
	ctx := context.Background()
	tok := login(t, s, c)
	s.Advance(9 * time.Hour)
	if _, err := c.User(ctx, tok.AccessToken); gh.StatusOf(err) != 401 {
		t.Fatalf("expired token: err = %v, want 401", err)
	}
	nt, err := c.Refresh(ctx, clientID, tok.RefreshToken, &emuClock{s: s})
	if err != nil {
		t.Fatal(err)
	}
	if nt.AccessToken == tok.AccessToken || nt.RefreshToken == tok.RefreshToken {
		t.Fatal("refresh did not rotate")
	}
	if _, err := c.User(ctx, nt.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refresh(ctx, clientID, tok.RefreshToken, nil); !errors.Is(err, gh.ErrBadRefreshToken) {
		t.Fatalf("reusing the old refresh token: err = %v", err)
	}
}

func TestRevokedUser(t *testing.T) {
	s, c := start(t, emu.Options{})
	ctx := context.Background()
	tok := login(t, s, c)
	s.RevokeUser("octocat")
	if _, err := c.User(ctx, tok.AccessToken); gh.StatusOf(err) != 401 {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.Refresh(ctx, clientID, tok.RefreshToken, nil); !errors.Is(err, gh.ErrBadRefreshToken) {
		t.Fatalf("err = %v", err)
	}
}

func TestSecretsPaginateAcrossPages(t *testing.T) {
	s, c := start(t, emu.Options{})
	s.AddUser("octocat", "ghp_patpatpatpat")
	for i := 0; i < 230; i++ {
		s.AddSecret("octo-org/octo-repo", fmt.Sprintf("S_%03d", i))
	}
	s.AddEnvironment("octo-org/octo-repo", "production", "PYPI_API_TOKEN")
	s.AddEnvironment("octo-org/octo-repo", "staging area", "NPM_TOKEN", "OTHER")
	ctx := context.Background()
	secrets, err := c.RepoSecrets(ctx, "ghp_patpatpatpat", "octo-org", "octo-repo")
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets) != 230 || secrets[229].Name != "S_229" {
		t.Fatalf("got %d secrets", len(secrets))
	}
	pages := 0
	for _, r := range s.Requests() {
		if strings.HasSuffix(r.Path, "/actions/secrets") {
			pages++
		}
	}
	if pages != 3 {
		t.Fatalf("pages fetched = %d, want 3", pages)
	}
	envs, err := c.Environments(ctx, "ghp_patpatpatpat", "octo-org", "octo-repo")
	if err != nil || len(envs) != 2 || envs[1].Name != "staging area" {
		t.Fatalf("envs = %+v, %v", envs, err)
	}
	es, err := c.EnvSecrets(ctx, "ghp_patpatpatpat", "octo-org", "octo-repo", "staging area")
	if err != nil || len(es) != 2 || es[0].Name != "NPM_TOKEN" {
		t.Fatalf("env secrets = %+v, %v", es, err)
	}
	if _, err := c.EnvSecrets(ctx, "ghp_patpatpatpat", "octo-org", "octo-repo", "nope"); gh.StatusOf(err) != 404 {
		t.Fatalf("unknown env: %v", err)
	}
	if _, err := c.RepoSecrets(ctx, "ghp_patpatpatpat", "octo-org", "missing"); gh.StatusOf(err) != 404 {
		t.Fatalf("unknown repo: %v", err)
	}
}

func TestInstallationTokenCannotReadSecrets(t *testing.T) {
	s, c := start(t, emu.Options{})
	tok := s.IssueInstallationToken("octo-org/octo-repo")
	_, err := c.RepoSecrets(context.Background(), tok, "octo-org", "octo-repo")
	if !gh.IsNotAccessible(err) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), tok) {
		t.Fatal("token in error")
	}
}

func TestRESTConventions(t *testing.T) {
	s, _ := start(t, emu.Options{})
	s.AddUser("octocat", "ghp_patpatpatpat")
	req, _ := http.NewRequest("GET", s.URL()+"/user", nil)
	req.Header.Set("Authorization", "token ghp_patpatpatpat")
	req.Header.Set("User-Agent", "") // net/http then sends none
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("no User-Agent: status %d, want 403", resp.StatusCode)
	}
	req.Header.Set("User-Agent", "test")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("x-ratelimit-limit") != "5000" || resp.Header.Get("x-ratelimit-remaining") != "4999" {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
}

func TestReleasesIdempotent(t *testing.T) {
	s, c := start(t, emu.Options{})
	ctx := context.Background()
	tok := s.IssueInstallationToken("octo-org/octo-repo")
	if _, ok, err := c.ReleaseByTag(ctx, tok, "octo-org", "octo-repo", "v1.0.0"); ok || err != nil {
		t.Fatalf("missing release: ok=%v err=%v", ok, err)
	}
	in := gh.ReleaseInput{TagName: "v1.0.0", TargetCommitish: strings.Repeat("a", 40), Name: "v1.0.0", Body: "notes", MakeLatest: "true"}
	r1, err := c.CreateRelease(ctx, tok, "octo-org", "octo-repo", in)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.CreateRelease(ctx, tok, "octo-org", "octo-repo", in)
	if err != nil || r2.ID != r1.ID {
		t.Fatalf("second create: %+v %v", r2, err)
	}
	if n := len(s.Releases("octo-org/octo-repo")); n != 1 {
		t.Fatalf("releases = %d", n)
	}
	got, ok, err := c.ReleaseByTag(ctx, tok, "octo-org", "octo-repo", "v1.0.0")
	if !ok || err != nil || got.Body != "notes" {
		t.Fatalf("by tag: %+v %v %v", got, ok, err)
	}
	// A published release created the tag.
	if ok, _ := c.RefExists(ctx, tok, "octo-org", "octo-repo", "v1.0.0"); !ok {
		t.Fatal("tag not created with the release")
	}
}

func TestCreateReleaseLandThenFailIsSettled(t *testing.T) {
	s, c := start(t, emu.Options{})
	ctx := context.Background()
	tok := s.IssueInstallationToken("o/r")
	s.Faults.Add(fault.Rule{Method: "POST", PathPrefix: "/repos/o/r/releases", Kind: fault.LandThenFail, Status: 502})
	rel, err := c.CreateRelease(ctx, tok, "o", "r", gh.ReleaseInput{TagName: "x-v1"})
	if err != nil || rel.TagName != "x-v1" {
		t.Fatalf("%+v %v", rel, err)
	}
	if n := len(s.Releases("o/r")); n != 1 {
		t.Fatalf("releases = %d", n)
	}
}

func TestRefs(t *testing.T) {
	s, c := start(t, emu.Options{})
	ctx := context.Background()
	tok := s.IssueInstallationToken("o/r")
	sha := strings.Repeat("b", 40)
	if err := c.CreateRef(ctx, tok, "o", "r", "pkg-v1.0.0", sha); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateRef(ctx, tok, "o", "r", "pkg-v1.0.0", sha); err != nil {
		t.Fatalf("same sha again: %v", err)
	}
	err := c.CreateRef(ctx, tok, "o", "r", "pkg-v1.0.0", strings.Repeat("d", 40))
	if !errors.Is(err, gh.ErrRefExists) {
		t.Fatalf("other sha: %v", err)
	}
	tagSHA, err := c.CreateTagObject(ctx, tok, "o", "r", "pkg-v2.0.0", "pkg 2.0.0", sha)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CreateRef(ctx, tok, "o", "r", "pkg-v2.0.0", tagSHA); err != nil {
		t.Fatal(err)
	}
	ref, ok, err := c.GetRef(ctx, tok, "o", "r", "tags/pkg-v2.0.0")
	if err != nil || !ok || ref.Object.Type != "tag" || ref.Object.SHA != tagSHA {
		t.Fatalf("%+v %v %v", ref, ok, err)
	}
	if to, ok := s.Tag("o/r", tagSHA); !ok || to.ObjectSHA != sha {
		t.Fatalf("tag object %+v", to)
	}
	if ok, err := c.RefExists(ctx, tok, "o", "r", "nope"); ok || err != nil {
		t.Fatalf("missing: %v %v", ok, err)
	}
	if err := c.CreateRef(ctx, tok, "o", "r", "bad", "xyz"); gh.StatusOf(errors.Unwrap(err)) != 422 && !strings.Contains(err.Error(), "422") {
		t.Fatalf("bad sha: %v", err)
	}
}

func TestParseRemote(t *testing.T) {
	for _, tc := range []struct{ in, owner, repo string }{
		{"https://github.com/o/r", "o", "r"},
		{"https://github.com/o/r.git", "o", "r"},
		{"https://github.com/o/r/", "o", "r"},
		{"https://github.com/o/r.git/", "o", "r"},
		{"https://user:pw@github.com/o/r.git", "o", "r"},
		{"git@github.com:o/r.git", "o", "r"},
		{"git@github.com:o/r", "o", "r"},
		{"git@github.com:o/r/", "o", "r"},
		{"github.com:o/r.git", "o", "r"},
		{"ssh://git@github.com/o/r", "o", "r"},
		{"ssh://git@github.com:22/o/r.git", "o", "r"},
		{"git://github.com/o/r.git", "o", "r"},
		{"  https://ghe.example.com/my-org/my.repo.git\n", "my-org", "my.repo"},
	} {
		o, r, ok := gh.ParseRemote(tc.in)
		if !ok || o != tc.owner || r != tc.repo {
			t.Errorf("ParseRemote(%q) = %q %q %v", tc.in, o, r, ok)
		}
	}
	for _, bad := range []string{"", "https://github.com/o", "https://github.com/o/r/x", "/local/path", "git@github.com:", "not a url"} {
		if o, r, ok := gh.ParseRemote(bad); ok {
			t.Errorf("ParseRemote(%q) = %q %q, want !ok", bad, o, r)
		}
	}
}

func TestRateLimitIsTyped(t *testing.T) {
	s, c := start(t, emu.Options{RateLimit: 1})
	s.AddUser("octocat", "ghp_patpatpatpat")
	ctx := context.Background()
	if _, err := c.User(ctx, "ghp_patpatpatpat"); err != nil {
		t.Fatal(err)
	}
	_, err := c.User(ctx, "ghp_patpatpatpat")
	ok, reset := gh.IsRateLimited(err)
	if !ok || reset.IsZero() || gh.StatusOf(err) != 403 {
		t.Fatalf("err = %v, limited=%v reset=%v", err, ok, reset)
	}
	if ok, _ := gh.IsRateLimited(fmt.Errorf("x")); ok {
		t.Fatal("plain error is not rate limited")
	}
}
