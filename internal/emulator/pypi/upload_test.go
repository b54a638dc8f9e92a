package pypi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/macaroon"
	"github.com/putitoutthere/putitoutthere/internal/pydist"
	"github.com/putitoutthere/putitoutthere/internal/pydist/pydisttest"
)

func (e *env) tpToken() string {
	e.t.Helper()
	r := e.mint(e.idToken())
	if r.status != 200 {
		e.t.Fatalf("mint: %d %s", r.status, safe(r.body))
	}
	var ok struct{ Token string }
	_ = json.Unmarshal([]byte(r.body), &ok)
	return ok.Token
}

var spec = pydisttest.Spec{Name: "Demo.Pkg", Version: "1.0.0"}

func TestUploadHappyPathAndIdempotency(t *testing.T) {
	e := start(t, nil)
	_ = e.srv.AddTrustedPublisher("demo-pkg", defaultPublisher)
	tok := e.tpToken()
	wn, wb := pydisttest.Wheel(spec)
	sn, sb := pydisttest.Sdist(spec)
	for _, f := range []*form{distForm(wn, wb), distForm(sn, sb)} {
		if r := e.upload(f, basic(tok)); r.status != 200 || r.body != "" {
			t.Fatalf("upload %s: %d %q %q", f.fname, r.status, r.reason, safe(r.body))
		}
	}
	if got := e.srv.Files("demo-pkg", "1.0"); len(got) != 2 {
		t.Fatalf("files %v", got)
	}
	// Identical bytes again: 200, nothing stored.
	if r := e.upload(distForm(wn, wb), basic(tok)); r.status != 200 {
		t.Fatalf("identical re-upload: %d %s", r.status, r.reason)
	}
	if got := e.srv.Files("demo-pkg", "1.0.0"); len(got) != 2 || e.srv.UploadAttempts(wn) != 2 {
		t.Fatalf("files %v attempts %d", got, e.srv.UploadAttempts(wn))
	}
	// Different bytes under the same filename: 400 "File already exists".
	salted := spec
	salted.Salt = "x"
	_, wb2 := pydisttest.Wheel(salted)
	r := e.upload(distForm(wn, wb2), basic(tok))
	want := MsgFileExists(wn, distForm(wn, wb2).get("blake2_256_digest"))
	if r.status != 400 || r.reason != want || !strings.Contains(r.body, want) {
		t.Fatalf("conflict: %d %q\n%s", r.status, r.reason, safe(r.body))
	}
	// The JSON API lists both files.
	j := e.do("GET", "/pypi/demo-pkg/1.0.0/json", "", nil, nil)
	var doc struct {
		Info struct{ Name, Version string }
		URLs []struct {
			Filename string
			Digests  map[string]string
			URL      string
		}
		LastSerial int `json:"last_serial"`
	}
	if err := json.Unmarshal([]byte(j.body), &doc); err != nil || j.status != 200 || len(doc.URLs) != 2 || doc.Info.Name != "Demo.Pkg" {
		t.Fatalf("json: %d %s", j.status, j.body)
	}
	if j.header.Get("X-PyPI-Last-Serial") == "" {
		t.Fatal("no X-PyPI-Last-Serial")
	}
	// The file is downloadable at its URL.
	fr, err := http.Get(doc.URLs[0].URL)
	if err != nil || fr.StatusCode != 200 {
		t.Fatalf("download: %v", err)
	}
	fr.Body.Close()
}

func TestUploadErrors(t *testing.T) {
	wn, wb := pydisttest.Wheel(spec)
	sn, sb := pydisttest.Sdist(spec)
	type tc struct {
		name   string
		opts   func(*Options)
		form   func() *form
		auth   func(e *env) map[string]string
		status int
		msg    string
	}
	tp := func(e *env) map[string]string { return basic(e.tpToken()) }
	cases := []tc{
		{name: "read only", opts: func(o *Options) { o.ReadOnly = true }, status: 403, msg: msgReadOnly},
		{name: "no auth", auth: func(*env) map[string]string { return nil }, status: 403, msg: msgInvalidAuth},
		{name: "password auth", auth: func(*env) map[string]string {
			return map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}
		}, status: 403, msg: msgBasicAuth},
		{name: "garbage token", auth: func(*env) map[string]string { return basic("py" + "pi-AgEIcHlwaS5vcmc") }, status: 403, msg: msgInvalidAuth},
		{name: "unknown token", auth: func(*env) map[string]string {
			return basic(macaroon.New("pypi.org", []byte("2b0e5a6e-1111-4222-8333-444455556666"), []byte("k")).Token())
		}, status: 403, msg: msgInvalidAuth},
		{name: "protocol version", form: func() *form { return distForm(wn, wb).set("protocol_version", "2") }, status: 400, msg: msgProtocol},
		{name: "tuple", form: func() *form { f := distForm(wn, wb); f.asFile = "summary"; return f }, status: 400, msg: "summary: Should not be a tuple."},
		{name: "repeated field uses the last value", form: func() *form {
			f := distForm(wn, wb)
			f.fields = append(f.fields, [2]string{"protocol_version", "3"})
			return f
		}, status: 400, msg: msgProtocol},
		{name: "bad name", form: func() *form { return distForm(wn, wb).set("name", "-bad") }, status: 400,
			msg: "'-bad' is an invalid value for Name. Error: Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'. See https://packaging.python.org/specifications/core-metadata for more information."},
		{name: "bad filetype", form: func() *form { return distForm(wn, wb).set("filetype", "bdist_egg") }, status: 400, msg: "Invalid value for filetype. Error: Use a known file type."},
		{name: "no digest", form: func() *form { return distForm(wn, wb).del("sha256_digest").del("blake2_256_digest") }, status: 400, msg: "Error: Include at least one message digest."},
		{name: "sdist pyversion", form: func() *form { return distForm(sn, sb).set("pyversion", "py3") }, status: 400, msg: "Invalid value for pyversion. Error: Use 'source' as Python version for an sdist."},
		{name: "non-hex sha256", form: func() *form { return distForm(wn, wb).set("sha256_digest", "zz") }, status: 400, msg: "Invalid value for sha256_digest. Error: Use a valid, hex-encoded, SHA256 message digest."},
		{name: "bad metadata version", form: func() *form { return distForm(wn, wb).set("metadata_version", "9.9") }, status: 400,
			msg: "'9.9' is not a valid metadata version. See https://packaging.python.org/specifications/core-metadata for more information."},
		{name: "no file", form: func() *form { f := distForm(wn, wb); f.noFile = true; return f }, status: 400, msg: msgNoFile},
		{name: "image content type", form: func() *form { f := distForm(wn, wb); f.ctype = "image/png"; return f }, status: 400, msg: msgInvalidDist},
		{name: "digest mismatch", form: func() *form { return distForm(wn, wb).set("sha256_digest", strings.Repeat("ab", 32)) }, status: 400, msg: msgDigest},
		{name: "other project", form: func() *form {
			n, b := pydisttest.Wheel(pydisttest.Spec{Name: "other", Version: "1.0"})
			return distForm(n, b)
		}, status: 400, msg: msgNonUser},
		{name: "sdist prefix", form: func() *form { f := distForm(sn, sb); f.fname = "Demo.Pkg-1.0.0.tar.gz"; return f }, status: 400,
			msg: "Start filename for 'demo-pkg' with 'demo_pkg'."},
		{name: "sdist version form", form: func() *form {
			s2 := pydisttest.Spec{Name: "demo-pkg", Version: "1.0.0rc1"}
			_, b := pydisttest.Sdist(s2)
			f := distForm("demo_pkg-1.0.0rc1.tar.gz", b)
			f.fname = "demo_pkg-1.0.0-rc1.tar.gz"
			return f
		}, status: 400, msg: "Filename 'demo_pkg-1.0.0-rc1.tar.gz' is invalid, should be 'demo_pkg-1.0.0rc1.tar.gz'."},
		{name: "bad platform", form: func() *form {
			n, b := pydisttest.Wheel(pydisttest.Spec{Name: "demo-pkg", Version: "1.0.0", Python: "cp312", ABI: "cp312", Platform: "linux_x86_64"})
			return distForm(n, b)
		}, status: 400, msg: "Binary wheel 'demo_pkg-1.0.0-cp312-cp312-linux_x86_64.whl' has an unsupported platform tag 'linux_x86_64'."},
		{name: "not a zip", form: func() *form {
			f := distForm(wn, wb)
			f.file = []byte("not a zip")
			d := pydistDigests(f.file)
			return f.set("sha256_digest", d.SHA256).set("blake2_256_digest", d.Blake2256)
		}, status: 400, msg: msgInvalidDist + " "},
		{name: "bad extension", form: func() *form { f := distForm(wn, wb); f.fname = "demo_pkg-1.0.0.exe"; return f }, status: 400, msg: msgExtension},
		{name: "slash in name", form: func() *form { f := distForm(wn, wb); f.fname = `a\b.whl`; return f }, status: 400, msg: msgSeparator},
		{name: "attestations with user token", auth: func(e *env) map[string]string {
			tok, _ := e.srv.APIToken("alice")
			return basic(tok)
		}, form: func() *form { return distForm(wn, wb).set("attestations", "[]") }, status: 400, msg: "Invalid attestations supplied during upload: Attestations are only supported when using Trusted Publishing"},
		{name: "empty attestations", form: func() *form { return distForm(wn, wb).set("attestations", "[]") }, status: 400, msg: "Invalid attestations supplied during upload: Malformed attestations: an empty attestation set is not permitted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := start(t, c.opts)
			_ = e.srv.AddTrustedPublisher("demo-pkg", defaultPublisher)
			_ = e.srv.CreateProject("demo-pkg", "alice")
			auth := tp
			if c.auth != nil {
				auth = c.auth
			}
			f := distForm(wn, wb)
			if c.form != nil {
				f = c.form()
			}
			r := e.upload(f, auth(e))
			if r.status != c.status || !strings.HasPrefix(r.reason, c.msg) || !strings.Contains(r.body, c.msg) {
				t.Fatalf("got %d %q\nwant %d %q\nbody %q", r.status, r.reason, c.status, c.msg, safe(r.body))
			}
		})
	}
}

func TestUploadTokenScopes(t *testing.T) {
	e := start(t, nil)
	_ = e.srv.CreateProject("demo-pkg", "alice")
	_ = e.srv.CreateProject("elsewhere", "bob")
	wn, wb := pydisttest.Wheel(spec)
	userWide, _ := e.srv.APIToken("alice")
	scopedOther, _ := e.srv.APIToken("alice", "elsewhere")
	bobs, _ := e.srv.APIToken("bob")
	expired := e.srv.APITokenWithCaveats("alice", macaroon.Expiration(time.Now().Unix()-10, time.Now().Unix()-100))
	cases := []struct {
		name, tok string
		auth      map[string]string
		status    int
		msg       string
	}{
		{"scoped elsewhere", scopedOther, nil, 403, "Invalid API Token: project-scoped token is not valid for project: 'demo-pkg'"},
		{"expired", expired, nil, 403, "Invalid API Token: token is expired"},
		{"no role", bobs, nil, 403, "The user 'bob' isn't allowed to upload to project 'demo-pkg'. See https://pypi.org/help/#project-name for more information."},
		{"bearer", "", map[string]string{"Authorization": "Bearer " + userWide}, 200, ""},
	}
	for _, c := range cases {
		auth := c.auth
		if auth == nil {
			auth = basic(c.tok)
		}
		r := e.upload(distForm(wn, wb), auth)
		if r.status != c.status || r.reason != c.msg && c.status != 200 {
			t.Errorf("%s: %d %q want %d %q", c.name, r.status, r.reason, c.status, c.msg)
		}
	}
	// A user-wide token creates a new project, owned by its user.
	n, b := pydisttest.Sdist(pydisttest.Spec{Name: "fresh", Version: "0.1"})
	if r := e.upload(distForm(n, b), map[string]string{"Authorization": "token " + userWide}); r.status != 200 {
		t.Fatalf("new project: %d %q", r.status, r.reason)
	}
	if p, ok := e.srv.Project("fresh"); !ok || p.Owners[0] != "alice" {
		t.Fatalf("fresh: %+v", p)
	}
	// A revoked token is unknown.
	e.srv.RevokeToken(userWide)
	if r := e.upload(distForm(n, b), basic(userWide)); r.status != 403 || r.reason != msgInvalidAuth {
		t.Fatalf("revoked: %d %q", r.status, r.reason)
	}
	// A trusted-publishing token whose project was detached.
	_ = e.srv.AddTrustedPublisher("demo-pkg", defaultPublisher)
	tok := e.tpToken()
	e.srv.RemoveTrustedPublisher("demo-pkg", defaultPublisher)
	if r := e.upload(distForm(wn, wb), basic(tok)); r.status != 403 || r.reason != "Invalid API Token: OIDC scoped token is not valid for project 'Demo.Pkg'" {
		t.Fatalf("detached: %d %q", r.status, r.reason)
	}
}

func TestOneSdistAndDeletedFilename(t *testing.T) {
	e := start(t, nil)
	_ = e.srv.CreateProject("demo-pkg", "alice")
	tok, _ := e.srv.APIToken("alice")
	sn, sb := pydisttest.Sdist(spec)
	if r := e.upload(distForm(sn, sb), basic(tok)); r.status != 200 {
		t.Fatalf("%d %q", r.status, r.reason)
	}
	// A second sdist for the same release (1.0 == 1.0.0), under another name.
	s2 := pydisttest.Spec{Name: "demo-pkg", Version: "1.0"}
	n2, b2 := pydisttest.Sdist(s2)
	if r := e.upload(distForm(n2, b2), basic(tok)); r.status != 400 || r.reason != msgOneSdist {
		t.Fatalf("second sdist: %d %q", r.status, r.reason)
	}
	e.srv.DeleteFile("demo-pkg", sn)
	salted := spec
	salted.Salt = "new"
	_, sb3 := pydisttest.Sdist(salted)
	if r := e.upload(distForm(sn, sb3), basic(tok)); r.status != 400 || r.reason != msgDeletedName {
		t.Fatalf("deleted name: %d %q", r.status, r.reason)
	}
}

func TestMissingSlashAndJSONAPI(t *testing.T) {
	e := start(t, nil)
	r := e.do("POST", "/legacy", "", nil, nil)
	if r.status != 308 || r.header.Get("Location") != "/legacy/" || !strings.Contains(r.body, "/legacy/ (with a trailing slash)") {
		t.Fatalf("no slash: %d %q %v", r.status, r.reason, r.header)
	}
	for _, p := range []string{"/pypi/nope/json", "/pypi/nope/1.0/json"} {
		if r := e.do("GET", p, "", nil, nil); r.status != 404 || r.body != `{"message": "Not Found"}` {
			t.Fatalf("%s: %d %s", p, r.status, safe(r.body))
		}
	}
	_ = e.srv.CreateProject("demo-pkg", "alice")
	tok, _ := e.srv.APIToken("alice")
	wn, wb := pydisttest.Wheel(spec)
	if r := e.upload(distForm(wn, wb), basic(tok)); r.status != 200 {
		t.Fatal(r.reason)
	}
	r = e.do("GET", "/pypi/Demo_Pkg/1.0/json", "", nil, nil)
	if r.status != 301 || r.header.Get("Location") != "/pypi/demo-pkg/1.0/json" {
		t.Fatalf("redirect: %d %v", r.status, r.header)
	}
	r = e.do("GET", "/pypi/demo-pkg/json/", "", nil, nil)
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, safe(r.body))
	}
	for _, k := range []string{"info", "urls", "vulnerabilities", "last_serial", "ownership", "releases"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("missing key %s", k)
		}
	}
	if r := e.do("GET", "/pypi/demo-pkg/2.0/json", "", nil, nil); r.status != 404 {
		t.Fatalf("unknown version: %d", r.status)
	}
	if r := e.do("GET", "/pypi/demo-pkg/1/json", "", nil, nil); r.status != 200 {
		t.Fatalf("canonical version match: %d", r.status)
	}
}

func TestPlainReasonFallback(t *testing.T) {
	e := start(t, func(o *Options) { o.PlainReason = true })
	r := e.upload(distForm(pydisttest.Wheel(spec)), nil)
	if r.status != 403 || r.reason != "Forbidden" || !strings.Contains(r.body, msgInvalidAuth) {
		t.Fatalf("%d %q %q", r.status, r.reason, safe(r.body))
	}
}

func pydistDigests(b []byte) pydist.Digests { return pydist.Digest(b) }

func TestOldReleaseAndLimits(t *testing.T) {
	now := time.Now()
	e := start(t, func(o *Options) { o.Now = func() time.Time { return now }; o.MaxFileSize = 1 << 20 })
	_ = e.srv.CreateProject("demo-pkg", "alice")
	tok, _ := e.srv.APIToken("alice")
	wn, wb := pydisttest.Wheel(spec)
	if r := e.upload(distForm(wn, wb), basic(tok)); r.status != 200 {
		t.Fatal(r.reason)
	}
	now = now.Add(15 * 24 * time.Hour)
	sn, sb := pydisttest.Sdist(spec)
	if r := e.upload(distForm(sn, sb), basic(tok)); r.status != 400 || r.reason != msgOldRelease {
		t.Fatalf("old release: %d %q", r.status, r.reason)
	}
	big := distForm(sn, sb)
	big.file = make([]byte, 2<<20)
	if r := e.upload(big, basic(tok)); r.status != 400 || !strings.HasPrefix(r.reason, "File too large. Limit for project 'Demo.Pkg' is 1 MB.") {
		t.Fatalf("too large: %d %q", r.status, r.reason)
	}
	e3 := start(t, func(o *Options) { o.NewProjectLimit = 1 })
	tok3, _ := e3.srv.APIToken("carol")
	for i, name := range []string{"first", "second"} {
		n, b := pydisttest.Sdist(pydisttest.Spec{Name: name, Version: "1"})
		r := e3.upload(distForm(n, b), basic(tok3))
		if want := []int{200, 429}[i]; r.status != want || (i == 1 && r.reason != "Too many new projects created") {
			t.Fatalf("%s: %d %q", name, r.status, r.reason)
		}
	}
	e2 := start(t, func(o *Options) { o.UploadsDisabled = true })
	if r := e2.upload(distForm(wn, wb), nil); r.status != 403 || r.reason != msgUploadsDisabled {
		t.Fatalf("disabled: %d %q", r.status, r.reason)
	}
}
