package pypi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	"github.com/putitoutthere/putitoutthere/internal/macaroon"
	"github.com/putitoutthere/putitoutthere/internal/pydist"
	"github.com/putitoutthere/putitoutthere/internal/pydist/pydisttest"
)

type env struct {
	t   *testing.T
	srv *Server
	iss *oidc.Issuer
}

var (
	sharedOnce sync.Once
	sharedIss  *oidc.Issuer
)

// start runs an emulator trusting a shared issuer (RSA key generation is
// slow); its identity and clock are reset. Tests that override claims use
// startFresh.
func start(t *testing.T, mod func(*Options)) *env {
	t.Helper()
	sharedOnce.Do(func() {
		var err error
		if sharedIss, err = oidc.Start(); err != nil {
			panic(err)
		}
	})
	sharedIss.SetIdentity(oidc.DefaultIdentity())
	sharedIss.SetClock(time.Now)
	return startWith(t, sharedIss, mod)
}

func startFresh(t *testing.T, mod func(*Options)) *env {
	t.Helper()
	iss, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	return startWith(t, iss, mod)
}

func startWith(t *testing.T, iss *oidc.Issuer, mod func(*Options)) *env {
	t.Helper()
	o := Options{Verifier: iss}
	if mod != nil {
		mod(&o)
	}
	s, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &env{t: t, srv: s, iss: iss}
}

var defaultPublisher = Publisher{Owner: "octo-org", Repo: "octo-repo", OwnerID: "65", Workflow: "release.yml", Environment: "release"}

type resp struct {
	status int
	reason string // full status line after the code
	body   string
	header http.Header
}

func (e *env) do(method, path, ctype string, body []byte, hdr map[string]string) resp {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL()+path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	_, reason, _ := strings.Cut(r.Status, " ")
	return resp{status: r.StatusCode, reason: reason, body: string(b), header: r.Header}
}

func (e *env) mint(jwt string) resp {
	b, _ := json.Marshal(map[string]string{"token": jwt})
	return e.do("POST", "/_/oidc/mint-token", "application/json", b, nil)
}

func (e *env) idToken() string {
	e.t.Helper()
	tok, err := e.iss.Mint("pypi")
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// form builds an upload body the way twine does.
type form struct {
	fields [][2]string
	file   []byte
	fname  string
	ctype  string
	noFile bool
	asFile string // a metadata field sent as a file part
}

func distForm(filename string, data []byte) *form {
	d, err := pydist.ReadBytes(filename, data)
	if err != nil {
		panic(err)
	}
	f := &form{fname: filename, file: data, ctype: "application/octet-stream"}
	f.fields = append(f.fields, [2]string{":action", "file_upload"}, [2]string{"protocol_version", "1"})
	f.fields = append(f.fields, d.FormFields()...)
	f.fields = append(f.fields, [2]string{"sha256_digest", d.Digests.SHA256}, [2]string{"blake2_256_digest", d.Digests.Blake2256})
	return f
}

func (f *form) set(k, v string) *form {
	for i := range f.fields {
		if f.fields[i][0] == k {
			f.fields[i][1] = v
			return f
		}
	}
	f.fields = append(f.fields, [2]string{k, v})
	return f
}

func (f *form) del(k string) *form {
	out := f.fields[:0]
	for _, x := range f.fields {
		if x[0] != k {
			out = append(out, x)
		}
	}
	f.fields = out
	return f
}

func (f *form) encode() (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, kv := range f.fields {
		_ = mw.WriteField(kv[0], kv[1])
	}
	if f.asFile != "" {
		w, _ := mw.CreateFormFile(f.asFile, "x.txt")
		_, _ = w.Write([]byte("x"))
	}
	if !f.noFile {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="content"; filename="`+f.fname+`"`)
		if f.ctype != "" {
			h.Set("Content-Type", f.ctype)
		}
		w, _ := mw.CreatePart(h)
		_, _ = w.Write(f.file)
	}
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func basic(tok string) map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("__token__:"+tok))}
}

func (e *env) upload(f *form, auth map[string]string) resp {
	e.t.Helper()
	ct, body := f.encode()
	return e.do("POST", "/legacy/", ct, body, auth)
}

func TestAudience(t *testing.T) {
	e := start(t, nil)
	r := e.do("GET", "/_/oidc/audience", "", nil, nil)
	if r.status != 200 || r.body != `{"audience": "pypi"}` {
		t.Fatalf("%d %s", r.status, safe(r.body))
	}
	e2 := start(t, func(o *Options) { o.TrustedPublishingDisabled = true })
	r = e2.do("GET", "/_/oidc/audience", "", nil, nil)
	if r.status != 403 || r.body != `{"message": "Trusted publishing functionality not enabled"}` {
		t.Fatalf("%d %s", r.status, safe(r.body))
	}
}

func mintErr(code, desc string) string {
	return `{"message": "Token request failed", "errors": [{"code": ` + pyStr(code) + `, "description": ` + pyStr(desc) + `}]}`
}

func TestMintTokenSuccessAndReuse(t *testing.T) {
	e := start(t, nil)
	if err := e.srv.AddTrustedPublisher("demo-pkg", defaultPublisher); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.AddTrustedPublisher("other", defaultPublisher); err != nil {
		t.Fatal(err)
	}
	jwt := e.idToken()
	before := time.Now().Unix()
	r := e.mint(jwt)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, safe(r.body))
	}
	var ok struct {
		Success bool   `json:"success"`
		Token   string `json:"token"`
		Expires int64  `json:"expires"`
	}
	if err := json.Unmarshal([]byte(r.body), &ok); err != nil || !ok.Success || !strings.HasPrefix(ok.Token, "py"+"pi-") {
		t.Fatalf("body %s", safe(r.body))
	}
	if ok.Expires < before+900 || ok.Expires > time.Now().Unix()+900 {
		t.Fatalf("expires %d", ok.Expires)
	}
	rep, err := macaroon.Inspect(ok.Token, time.Now())
	if err != nil || rep.Kind != macaroon.KindTrustedPublishing || len(rep.ProjectIDs) != 2 || rep.ExpiresAt.Unix() != ok.Expires {
		t.Fatalf("minted token %+v %v", rep, err)
	}
	// The same JWT again: single use.
	r = e.mint(jwt)
	if r.status != 422 || r.body != mintErr("invalid-reuse-token", "invalid token: already used") {
		t.Fatalf("reuse: %d %s", r.status, safe(r.body))
	}
	// The legacy alias works.
	b, _ := json.Marshal(map[string]string{"token": e.idToken()})
	if r := e.do("POST", "/_/oidc/github/mint-token", "application/json", b, nil); r.status != 200 {
		t.Fatalf("alias: %d %s", r.status, safe(r.body))
	}
	if n := len(e.srv.MintedTokens()); n != 2 {
		t.Fatalf("minted %d", n)
	}
}

func TestMintTokenRefusals(t *testing.T) {
	base := oidc.DefaultIdentity()
	cases := []struct {
		name  string
		opts  func(*Options)
		setup func(*env)
		body  func(*env) string
		code  string
		desc  string
	}{
		{name: "not json", body: func(*env) string { return "nope" }, code: "invalid-payload", desc: "1 validation error for TokenPayload"},
		{name: "missing token", body: func(*env) string { return `{}` }, code: "invalid-payload", desc: "Field required"},
		{name: "token not string", body: func(*env) string { return `{"token": 5}` }, code: "invalid-payload", desc: "Input should be a valid string"},
		{name: "malformed jwt", body: func(*env) string { return `{"token": "abc"}` }, code: "invalid-payload", desc: "malformed JWT"},
		{name: "unknown issuer", body: func(*env) string { return `{"token": "` + unsignedJWT(`{"iss":"https://evil.example"}`) + `"}` }, code: "invalid-payload", desc: "unknown trusted publishing issuer"},
		{name: "no iss", body: func(*env) string { return `{"token": "` + unsignedJWT(`{"sub":"x"}`) + `"}` }, code: "invalid-payload", desc: "malformed JWT"},
		{name: "disabled", opts: func(o *Options) { o.GitHubDisabled = true }, code: "not-enabled", desc: "github trusted publishing functionality not enabled"},
		{name: "bad signature", body: func(*env) string {
			return `{"token": "` + unsignedJWT(`{"iss":"https://token.actions.githubusercontent.com","aud":"pypi"}`) + `"}`
		}, code: "invalid-token", desc: "malformed or invalid token"},
		{name: "wrong audience", body: func(e *env) string { tok, _ := e.iss.Mint("crates.io"); return `{"token": "` + tok + `"}` }, code: "invalid-token", desc: "malformed or invalid token"},
		{name: "expired", body: func(e *env) string {
			e.iss.SetClock(func() time.Time { return time.Now().Add(-time.Hour) })
			tok := e.idToken()
			e.iss.SetClock(time.Now)
			return `{"token": "` + tok + `"}`
		}, code: "invalid-token", desc: "malformed or invalid token"},
		{name: "no publisher", setup: func(e *env) {}, code: "invalid-publisher", desc: "valid token, but no corresponding publisher (Publisher with matching claims was not found)"},
		{name: "renamed workflow", setup: func(e *env) {
			id := base
			id.WorkflowFile = "patch-release.yml"
			e.iss.SetIdentity(id)
		}, code: "invalid-publisher", desc: "valid token, but no corresponding publisher (Publisher with matching claims was not found)"},
		{name: "owner id changed", setup: func(e *env) {
			id := base
			id.RepositoryOwnerID = "66"
			e.iss.SetIdentity(id)
		}, code: "invalid-publisher", desc: "valid token, but no corresponding publisher (Publisher with matching claims was not found)"},
		{name: "wrong environment", setup: func(e *env) {
			id := base
			id.Environment = "staging"
			e.iss.SetIdentity(id)
		}, code: "invalid-publisher", desc: "valid token, but no corresponding publisher (Publisher with matching claims was not found)"},
		{name: "missing claim", setup: func(e *env) { e.iss.SetClaim("event_name", nil) }, code: "invalid-publisher", desc: "valid token, but no corresponding publisher (Missing claim 'event_name')"},
		{name: "no workflow filename", setup: func(e *env) { e.iss.SetClaim("job_workflow_ref", "octo-org/octo-repo/.github/workflows/release") }, code: "invalid-publisher", desc: "valid token, but no corresponding publisher (Could not job extract workflow filename from OIDC claims)"},
		{name: "pull_request_target", setup: func(e *env) {
			id := base
			id.EventName = "pull_request_target"
			e.iss.SetIdentity(id)
		}, code: "invalid-publisher", desc: "valid token, but no corresponding publisher (Publishing from a workflow invoked via 'pull_request_target' is not supported.)"},
		{name: "cross-repo reusable", setup: func(e *env) {
			_ = e.srv.AddTrustedPublisher("demo", Publisher{Owner: "octo-org", Repo: "octo-repo", OwnerID: "65", Workflow: "shared.yml"})
			id := base
			id.JobWorkflowRepo = "octo-org/tools"
			id.JobWorkflowFile = "shared.yml"
			id.JobWorkflowRef = "refs/heads/main"
			e.iss.SetIdentity(id)
		}, code: "invalid-publisher", desc: "valid token, but no corresponding publisher (The job_workflow_ref claim does not match, expecting one of ['octo-org/octo-repo/.github/workflows/shared.yml@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'octo-org/octo-repo/.github/workflows/shared.yml@refs/heads/main'], got 'octo-org/tools/.github/workflows/shared.yml@refs/heads/main')"},
		{name: "repository case differs in lookup", setup: func(e *env) {
			id := base
			id.Repository = "Octo-Org/octo-repo"
			e.iss.SetIdentity(id)
		}, code: "invalid-publisher", desc: "valid token, but no corresponding publisher (Publisher with matching claims was not found)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := start
			if strings.Contains(c.name, "claim") || c.name == "no workflow filename" {
				st = startFresh
			}
			e := st(t, c.opts)
			if c.setup == nil {
				_ = e.srv.AddTrustedPublisher("demo", defaultPublisher)
			}
			if c.setup != nil {
				if c.name != "no publisher" {
					_ = e.srv.AddTrustedPublisher("demo", defaultPublisher)
				}
				c.setup(e)
			}
			var body string
			if c.body != nil {
				body = c.body(e)
			} else {
				body = `{"token": "` + e.idToken() + `"}`
			}
			r := e.do("POST", "/_/oidc/mint-token", "application/json", []byte(body), nil)
			if r.status != 422 {
				t.Fatalf("status %d %s", r.status, safe(r.body))
			}
			var doc struct {
				Message string `json:"message"`
				Errors  []struct{ Code, Description string }
			}
			if err := json.Unmarshal([]byte(r.body), &doc); err != nil || doc.Message != "Token request failed" || len(doc.Errors) != 1 {
				t.Fatalf("body %s", safe(r.body))
			}
			if doc.Errors[0].Code != c.code || !strings.Contains(doc.Errors[0].Description, c.desc) {
				t.Fatalf("got %s / %q\nwant %s / %q", doc.Errors[0].Code, doc.Errors[0].Description, c.code, c.desc)
			}
			if strings.HasPrefix(c.desc, "valid token") && r.body != mintErr(c.code, c.desc) {
				t.Fatalf("body not byte-exact: %s", safe(r.body))
			}
		})
	}
}

func unsignedJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT","kid":"x"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte("sig"))
}

func TestEnvironmentPreference(t *testing.T) {
	e := startFresh(t, nil)
	general := defaultPublisher
	general.Environment = ""
	_ = e.srv.AddTrustedPublisher("general-only", general)
	_ = e.srv.AddTrustedPublisher("specific", defaultPublisher)
	r := e.mint(e.idToken())
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, safe(r.body))
	}
	var ok struct{ Token string }
	_ = json.Unmarshal([]byte(r.body), &ok)
	rep, _ := macaroon.Inspect(ok.Token, time.Now())
	p, _ := e.srv.Project("specific")
	if len(rep.ProjectIDs) != 1 || rep.ProjectIDs[0] != p.ID {
		t.Fatalf("specific publisher not preferred: %+v", rep.ProjectIDs)
	}
	// Without an environment claim only the general publisher matches.
	e.iss.SetClaim("environment", nil)
	r = e.mint(e.idToken())
	_ = json.Unmarshal([]byte(r.body), &ok)
	rep, _ = macaroon.Inspect(ok.Token, time.Now())
	g, _ := e.srv.Project("general-only")
	if r.status != 200 || rep.ProjectIDs[0] != g.ID {
		t.Fatalf("general publisher: %d %s", r.status, safe(r.body))
	}
}

func TestPendingPublisher(t *testing.T) {
	e := start(t, nil)
	if err := e.srv.AddPendingPublisher("Brand_New", defaultPublisher); err != nil {
		t.Fatal(err)
	}
	r := e.mint(e.idToken())
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, safe(r.body))
	}
	if _, ok := e.srv.Project("brand-new"); !ok {
		t.Fatal("pending publisher did not create the project")
	}
	var tok struct{ Token string }
	_ = json.Unmarshal([]byte(r.body), &tok)
	wn, wb := pydisttest.Wheel(pydisttest.Spec{Name: "Brand_New", Version: "0.1.0"})
	if up := e.upload(distForm(wn, wb), basic(tok.Token)); up.status != 200 {
		t.Fatalf("upload: %d %s", up.status, up.reason)
	}
	// A pending publisher for a project that now exists is refused.
	e2 := start(t, nil)
	_ = e2.srv.CreateProject("taken", "someone")
	_ = e2.srv.AddPendingPublisher("taken", defaultPublisher)
	r = e2.mint(e2.idToken())
	if r.status != 422 || r.body != mintErr("invalid-pending-publisher", "valid token, but project already exists") {
		t.Fatalf("%d %s", r.status, safe(r.body))
	}
}

func (f *form) get(k string) string {
	for _, x := range f.fields {
		if x[0] == k {
			return x[1]
		}
	}
	return ""
}

var tokenRe = regexp.MustCompile(`py` + `pi-[A-Za-z0-9_=-]+`)

// safe keeps minted tokens out of test output.
func safe(s string) string { return tokenRe.ReplaceAllString(s, "py"+"pi-***") }

// A pending publisher whose project PyPI would not create: create_project's
// refusal comes back from mint-token as 422 invalid-payload
// (warehouse/oidc/views.py), and no project is created.
func TestPendingPublisherNameRefused(t *testing.T) {
	for _, c := range []struct{ name, existing, prohibited, desc string }{
		{"os", "", "", "The name 'os' isn't allowed (conflict with Python Standard Library module name). See https://pypi.org/help/#project-name for more information."},
		{"asyncio", "", "", "The name 'asyncio' isn't allowed (conflict with Python Standard Library module name). See https://pypi.org/help/#project-name for more information."},
		{"req-uests", "requests", "", "The name 'req-uests' is too similar to an existing project. See https://pypi.org/help/#project-name for more information."},
		{"Dj4ngo0", "", "dj4ngo0", "The name 'Dj4ngo0' isn't allowed. See https://pypi.org/help/#project-name for more information."},
	} {
		e := start(t, func(o *Options) {
			if c.prohibited != "" {
				o.ProhibitedNames = []string{c.prohibited}
			}
		})
		if c.existing != "" {
			_ = e.srv.CreateProject(c.existing, "someone")
		}
		if err := e.srv.AddPendingPublisher(c.name, defaultPublisher); err != nil {
			t.Fatal(err)
		}
		r := e.mint(e.idToken())
		if r.status != 422 || r.body != mintErr("invalid-payload", c.desc) {
			t.Errorf("%s: %d %s", c.name, r.status, safe(r.body))
		}
		if _, ok := e.srv.Project(c.name); ok {
			t.Errorf("%s: the project was created", c.name)
		}
	}
}
