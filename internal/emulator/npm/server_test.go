package npm_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
)

type resp struct {
	status int
	header http.Header
	body   string
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body is not a JSON object: %q", r.body)
	}
	return m
}

func call(t *testing.T, srv *npmemu.Server, method, path, token string, body []byte, hdr map[string]string) resp {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, strings.TrimSuffix(srv.URL(), "/")+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, string(b)}
}

type pub struct {
	name, version string
	access        any // nil → JSON null, as npm sends by default
	tag           string
	repository    string
	mutate        func(doc map[string]any) // last-minute edits to the body
	bundle        string                   // .sigstore attachment data
	bundleType    string
}

// body builds the PUT document libnpmpublish sends.
func (p pub) body(t *testing.T) []byte {
	t.Helper()
	m := map[string]any{"name": p.name, "version": p.version}
	if p.repository != "" {
		m["repository"] = map[string]any{"type": "git", "url": p.repository}
	}
	pj, _ := json.Marshal(m)
	tgz, err := npmemu.BuildTarball(pj, map[string][]byte{"index.js": []byte("module.exports = 1\n")})
	if err != nil {
		t.Fatal(err)
	}
	m["_id"] = p.name + "@" + p.version
	m["dist"] = map[string]any{"integrity": npmemu.Integrity(tgz), "shasum": npmemu.Shasum(tgz), "tarball": "http://whatever/" + p.name + "/-/" + p.name + "-" + p.version + ".tgz"}
	tag := p.tag
	if tag == "" {
		tag = "latest"
	}
	att := map[string]any{p.name + "-" + p.version + ".tgz": map[string]any{"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz)}}
	if p.bundle != "" {
		ct := p.bundleType
		if ct == "" {
			ct = "application/vnd.dev.sigstore.bundle.v0.3+json"
		}
		att[p.name+"-"+p.version+".sigstore"] = map[string]any{"content_type": ct, "data": p.bundle, "length": len(p.bundle)}
	}
	doc := map[string]any{
		"_id": p.name, "name": p.name, "dist-tags": map[string]string{tag: p.version},
		"versions": map[string]any{p.version: m}, "access": p.access, "_attachments": att,
	}
	if p.mutate != nil {
		p.mutate(doc)
	}
	b, _ := json.Marshal(doc)
	return b
}

func escaped(name string) string { return "/" + strings.Replace(name, "/", "%2f", 1) }

// bundleFor makes a sigstore-bundle-shaped document whose in-toto statement
// names repo (empty: no statement).
func bundleFor(repo string) string {
	b := map[string]any{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": map[string]any{}}
	if repo != "" {
		st, _ := json.Marshal(map[string]any{
			"_type":         "https://in-toto.io/Statement/v1",
			"predicateType": "https://slsa.dev/provenance/v1",
			"predicate":     map[string]any{"buildDefinition": map[string]any{"externalParameters": map[string]any{"workflow": map[string]any{"repository": repo, "path": ".github/workflows/release.yml"}}}},
		})
		b["dsseEnvelope"] = map[string]any{"payloadType": "application/vnd.in-toto+json", "payload": base64.StdEncoding.EncodeToString(st), "signatures": []any{}}
	}
	out, _ := json.Marshal(b)
	return string(out)
}

func TestPublishAnswers(t *testing.T) {
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	iss, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	iss.SetClock(clock)
	srv := startNPM(t, npmemu.Options{Verifier: iss, Now: clock})

	alice, bob, revoked, readonly, scopedTok := npmemu.NewToken(), npmemu.NewToken(), npmemu.NewToken(), npmemu.NewToken(), npmemu.NewToken()
	srv.AddUser("alice", alice)
	srv.AddUser("bob", bob)
	srv.AddGranularToken(revoked, "alice", nil, "")
	srv.RevokeToken(revoked)
	srv.AddGranularToken(readonly, "alice", nil, npmemu.PermReadOnly)
	srv.AddGranularToken(scopedTok, "alice", []string{"only-this"}, npmemu.PermReadWrite)
	otpUser := npmemu.NewToken()
	srv.AddUser("carol", otpUser)
	srv.SetOTP("carol", "123456")
	_ = srv.CreatePackageVersion("left-pad", "bob", "1.0.0")
	_ = srv.CreatePackage("tp-pkg", "alice")
	_ = srv.AddTrustedPublisher("tp-pkg", npmemu.TrustedPublisher{Owner: "octo-org", Repo: "octo-repo", Workflow: "release.yml"})
	_ = srv.CreatePackage("tp-other", "alice")
	_ = srv.AddTrustedPublisher("tp-other", npmemu.TrustedPublisher{Owner: "octo-org", Repo: "octo-repo", Workflow: "release.yml"})
	exchange := func(name string) string {
		jwt, _ := iss.Mint(srv.Audience())
		r := call(t, srv, "POST", "/-/npm/v1/oidc/token/exchange/package/"+strings.TrimPrefix(escaped(name), "/"), jwt, nil, nil)
		if r.status != 201 {
			t.Fatalf("exchange for %s: %d %s", name, r.status, r.body)
		}
		return r.json(t)["token"].(string)
	}
	tpTok := exchange("tp-pkg")

	tests := []struct {
		name   string
		token  string
		pub    pub
		hdr    map[string]string
		status int
		error  string // exact `error` text
	}{
		{"first publish", alice, pub{name: "fresh", version: "1.0.0"}, nil, 200, ""},
		{"publish over", alice, pub{name: "fresh", version: "1.0.0"}, nil, 403, "You cannot publish over the previously published versions: 1.0.0."},
		{"no token", "", pub{name: "fresh2", version: "1.0.0"}, nil, 404, "Not found"},
		{"unknown token", "npm_000000000000000000000000000000000000", pub{name: "fresh2", version: "1.0.0"}, nil, 404, "Not found"},
		{"revoked token", revoked, pub{name: "fresh2", version: "1.0.0"}, nil, 404, "Not found"},
		{"read-only token", readonly, pub{name: "fresh2", version: "1.0.0"}, nil, 404, "Not found"},
		{"token scoped to another package", scopedTok, pub{name: "fresh2", version: "1.0.0"}, nil, 404, "Not found"},
		{"not a maintainer", alice, pub{name: "left-pad", version: "2.0.0"}, nil, 403, `You do not have permission to publish "left-pad". Are you logged in as the correct user?`},
		{"too similar", alice, pub{name: "Left_Pad", version: "1.0.0"}, nil, 403, "Package name too similar to existing package left-pad; try renaming your package to '@alice/Left_Pad' instead."},
		{"scoped names are exempt from too similar", alice, pub{name: "@alice/left-pad", version: "1.0.0", access: "public"}, nil, 200, ""},
		{"scoped default access", alice, pub{name: "@alice/private", version: "1.0.0"}, nil, 402, "You must sign up for private packages"},
		{"scoped restricted", alice, pub{name: "@alice/private", version: "1.0.0", access: "restricted"}, nil, 402, "You must sign up for private packages"},
		{"scoped public", alice, pub{name: "@alice/private", version: "1.0.0", access: "public"}, nil, 200, ""},
		{"integrity mismatch", alice, pub{name: "bad1", version: "1.0.0", mutate: func(d map[string]any) {
			d["versions"].(map[string]any)["1.0.0"].(map[string]any)["dist"].(map[string]any)["integrity"] = "sha512-AAAA"
		}}, nil, 400, "Integrity check failed: dist.integrity does not match the sha512 of the attached tarball"},
		{"attachment not base64", alice, pub{name: "bad2", version: "1.0.0", mutate: func(d map[string]any) {
			d["_attachments"].(map[string]any)["bad2-1.0.0.tgz"].(map[string]any)["data"] = "%%%"
		}}, nil, 400, "Attachment bad2-1.0.0.tgz is not valid base64"},
		{"missing attachment", alice, pub{name: "bad3", version: "1.0.0", mutate: func(d map[string]any) { d["_attachments"] = map[string]any{} }}, nil, 400, "Missing tarball attachment bad3-1.0.0.tgz"},
		{"invalid version", alice, pub{name: "bad4", version: "1.0"}, nil, 400, "Invalid version: 1.0"},
		{"OTP missing", otpUser, pub{name: "carols", version: "1.0.0"}, nil, 401, "This operation requires a one-time password from your authenticator."},
		{"OTP given", otpUser, pub{name: "carols", version: "1.0.0"}, map[string]string{"npm-otp": "123456"}, 200, ""},
		{"exchanged token", tpTok, pub{name: "tp-pkg", version: "1.0.0"}, nil, 200, ""},
		{"exchanged token, other package", tpTok, pub{name: "tp-other", version: "1.0.0"}, nil, 404, "Not found"},
		{"provenance, repository matches token", tpTok, pub{name: "tp-pkg", version: "1.1.0", repository: "git+https://github.com/octo-org/octo-repo.git", bundle: bundleFor("")}, nil, 200, ""},
		{"provenance, repository.url missing", tpTok, pub{name: "tp-pkg", version: "1.2.0", bundle: bundleFor("")}, nil, 422,
			`Error verifying sigstore provenance bundle: Failed to validate repository information: package.json: "repository.url" is "", expected to match "https://github.com/octo-org/octo-repo" from provenance`},
		{"provenance, repository.url differs", tpTok, pub{name: "tp-pkg", version: "1.2.0", repository: "https://github.com/someone/else", bundle: bundleFor("")}, nil, 422,
			`Error verifying sigstore provenance bundle: Failed to validate repository information: package.json: "repository.url" is "https://github.com/someone/else", expected to match "https://github.com/octo-org/octo-repo" from provenance`},
		{"provenance with a token, statement names the repo", alice, pub{name: "prov-tok", version: "1.0.0", repository: "github:acme/prov", bundle: bundleFor("https://github.com/acme/prov")}, nil, 200, ""},
		{"provenance with a token, no repository anywhere", alice, pub{name: "prov-tok2", version: "1.0.0", repository: "https://github.com/acme/prov", bundle: bundleFor("")}, nil, 422,
			"Error verifying sigstore provenance bundle: Failed to validate repository information: no source repository in provenance"},
		{"provenance not JSON", tpTok, pub{name: "tp-pkg", version: "1.3.0", bundle: "not json"}, nil, 422, "Error verifying sigstore provenance bundle: bundle is not JSON"},
		{"provenance wrong media type", tpTok, pub{name: "tp-pkg", version: "1.3.0", bundle: `{"mediaType":"text/plain"}`}, nil, 422, "Error verifying sigstore provenance bundle: missing or unsupported mediaType"},
		{"next tag", alice, pub{name: "fresh", version: "2.0.0-rc.1", tag: "next"}, nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, srv, "PUT", escaped(tt.pub.name), tt.token, tt.pub.body(t), tt.hdr)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.status, r.body)
			}
			if tt.error != "" {
				if got := r.json(t)["error"]; got != tt.error {
					t.Fatalf("error = %q\n want %q", got, tt.error)
				}
			}
			if tt.status == 401 && r.header.Get("WWW-Authenticate") != "OTP" {
				t.Error("401 for OTP must carry WWW-Authenticate: OTP")
			}
		})
	}

	srv.Unpublish("fresh", "2.0.0-rc.1")
	if r := call(t, srv, "PUT", "/fresh", alice, pub{name: "fresh", version: "2.0.0-rc.1"}.body(t), nil); r.status != 403 ||
		r.json(t)["error"] != "You cannot publish over the previously published versions: 2.0.0-rc.1." {
		t.Errorf("an unpublished version number was reusable: %d %s", r.status, r.body)
	}
	if tags := srv.DistTags("fresh"); tags["latest"] != "1.0.0" || tags["next"] != "" {
		t.Errorf("dist-tags = %v", tags)
	}
	if _, ok := srv.Provenance("tp-pkg", "1.1.0"); !ok {
		t.Error("provenance bundle not stored")
	}
	// Exchanged tokens expire.
	now = now.Add(16 * time.Minute)
	if r := call(t, srv, "PUT", "/tp-pkg", tpTok, pub{name: "tp-pkg", version: "9.0.0"}.body(t), nil); r.status != 404 {
		t.Errorf("expired exchanged token: %d %s", r.status, r.body)
	}
	// Every attempt is recorded.
	if n := len(srv.Attempts()); n != len(tests)+2 {
		t.Errorf("recorded %d attempts, want %d", n, len(tests)+2)
	}
}

func TestReads(t *testing.T) {
	srv := startNPM(t, npmemu.Options{})
	tok := npmemu.NewToken()
	srv.AddUser("alice", tok)
	p := pub{name: "@acme/thing", version: "1.2.3", access: "public", repository: "git+https://github.com/acme/thing.git"}
	if r := call(t, srv, "PUT", "/@acme%2fthing", tok, p.body(t), nil); r.status != 200 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}

	for _, path := range []string{"/@acme%2fthing", "/@acme%2Fthing", "/@acme/thing"} {
		r := call(t, srv, "GET", path, "", nil, map[string]string{"Accept": "application/json"})
		if r.status != 200 {
			t.Fatalf("GET %s: %d", path, r.status)
		}
		doc := r.json(t)
		for _, k := range []string{"_id", "_rev", "name", "dist-tags", "versions", "time", "maintainers", "repository"} {
			if _, ok := doc[k]; !ok {
				t.Errorf("GET %s: full packument lacks %s", path, k)
			}
		}
		dist := doc["versions"].(map[string]any)["1.2.3"].(map[string]any)["dist"].(map[string]any)
		if dist["tarball"] != srv.URL()+"@acme/thing/-/thing-1.2.3.tgz" || dist["integrity"] != srv.Integrity("@acme/thing", "1.2.3") || dist["fileCount"] != float64(2) {
			t.Errorf("dist = %v", dist)
		}
	}

	r := call(t, srv, "GET", "/@acme%2fthing", "", nil, map[string]string{"Accept": "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"})
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/vnd.npm.install-v1+json") {
		t.Fatalf("corgi: %d %s", r.status, r.header.Get("Content-Type"))
	}
	corgi := r.json(t)
	if len(corgi) != 4 || corgi["modified"] == nil {
		t.Errorf("corgi keys = %v", corgi)
	}
	if v := corgi["versions"].(map[string]any)["1.2.3"].(map[string]any); v["repository"] != nil || v["dist"] == nil {
		t.Errorf("corgi version = %v", v)
	}

	tgz, _ := srv.Tarball("@acme/thing", "1.2.3")
	if r := call(t, srv, "GET", "/@acme/thing/-/thing-1.2.3.tgz", "", nil, nil); r.status != 200 || r.body != string(tgz) {
		t.Errorf("tarball GET: %d (%d bytes)", r.status, len(r.body))
	}

	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/nope", 404, `{"error":"Not found"}`},
		{"GET", "/@acme/thing/-/thing-9.9.9.tgz", 404, `{"error":"Not found"}`},
		{"GET", "/@acme%2fthing/latest", 200, ""},
		{"GET", "/@acme%2fthing/1.2.3", 200, ""},
		{"GET", "/@acme%2fthing/9.9.9", 404, `"version not found: 9.9.9"`},
		{"GET", "/-/package/@acme%2fthing/visibility", 200, `{"public":true}`},
		{"GET", "/-/package/@acme%2fthing/dist-tags", 200, `{"latest":"1.2.3"}`},
		{"GET", "/-/package/nope/visibility", 404, `{"error":"Not found"}`},
		{"GET", "/-/npm/v1/keys", 200, `{"keys":[]}`},
		{"GET", "/-/ping", 200, `{}`},
		{"GET", "/-/whoami", 401, `{"error":"Unauthorized"}`},
		{"GET", "/-/npm/v1/tokens", 401, `{"error":"Unauthorized"}`},
		{"POST", "/-/npm/v1/oidc/token/exchange/package/@acme%2fthing", 401, `{"message":"OIDC token exchange error - unauthorized"}`},
		{"PUT", "/@acme%2fthing/-rev/1-abc", 405, `{"error":"Method not allowed"}`},
		{"DELETE", "/@acme%2fthing", 405, `{"error":"Method not allowed"}`},
	}
	for _, tt := range tests {
		r := call(t, srv, tt.method, tt.path, "", nil, nil)
		if r.status != tt.status || (tt.body != "" && strings.TrimSpace(r.body) != tt.body) {
			t.Errorf("%s %s = %d %s; want %d %s", tt.method, tt.path, r.status, strings.TrimSpace(r.body), tt.status, tt.body)
		}
	}
	if r := call(t, srv, "GET", "/-/whoami", tok, nil, nil); r.status != 200 || r.json(t)["username"] != "alice" {
		t.Errorf("whoami: %d %s", r.status, r.body)
	}
}

func TestExchangeAnswers(t *testing.T) {
	iss, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	srv := startNPM(t, npmemu.Options{Verifier: iss})
	_ = srv.CreatePackage("@acme/thing", "alice")
	_ = srv.AddTrustedPublisher("@acme/thing", npmemu.TrustedPublisher{Owner: "octo-org", Repo: "octo-repo", Workflow: "release.yml", Environment: "release"})
	_ = srv.CreatePackage("no-publisher", "alice")
	if err := srv.AddTrustedPublisher("missing", npmemu.TrustedPublisher{}); err == nil {
		t.Error("a trusted publisher needs an existing package")
	}
	good, _ := iss.Mint(srv.Audience())
	id := oidc.DefaultIdentity()
	id.RunnerEnvironment = "self-hosted"
	iss.SetIdentity(id)
	selfHosted, _ := iss.Mint(srv.Audience())
	id = oidc.DefaultIdentity()
	id.Sub = id.ImmutableSub()
	iss.SetIdentity(id)
	immutableSub, _ := iss.Mint(srv.Audience())
	id.Sub = "repository_owner:octo-org:context:environment:release"
	iss.SetIdentity(id)
	customSub, _ := iss.Mint(srv.Audience())
	iss.SetIdentity(oidc.DefaultIdentity())
	portAud, _ := iss.Mint("npm:" + srv.Host())
	otherIss, _ := oidc.Start()
	t.Cleanup(otherIss.Close)
	foreign, _ := otherIss.Mint(srv.Audience())

	tests := []struct {
		name, path, jwt string
		status          int
		message         string
	}{
		{"match", "@acme%2fthing", good, 201, ""},
		{"decoded slash", "@acme/thing", good, 404, "OIDC token exchange error - package not found"},
		{"self-hosted runner", "@acme%2fthing", selfHosted, 422, "OIDC token exchange error - Unsupported GitHub Actions runner environment"},
		{"immutable sub", "@acme%2fthing", immutableSub, 404, "OIDC token exchange error - package not found"},
		{"customised sub", "@acme%2fthing", customSub, 404, "OIDC token exchange error - package not found"},
		{"no publisher", "no-publisher", good, 404, "OIDC token exchange error - package not found"},
		{"unknown package", "ghost", good, 404, "OIDC token exchange error - package not found"},
		{"audience with port", "@acme%2fthing", portAud, 401, "OIDC token exchange error - unauthorized"},
		{"foreign signing key", "@acme%2fthing", foreign, 401, "OIDC token exchange error - unauthorized"},
		{"not a JWT", "@acme%2fthing", "garbage", 401, "OIDC token exchange error - unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, srv, "POST", "/-/npm/v1/oidc/token/exchange/package/"+tt.path, tt.jwt, nil, nil)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			m := r.json(t)
			if tt.status == 201 {
				if tok, _ := m["token"].(string); !strings.HasPrefix(tok, "npm_") || len(tok) != 40 {
					t.Errorf("token = %q", tok)
				}
				return
			}
			if m["message"] != tt.message || m["error"] != nil {
				t.Errorf("body = %s", r.body)
			}
		})
	}
	ex := srv.Exchanges()
	if len(ex) != len(tests) || ex[0].Claims["repository"] != "octo-org/octo-repo" {
		t.Errorf("exchanges = %+v", ex)
	}
	minted := srv.MintedTokens()
	if len(minted) != 1 {
		t.Fatalf("minted = %d", len(minted))
	}
	if r := call(t, srv, "GET", "/-/whoami", minted[0], nil, nil); r.status != 401 {
		t.Errorf("whoami with an exchanged token = %d; npm documents it does not reflect OIDC", r.status)
	}
}

func TestTokenList(t *testing.T) {
	srv := startNPM(t, npmemu.Options{TokensPerPage: 2})
	session := npmemu.NewToken()
	srv.AddUser("alice", session)
	var grans []string
	for i := 0; i < 3; i++ {
		g := npmemu.NewToken()
		grans = append(grans, g)
		srv.AddGranularToken(g, "alice", []string{"@acme"}, npmemu.PermReadOnly)
	}
	r := call(t, srv, "GET", "/-/npm/v1/tokens", session, nil, nil)
	m := r.json(t)
	objs := m["objects"].([]any)
	if r.status != 200 || m["total"] != float64(3) || len(objs) != 2 || m["urls"].(map[string]any)["next"] == nil {
		t.Fatalf("page 0 = %d %s", r.status, r.body)
	}
	for _, g := range grans {
		if strings.Contains(r.body, g) || strings.Contains(r.body, session) {
			t.Fatal("token list shows a full token")
		}
	}
	e := objs[0].(map[string]any)
	if e["token"] != npmemu.RedactToken(grans[0]) || e["scopes"].([]any)[0].(map[string]any)["type"] != "scope" ||
		e["permissions"].([]any)[0].(map[string]any)["action"] != "read" || len(e["key"].(string)) != 128 {
		t.Errorf("entry = %v", e)
	}
	next := m["urls"].(map[string]any)["next"].(string)
	r = call(t, srv, "GET", strings.TrimPrefix(next, strings.TrimSuffix(srv.URL(), "/")), session, nil, nil)
	m = r.json(t)
	if len(m["objects"].([]any)) != 1 || len(m["urls"].(map[string]any)) != 0 {
		t.Errorf("page 1 = %s", r.body)
	}
}

func TestNewTokenFormat(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		tok := npmemu.NewToken()
		if len(tok) != 40 || !strings.HasPrefix(tok, "npm_") || seen[tok] {
			t.Fatalf("token %d malformed or repeated", i)
		}
		seen[tok] = true
		for _, c := range tok[4:] {
			if !strings.ContainsRune("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", c) {
				t.Fatalf("non-base62 character in token")
			}
		}
	}
}

// A publish that lands but whose answer is lost is visible in the packument:
// the settle-by-reading path the publish step relies on.
func TestPublishLandsThenFails(t *testing.T) {
	srv := startNPM(t, npmemu.Options{})
	tok := npmemu.NewToken()
	srv.AddUser("alice", tok)
	srv.Faults.Add(fault.Rule{Method: "PUT", Kind: fault.LandThenFail, Status: 502})
	body := pub{name: "flaky", version: "1.0.0"}.body(t)
	if r := call(t, srv, "PUT", "/flaky", tok, body, nil); r.status != 502 {
		t.Fatalf("status = %d", r.status)
	}
	if v := srv.Versions("flaky"); len(v) != 1 {
		t.Fatalf("the publish should have landed: %v", v)
	}
	if r := call(t, srv, "PUT", "/flaky", tok, body, nil); r.status != 403 {
		t.Fatalf("retry after landing = %d %s", r.status, r.body)
	}
}
