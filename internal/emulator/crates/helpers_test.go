package crates

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/cratefile"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
)

const legacyTok = "cioAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// issuer is what the tests need from an OIDC issuer; *oidc.Issuer and
// fakeIssuer satisfy it.
type issuer interface {
	Verifier
	SetIdentity(oidc.Identity)
	SetClaim(name string, value any)
	SetClock(now func() time.Time)
	Mint(audience string) (string, error)
}

type env struct {
	t   *testing.T
	s   *Server
	iss issuer
}

var (
	sharedOnce sync.Once
	shared     *oidc.Issuer
)

// newEnv uses one issuer for the whole package (RSA key generation is the
// slow part); tests that change the issuer's identity use newFreshEnv.
func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	sharedOnce.Do(func() {
		var err error
		if shared, err = oidc.Start(); err != nil {
			panic(err)
		}
	})
	return startEnv(t, opts, shared)
}

// newFreshEnv gives the test its own issuer state (identity, claim
// overrides, clock) signed with a key shared by the package.
func newFreshEnv(t *testing.T, opts Options) *env {
	t.Helper()
	return startEnv(t, opts, &fakeIssuer{identity: oidc.DefaultIdentity(), extra: map[string]any{}, now: time.Now})
}

var fakeKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// fakeIssuer mints GitHub-shaped ID tokens like oidc.Issuer, without a server.
type fakeIssuer struct {
	identity oidc.Identity
	extra    map[string]any
	now      func() time.Time
}

func (f *fakeIssuer) SetIdentity(id oidc.Identity)    { f.identity = id }
func (f *fakeIssuer) SetClaim(name string, value any) { f.extra[name] = value }
func (f *fakeIssuer) SetClock(now func() time.Time)   { f.now = now }
func (f *fakeIssuer) Mint(aud string) (string, error) {
	now := f.now()
	jti := make([]byte, 8)
	_, _ = rand.Read(jti)
	mc := jwt.MapClaims{"iss": oidc.GitHubIssuer, "aud": aud, "iat": now.Unix(), "nbf": now.Add(-600 * time.Second).Unix(),
		"exp": now.Add(300 * time.Second).Unix(), "jti": fmt.Sprintf("%x", jti)}
	for k, v := range f.identity.Claims() {
		mc[k] = v
	}
	for k, v := range f.extra {
		if v == nil {
			delete(mc, k)
		} else {
			mc[k] = v
		}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, mc)
	tok.Header["kid"] = "fake-kid"
	return tok.SignedString(fakeKey())
}

func (f *fakeIssuer) Verify(token, aud string, leeway time.Duration) (jwt.MapClaims, error) {
	u, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		return nil, oidc.ErrMalformed
	}
	if iss, _ := u.Claims.(jwt.MapClaims)["iss"].(string); iss != oidc.GitHubIssuer {
		return nil, oidc.ErrBadIssuer
	}
	switch kid, _ := u.Header["kid"].(string); kid {
	case "":
		return nil, oidc.ErrMissingKID
	case "fake-kid":
	default:
		return nil, oidc.ErrBadKID
	}
	p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(aud), jwt.WithIssuer(oidc.GitHubIssuer),
		jwt.WithLeeway(leeway), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	claims := jwt.MapClaims{}
	if _, err := p.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return &fakeKey().PublicKey, nil }); err != nil {
		return nil, fmt.Errorf("%w: %v", oidc.ErrInvalid, err)
	}
	return claims, nil
}

func startEnv(t *testing.T, opts Options, iss issuer) *env {
	t.Helper()
	if opts.Verifier == nil {
		opts.Verifier = iss
	}
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &env{t: t, s: s, iss: iss}
}

type resp struct {
	status int
	body   string
	header http.Header
}

func (r resp) detail() string {
	var v struct {
		Errors []struct {
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(r.body), &v) != nil || len(v.Errors) != 1 {
		return "<not an error envelope: " + r.body + ">"
	}
	return v.Errors[0].Detail
}

// call sends a request; headers with an empty value are removed (so a test
// can drop User-Agent).
func (e *env) call(method, path string, headers map[string]string, body []byte) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.s.URL()+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("User-Agent", "cargo/1.95.0 (test)")
	for k, v := range headers {
		if v == "" && k != "User-Agent" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, string(b), res.Header}
}

func (e *env) exchange(jwt string) resp {
	b, _ := json.Marshal(map[string]string{"jwt": jwt})
	return e.call("POST", "/api/v1/trusted_publishing/tokens", map[string]string{"Content-Type": "application/json"}, b)
}

func (e *env) mint() string {
	e.t.Helper()
	tok, err := e.iss.Mint("crates.io")
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// tpToken registers the default publisher for crate and returns a minted
// trusted-publishing token.
func (e *env) tpToken(crate string) string {
	e.t.Helper()
	e.s.AddVersion(crate, "0.0.1")
	e.s.AddGitHubConfig(crate, GitHubConfig{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "release.yml", Environment: "release"})
	r := e.exchange(e.mint())
	if r.status != 200 {
		e.t.Fatalf("exchange: %d %s", r.status, r.body)
	}
	var v struct{ Token string }
	_ = json.Unmarshal([]byte(r.body), &v)
	return v.Token
}

// publishBody frames metadata JSON and a .crate as cargo does.
func publishBody(meta any, crate []byte) []byte {
	js, _ := json.Marshal(meta)
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(js)))
	b.Write(js)
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(crate)))
	b.Write(crate)
	return b.Bytes()
}

func meta(name, vers string) map[string]any {
	return map[string]any{"name": name, "vers": vers, "deps": []any{}, "features": map[string]any{}, "authors": []string{},
		"description": "d", "license": "MIT", "readme": nil, "readme_file": nil, "keywords": []string{}, "categories": []string{}, "badges": map[string]any{}, "links": nil}
}

func goodCrate(name, vers string) []byte {
	return cratefile.Build(name, vers, map[string]string{
		"Cargo.toml": cratefile.Manifest(name, vers, "a crate", "MIT"),
		"src/lib.rs": "pub fn f() {}\n",
	})
}

func (e *env) publish(token string, body []byte) resp {
	h := map[string]string{"Content-Type": "application/octet-stream", "Accept": "application/json"}
	if token != "" {
		h["Authorization"] = token
	}
	return e.call("PUT", "/api/v1/crates/new", h, body)
}

func contains(t *testing.T, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Fatalf("got %q, want it to contain %q", got, want)
	}
}
