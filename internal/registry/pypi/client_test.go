package pypi

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	emu "github.com/putitoutthere/putitoutthere/internal/emulator/pypi"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/pydist/pydisttest"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

var (
	issOnce sync.Once
	iss     *oidc.Issuer
)

type fixture struct {
	srv    *emu.Server
	c      *Client
	sleeps []time.Duration
}

func setup(t *testing.T, mod func(*emu.Options)) *fixture {
	t.Helper()
	issOnce.Do(func() {
		var err error
		if iss, err = oidc.Start(); err != nil {
			panic(err)
		}
	})
	iss.SetIdentity(oidc.DefaultIdentity())
	o := emu.Options{Verifier: iss}
	if mod != nil {
		mod(&o)
	}
	srv, err := emu.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv}
	h := httpx.New()
	h.Policy = httpx.Policy{Attempts: 3, BaseDelay: time.Second, MaxDelay: 10 * time.Second, PerRequest: 5 * time.Second}
	h.Sleep = func(_ context.Context, d time.Duration) error { f.sleeps = append(f.sleeps, d); return nil }
	e := env.FromList([]string{EnvURL + "=" + srv.URL(), EnvUploadURL + "=" + srv.UploadURL()})
	f.c = New(e, h)
	return f
}

func codeOf(err error) string { return diag.CodeOf(err) }

func TestNewDefaults(t *testing.T) {
	c := New(env.FromList([]string{EnvURL + "="}), nil)
	if c.BaseURL != DefaultURL || c.UploadURL != DefaultUploadURL {
		t.Fatalf("%+v", c)
	}
	c = New(env.FromList([]string{EnvURL + "=https://test.pypi.org/", EnvUploadURL + "=https://test.pypi.org/legacy/"}), nil)
	if c.BaseURL != "https://test.pypi.org" || c.UploadURL != "https://test.pypi.org/legacy/" {
		t.Fatalf("%+v", c)
	}
}

func TestAudience(t *testing.T) {
	f := setup(t, nil)
	aud, err := f.c.Audience(context.Background())
	if err != nil || aud != "pypi" {
		t.Fatalf("%q %v", aud, err)
	}
	f = setup(t, func(o *emu.Options) { o.TrustedPublishingDisabled = true })
	if _, err := f.c.Audience(context.Background()); codeOf(err) != CodeNotEnabled {
		t.Fatalf("disabled: %v", err)
	}
	f.srv.Faults.Add(fault.Rule{PathPrefix: "/_/oidc/audience", Kind: fault.Status, Status: 404})
	if _, err := f.c.Audience(context.Background()); codeOf(err) != CodeNoTrustedPublish {
		t.Fatalf("404: %v", err)
	}
	f.srv.Faults.Add(fault.Rule{PathPrefix: "/_/oidc/audience", Kind: fault.Status, Status: 503, Count: 5})
	if _, err := f.c.Audience(context.Background()); codeOf(err) != CodeUnreachable || len(f.sleeps) != 2 {
		t.Fatalf("503: %v, sleeps %v", err, f.sleeps)
	}
}

func TestMintToken(t *testing.T) {
	secret.Reset()
	f := setup(t, nil)
	_ = f.srv.AddTrustedPublisher("demo-pkg", emu.Publisher{Owner: "octo-org", Repo: "octo-repo", OwnerID: "65", Workflow: "release.yml"})
	jwt, _ := iss.Mint("pypi")
	tok, exp, err := f.c.MintToken(context.Background(), jwt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "py"+"pi-") || time.Until(exp) < 890*time.Second {
		t.Fatalf("token %.8s… expires %v", tok, exp)
	}
	if secret.Redact("x "+tok) != "x "+secret.Mask {
		t.Fatal("minted token not registered as a secret")
	}
	// Reuse → PIOT_PYPI_INVALID_REUSE_TOKEN carrying PyPI's own words.
	_, _, err = f.c.MintToken(context.Background(), jwt)
	var me *MintError
	if codeOf(err) != CodeInvalidReuseToken || !errors.As(err, &me) || me.Code != "invalid-reuse-token" || me.Status != 422 || me.Description != "invalid token: already used" {
		t.Fatalf("reuse: %v", err)
	}
	if diag.HintOf(err) == "" {
		t.Fatal("no hint")
	}
	// No publisher for this workflow.
	id := oidc.DefaultIdentity()
	id.WorkflowFile = "patch-release.yml"
	iss.SetIdentity(id)
	jwt2, _ := iss.Mint("pypi")
	_, _, err = f.c.MintToken(context.Background(), jwt2)
	if codeOf(err) != CodeInvalidPublisher || !strings.Contains(err.Error(), "Publisher with matching claims was not found") {
		t.Fatalf("publisher: %v", err)
	}
	for _, c := range []struct{ in, want string }{{"invalid-token", CodeInvalidToken}, {"invalid-pending-publisher", CodeInvalidPending}, {"not-enabled", CodeNotEnabled}, {"invalid-payload", CodeInvalidPayload}} {
		if got := MintCode(c.in); got != c.want {
			t.Errorf("MintCode(%s) = %s", c.in, got)
		}
	}
	// A 5xx is retried, then reported as unreachable.
	f.srv.Faults.Add(fault.Rule{PathPrefix: "/_/oidc/mint-token", Kind: fault.Status, Status: 502, Count: 3})
	if _, _, err := f.c.MintToken(context.Background(), "x"); codeOf(err) != CodeUnreachable {
		t.Fatalf("502: %v", err)
	}
}

func writeDists(t *testing.T, s pydisttest.Spec) (string, string) {
	t.Helper()
	w, sd, err := pydisttest.WriteBoth(t.TempDir(), s)
	if err != nil {
		t.Fatal(err)
	}
	return w, sd
}

func TestUploadAndReadBack(t *testing.T) {
	f := setup(t, nil)
	_ = f.srv.CreateProject("demo-pkg", "alice")
	tok, _ := f.srv.APIToken("alice", "demo-pkg")
	ctx := context.Background()
	spec := pydisttest.Spec{Name: "Demo_Pkg", Version: "1.2.0rc1"}
	wheel, sdist := writeDists(t, spec)

	if ok, err := f.c.VersionExists(ctx, "Demo_Pkg", "1.2.0rc1"); err != nil || ok {
		t.Fatalf("before: %v %v", ok, err)
	}
	for _, p := range []string{wheel, sdist} {
		r, err := f.c.Upload(ctx, tok, p)
		if err != nil || r != Uploaded {
			t.Fatalf("upload %s: %v %v", p, r, err)
		}
	}
	if ok, err := f.c.VersionExists(ctx, "Demo_Pkg", "1.2.0rc1"); err != nil || !ok {
		t.Fatalf("after: %v %v", ok, err)
	}
	files, err := f.c.Files(ctx, "demo.pkg", "1.2.0-rc1")
	if err != nil || len(files) != 2 {
		t.Fatalf("files %v %v", files, err)
	}
	// Re-run: the same file again is AlreadyPresent.
	present, err := f.c.UploadFile(ctx, tok, wheel, nil)
	if err != nil || !present {
		t.Fatalf("re-upload: %v %v", present, err)
	}
	// Different bytes, same filename → PIOT_PYPI_FILE_EXISTS, nothing sent.
	salted := spec
	salted.Salt = "changed"
	w2, _ := writeDists(t, salted)
	attempts := f.srv.UploadAttempts(filepath.Base(wheel))
	if _, err := f.c.Upload(ctx, tok, w2); codeOf(err) != CodeFileExists {
		t.Fatalf("conflict: %v", err)
	}
	if f.srv.UploadAttempts(filepath.Base(wheel)) != attempts {
		t.Fatal("a known conflict was uploaded anyway")
	}
}

func TestUploadFileExistsAnswerSettled(t *testing.T) {
	f := setup(t, nil)
	_ = f.srv.CreateProject("demo-pkg", "alice")
	tok, _ := f.srv.APIToken("alice")
	wheel, _ := writeDists(t, pydisttest.Spec{Name: "demo-pkg", Version: "1.0"})
	// The JSON API lags: the first look-up misses, PyPI then says "File
	// already exists", and the second look-up finds the same digest.
	if _, err := f.c.Upload(context.Background(), tok, wheel); err != nil {
		t.Fatal(err)
	}
	f.srv.Faults.Add(fault.Rule{Method: "GET", PathPrefix: "/pypi/", Kind: fault.Status, Status: 404, Body: `{"message": "Not Found"}`})
	f.srv.Faults.Add(fault.Rule{Method: "POST", PathPrefix: "/legacy/", Kind: fault.Status, Status: 400, Body: "File already exists ('x', with blake2_256 hash 'y')."})
	r, err := f.c.Upload(context.Background(), tok, wheel)
	if err != nil || r != AlreadyPresent {
		t.Fatalf("%v %v", r, err)
	}
}

func TestUploadLandedThenFailed(t *testing.T) {
	f := setup(t, nil)
	_ = f.srv.CreateProject("demo-pkg", "alice")
	tok, _ := f.srv.APIToken("alice")
	wheel, _ := writeDists(t, pydisttest.Spec{Name: "demo-pkg", Version: "2.0"})
	f.srv.Faults.Add(fault.Rule{Method: "POST", PathPrefix: "/legacy/", Kind: fault.LandThenFail, Status: 503})
	r, err := f.c.Upload(context.Background(), tok, wheel)
	if err != nil || r != Uploaded {
		t.Fatalf("%v %v", r, err)
	}
	if n := f.srv.UploadAttempts(filepath.Base(wheel)); n != 1 {
		t.Fatalf("sent %d times; a landed upload must not be re-sent", n)
	}
}

func TestUploadRetriesUnlanded5xx(t *testing.T) {
	f := setup(t, nil)
	_ = f.srv.CreateProject("demo-pkg", "alice")
	tok, _ := f.srv.APIToken("alice")
	wheel, _ := writeDists(t, pydisttest.Spec{Name: "demo-pkg", Version: "3.0"})
	f.srv.Faults.Add(fault.Rule{Method: "POST", PathPrefix: "/legacy/", Kind: fault.Status, Status: 503, RetryAfter: "7"})
	r, err := f.c.Upload(context.Background(), tok, wheel)
	if err != nil || r != Uploaded {
		t.Fatalf("%v %v", r, err)
	}
	if len(f.sleeps) != 1 || f.sleeps[0] != 7*time.Second {
		t.Fatalf("sleeps %v, want Retry-After 7s", f.sleeps)
	}
	// Always failing → PIOT_PYPI_UPLOAD_UNAVAILABLE after the policy's attempts.
	w2, _ := writeDists(t, pydisttest.Spec{Name: "demo-pkg", Version: "3.1"})
	f.srv.Faults.Add(fault.Rule{Method: "POST", PathPrefix: "/legacy/", Kind: fault.Status, Status: 500, Count: 10})
	if _, err := f.c.Upload(context.Background(), tok, w2); codeOf(err) != CodeUploadUnavailable {
		t.Fatalf("%v", err)
	}
}

func TestUploadRefusals(t *testing.T) {
	f := setup(t, nil)
	_ = f.srv.CreateProject("demo-pkg", "alice")
	_ = f.srv.CreateProject("other", "bob")
	wheel, _ := writeDists(t, pydisttest.Spec{Name: "demo-pkg", Version: "1.0"})
	bobs, _ := f.srv.APIToken("bob", "other")
	cases := []struct {
		name, tok, code, text string
	}{
		{"bad token", "py" + "pi-AgEIcHlwaS5vcmc", CodeUploadForbidden, "Invalid or non-existent authentication information"},
		{"wrong project", bobs, CodeUploadForbidden, "Invalid API Token: project-scoped token is not valid for project: 'demo-pkg'"},
	}
	for _, c := range cases {
		_, err := f.c.Upload(context.Background(), c.tok, wheel)
		if codeOf(err) != c.code || !strings.Contains(err.Error(), c.text) || diag.HintOf(err) == "" {
			t.Errorf("%s: %v", c.name, err)
		}
		if strings.Contains(err.Error(), c.tok) && len(c.tok) > 20 {
			t.Errorf("%s: token in error", c.name)
		}
	}
	if n := f.srv.UploadAttempts(filepath.Base(wheel)); n != 2 {
		t.Fatalf("4xx retried: %d attempts", n)
	}
	// Not a distribution at all.
	bad := filepath.Join(t.TempDir(), "demo_pkg-1.0-py3-none-any.whl")
	_ = os.WriteFile(bad, []byte("nope"), 0o644)
	if _, err := f.c.Upload(context.Background(), bobs, bad); codeOf(err) != CodeBadDistribution {
		t.Fatalf("bad dist: %v", err)
	}
}

func TestMessage(t *testing.T) {
	cases := []struct {
		status     int
		respStatus string
		body, want string
	}{
		{400, "400 File already exists ('a', with blake2_256 hash 'b').", "", "File already exists ('a', with blake2_256 hash 'b')."},
		{403, "403 Forbidden", "403 Forbidden\n\nAccess was denied to this resource.\n\nInvalid API Token: token is expired\n\n", "Invalid API Token: token is expired"},
		{400, "400 Bad Request", "", "Bad Request"},
	}
	for _, c := range cases {
		if got := Message(c.status, c.respStatus, c.body); got != c.want {
			t.Errorf("Message(%q) = %q want %q", c.respStatus, got, c.want)
		}
	}
	// Against the emulator with a plain reason phrase, the body still carries the text.
	f := setup(t, func(o *emu.Options) { o.PlainReason = true })
	wheel, _ := writeDists(t, pydisttest.Spec{Name: "demo-pkg", Version: "1.0"})
	_, err := f.c.Upload(context.Background(), "py"+"pi-AgEIcHlwaS5vcmc", wheel)
	if !strings.Contains(err.Error(), "Invalid or non-existent authentication information") {
		t.Fatal(err)
	}
}

// A pending publisher's project name PyPI refuses: the diagnosis names the
// rule and its fix, never a bug in the tool.
func TestMintTokenProjectNameRefused(t *testing.T) {
	secret.Reset()
	iss.SetIdentity(oidc.DefaultIdentity())
	f := setup(t, nil)
	_ = f.srv.AddPendingPublisher("os", emu.Publisher{Owner: "octo-org", Repo: "octo-repo", OwnerID: "65", Workflow: "release.yml"})
	jwt, _ := iss.Mint("pypi")
	_, _, err := f.c.MintToken(context.Background(), jwt)
	if codeOf(err) != CodeInvalidPayload || !strings.Contains(err.Error(), "rule pypi/name-stdlib") ||
		!strings.Contains(err.Error(), "The name 'os' isn't allowed (conflict with Python Standard Library module name).") {
		t.Fatalf("got %v", err)
	}
	if h := diag.HintOf(err); !strings.Contains(h, "choose another project name") || strings.Contains(h, "bug") {
		t.Fatalf("hint = %q", h)
	}
}
