package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	emu "github.com/putitoutthere/putitoutthere/internal/emulator/github"
	"github.com/putitoutthere/putitoutthere/internal/env"
)

// ghTestClock sleeps by moving the emulator's clock and lets a test act on
// the n-th wait (approve, deny, ...).
type ghTestClock struct {
	s      *emu.Server
	waits  []time.Duration
	onWait func(n int)
}

func (c *ghTestClock) Now() time.Time { return c.s.Now() }
func (c *ghTestClock) Sleep(_ context.Context, d time.Duration) error {
	c.waits = append(c.waits, d)
	c.s.Advance(d)
	if c.onWait != nil {
		c.onWait(len(c.waits))
	}
	return nil
}

type ghFixture struct {
	s     *emu.Server
	clk   *ghTestClock
	env   env.Env
	home  string
	creds string // credentials.json path
}

func newGHFixture(t *testing.T) *ghFixture {
	t.Helper()
	s, err := emu.Start(emu.Options{ClientID: GitHubClientID, Now: time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	home := t.TempDir()
	f := &ghFixture{s: s, clk: &ghTestClock{s: s}, home: home,
		creds: filepath.Join(home, ".config", "putitoutthere", "credentials.json")}
	f.env = env.Env{
		"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, ".config"),
		"PUTITOUTTHERE_CREDENTIAL_STORE": "file",
		"GITHUB_API_URL":                 s.URL(), "GITHUB_SERVER_URL": s.URL(),
		"GITHUB_REPOSITORY": "owner/repo",
		"PATH":              os.Getenv("PATH"),
	}
	oldClock, oldSleep := ghClock, ghRetrySleep
	ghClock = f.clk
	ghRetrySleep = func(context.Context, time.Duration) error { return nil }
	t.Cleanup(func() { ghClock, ghRetrySleep = oldClock, oldSleep })
	return f
}

func (f *ghFixture) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = MainEnv(context.Background(), append([]string{"--cwd", f.home}, args...), Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, f.env)
	return out.String(), errb.String(), code
}

// approveOn approves the pending code at the n-th wait.
func (f *ghFixture) approveOn(t *testing.T, n int, login string) {
	f.clk.onWait = func(i int) {
		if i == n {
			for _, uc := range f.s.PendingUserCodes() {
				if err := f.s.Approve(uc, login); err != nil {
					t.Error(err)
				}
			}
		}
	}
}

func (f *ghFixture) login(t *testing.T) {
	t.Helper()
	f.approveOn(t, 1, "octocat")
	if out, errs, code := f.run(t, "auth", "login"); code != 0 {
		t.Fatalf("login: %d\n%s\n%s", code, out, errs)
	}
	f.clk.onWait = nil
}

func (f *ghFixture) storedToken(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(f.creds)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAuthLoginDeviceFlow(t *testing.T) {
	f := newGHFixture(t)
	f.s.SlowDown(1)
	f.approveOn(t, 3, "octocat") // slow_down, pending, then approved
	out, errs, code := f.run(t, "auth", "login")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	host := strings.TrimPrefix(f.s.URL(), "http://")
	if !strings.Contains(out, "Logged in to "+host+" as octocat") || !strings.Contains(out, "Credential stored in "+f.creds+" (file, mode 0600)") {
		t.Fatalf("stdout:\n%s", out)
	}
	if !strings.Contains(errs, "one-time code: ") || !strings.Contains(errs, f.s.URL()+"/login/device") {
		t.Fatalf("stderr:\n%s", errs)
	}
	want := []time.Duration{5 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second}
	if len(f.clk.waits) < 3 || f.clk.waits[0] != want[0] || f.clk.waits[1] != want[1] {
		t.Fatalf("waits = %v (slow_down must add 5 s)", f.clk.waits)
	}
	fi, err := os.Stat(f.creds)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credential file: %v %v", fi, err)
	}
	m := f.storedToken(t)
	if !strings.HasPrefix(m["access_token"].(string), "ghu_") || !strings.HasPrefix(m["refresh_token"].(string), "ghr_") || m["login"] != "octocat" {
		t.Fatalf("stored %v", m["login"])
	}
	// The credential file is the only file written.
	var files []string
	_ = filepath.Walk(f.home, func(p string, info os.FileInfo, _ error) error {
		if !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 || files[0] != f.creds {
		t.Fatalf("files written: %v", files)
	}
}

func TestAuthLoginDenied(t *testing.T) {
	f := newGHFixture(t)
	f.clk.onWait = func(int) {
		for _, uc := range f.s.PendingUserCodes() {
			_ = f.s.Deny(uc)
		}
	}
	_, errs, code := f.run(t, "auth", "login")
	if code != 1 || !strings.Contains(errs, "[PIOT_AUTH_DENIED]") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if _, err := os.Stat(f.creds); !os.IsNotExist(err) {
		t.Fatal("credential stored after a denied login")
	}
}

func TestAuthLoginExpired(t *testing.T) {
	f := newGHFixture(t)
	out, errs, code := f.run(t, "--json", "auth", "login")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Error.Code != CodeAuthCodeExpired {
		t.Fatalf("stdout %q: %v", out, err)
	}
	if !strings.Contains(errs, "one-time code") {
		t.Fatalf("the code goes to stderr even with --json: %q", errs)
	}
}

func TestAuthLoginUnreachable(t *testing.T) {
	f := newGHFixture(t)
	f.s.Faults.Add(fault.Rule{PathPrefix: "/login/device/code", Status: 503, Count: 10})
	_, errs, code := f.run(t, "auth", "login")
	if code != 1 || !strings.Contains(errs, "could not reach GitHub") || !strings.Contains(errs, CodeGitHubUnreachable) {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	// Nothing was stored before the failure, so the hint cannot promise a
	// kept credential.
	if strings.Contains(errs, "credential was kept") || !strings.Contains(errs, "nothing was stored") {
		t.Errorf("login hint:\n%s", errs)
	}
}

func TestAuthStatusRefreshesExpiringToken(t *testing.T) {
	f := newGHFixture(t)
	f.login(t)
	old := f.storedToken(t)["access_token"].(string)
	out, _, code := f.run(t, "auth", "status")
	if code != 0 || !strings.Contains(out, "as octocat") || strings.Contains(out, "refreshed") {
		t.Fatalf("fresh status: %d\n%s", code, out)
	}
	f.s.Advance(8*time.Hour - 2*time.Minute) // inside the 5-minute margin
	out, errs, code := f.run(t, "--json", "auth", "status")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc["refreshed"] != true || doc["login"] != "octocat" {
		t.Fatalf("%v %s", err, out)
	}
	now := f.storedToken(t)["access_token"].(string)
	if now == old {
		t.Fatal("rotated token not stored")
	}
	if f.s.TokenValid(old) || !f.s.TokenValid(now) {
		t.Fatal("rotation: old must be dead, new alive")
	}
	// Fully expired (9 h later) also refreshes.
	f.s.Advance(9 * time.Hour)
	if _, errs, code := f.run(t, "auth", "status"); code != 0 {
		t.Fatalf("after expiry: %d %s", code, errs)
	}
}

func TestAuthStatusRevoked(t *testing.T) {
	f := newGHFixture(t)
	f.login(t)
	f.s.RevokeUser("octocat")
	_, errs, code := f.run(t, "auth", "status")
	if code != 1 || !strings.Contains(errs, "["+CodeAuthRevoked+"]") || !strings.Contains(errs, "auth login") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if _, err := os.Stat(f.creds); err != nil {
		t.Fatal("a revoked credential is kept until login/logout")
	}
}

func TestAuthStatusTransientKeepsCredential(t *testing.T) {
	f := newGHFixture(t)
	f.login(t)
	before, _ := os.ReadFile(f.creds)
	f.s.Faults.Add(fault.Rule{PathPrefix: "/user", Status: 502, Count: 20})
	_, errs, code := f.run(t, "auth", "status")
	if code != 1 || !strings.Contains(errs, "could not reach GitHub") || !strings.Contains(errs, CodeGitHubUnreachable) {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	// Network drop while refreshing: same verdict, credential untouched.
	f.s.Faults.Clear()
	f.s.Advance(9 * time.Hour)
	f.s.Faults.Add(fault.Rule{PathPrefix: "/login/oauth/access_token", Kind: fault.Drop, Count: 20})
	_, errs, code = f.run(t, "auth", "status")
	if code != 1 || !strings.Contains(errs, "could not reach GitHub") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	after, _ := os.ReadFile(f.creds)
	if !bytes.Equal(before, after) {
		t.Fatal("credential changed on a transient failure")
	}
}

func TestAuthStatusNotLoggedInAndLogout(t *testing.T) {
	f := newGHFixture(t)
	_, errs, code := f.run(t, "auth", "status")
	if code != 1 || !strings.Contains(errs, CodeAuthNotLoggedIn) {
		t.Fatalf("exit %d %s", code, errs)
	}
	f.login(t)
	out, _, code := f.run(t, "auth", "logout")
	if code != 0 || !strings.Contains(out, "Removed the GitHub credential from "+f.creds) {
		t.Fatalf("logout: %d %s", code, out)
	}
	if _, err := os.Stat(f.creds); !os.IsNotExist(err) {
		t.Fatal("file still there")
	}
	out, _, code = f.run(t, "auth", "logout")
	if code != 0 || !strings.Contains(out, "nothing to remove") {
		t.Fatalf("second logout: %d %s", code, out)
	}
}

func TestAuthStatusOtherHost(t *testing.T) {
	f := newGHFixture(t)
	f.login(t)
	f.env["GITHUB_API_URL"] = "http://127.0.0.1:1" // a different host: the token must not go there
	_, errs, code := f.run(t, "auth", "status")
	if code != 1 || !strings.Contains(errs, "the stored GitHub login is for") || !strings.Contains(errs, CodeAuthNotLoggedIn) {
		t.Fatalf("exit %d\n%s", code, errs)
	}
}

func TestAuthLoginRefusedPoll(t *testing.T) {
	f := newGHFixture(t)
	f.s.Faults.Add(fault.Rule{PathPrefix: "/login/oauth/access_token", Status: 400, Body: `{"error":"bad_request"}`})
	_, errs, code := f.run(t, "auth", "login")
	if code != 1 || !strings.Contains(errs, CodeAuthDeviceFlow) || strings.Contains(errs, "could not reach") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
}
