// Package npm emulates the npm registry closely enough for the real npm CLI
// and for our own client: packuments (full and abbreviated), tarballs,
// publish with its error answers, the trusted-publishing OIDC token exchange,
// whoami and the token list (protocols.md §4, §7.6, §7.8). Everything is in
// memory and served on 127.0.0.1.
//
// Error texts are the registry's own, byte for byte where they are known,
// because npm, our client and users match on them.
package npm

import (
	"crypto/rand"
	"encoding/json"
	"hash/crc32"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
)

// Verifier checks a GitHub OIDC ID token; *oidc.Issuer satisfies it.
type Verifier interface {
	Verify(token, aud string, leeway time.Duration) (jwt.MapClaims, error)
}

// Options configure a Server. The zero value is usable: no OIDC issuer is
// trusted (every exchange answers 401), scoped packages default to restricted
// on a free account (402), and the clock is time.Now.
type Options struct {
	// Verifier verifies ID tokens presented to the OIDC exchange.
	Verifier Verifier
	// Leeway for exp/nbf/iat checks; 0 means 60 s.
	Leeway time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// PaidAccounts lets scoped packages be published restricted (no 402).
	PaidAccounts bool
	// TokensPerPage pages /-/npm/v1/tokens; 0 means 100.
	TokensPerPage int
	// TokenListForbidden makes /-/npm/v1/tokens answer 403, as the registry may
	// for tokens that cannot manage tokens.
	TokenListForbidden bool
	// OIDCTokenTTL is the life of an exchanged token; 0 means 15 minutes.
	OIDCTokenTTL time.Duration
	// ExchangeOmitsPermissions answers the OIDC exchange with the token only,
	// even for a connection limited to staging (see exchange).
	ExchangeOmitsPermissions bool
}

// Token kinds.
const (
	KindSession  = "session"  // npm login; never listed
	KindGranular = "granular" // granular access token
	KindOIDC     = "oidc"     // minted by the trusted-publishing exchange
)

// Permissions of a granular token.
const (
	PermReadOnly  = "read-only"
	PermReadWrite = "read-write"
)

// TrustedPublisher is a package's GitHub Actions trusted publisher. All fields
// compare case-sensitively; Workflow is the calling workflow's filename.
type TrustedPublisher struct {
	Owner       string
	Repo        string
	Workflow    string
	Environment string // "" = any
	// Permissions are npm's names for the allowed actions (lib/trust-cmd.js
	// PERMISSIONS): PermCreatePackage (`npm publish`) and
	// PermCreateStagedPackage (`npm stage publish`). nil allows both.
	Permissions []string
}

// Trusted-publisher permissions, as npm's trust commands send them.
const (
	PermCreatePackage       = "createPackage"
	PermCreateStagedPackage = "createStagedPackage"
)

// PublishAttempt records one PUT, successful or not.
type PublishAttempt struct {
	Name       string
	Version    string
	Tag        string
	Access     string
	User       string // "" when the token was unknown
	TokenKind  string
	Provenance bool
	Staged     bool   // npm stage publish
	StageID    string // the stage created
	Status     int
	Error      string
	Time       time.Time
}

// Exchange records one OIDC token exchange.
type Exchange struct {
	Package string
	Status  int
	Message string
	Claims  map[string]any // nil when the token did not verify
}

// TokenInfo describes a token the server knows, for tests.
type TokenInfo struct {
	Kind     string
	User     string
	Packages []string // granular scope or the OIDC package; nil = all of the user's
	Perm     string
	Expiry   time.Time
	Revoked  bool
}

type token struct {
	value    string
	kind     string
	user     string
	name     string
	packages []string
	perm     string
	repo     string   // OIDC: owner/repo the ID token described
	actions  []string // OIDC: the trusted publisher's permissions
	created  time.Time
	expiry   time.Time // zero = none
	revoked  bool
	accessed time.Time
}

type user struct {
	name  string
	email string
	otp   string // when set, publishes need npm-otp
}

type version struct {
	manifest   map[string]any
	tarball    []byte
	integrity  string
	shasum     string
	provenance []byte // sigstore bundle JSON
	published  time.Time
}

type pkg struct {
	name        string
	access      string // public | restricted
	maintainers []string
	versions    map[string]*version
	distTags    map[string]string
	created     time.Time
	modified    time.Time
	rev         int
	publisher   *TrustedPublisher
	removed     map[string]bool // unpublished versions can never be reused
}

// Server is a running npm registry emulator.
type Server struct {
	// Faults are applied before the registry handles a request.
	Faults fault.Injector

	opts Options
	srv  *httptest.Server

	mu        sync.Mutex
	users     map[string]*user
	tokens    map[string]*token
	packages  map[string]*pkg
	attempts  []PublishAttempt
	exchanges []Exchange
	stages    []*Stage
}

// Start starts an emulator on 127.0.0.1:0.
func Start(opts Options) (*Server, error) {
	if opts.Leeway == 0 {
		opts.Leeway = 60 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TokensPerPage <= 0 {
		opts.TokensPerPage = 100
	}
	if opts.OIDCTokenTTL <= 0 {
		opts.OIDCTokenTTL = 15 * time.Minute
	}
	s := &Server{
		opts:     opts,
		users:    map[string]*user{},
		tokens:   map[string]*token{},
		packages: map[string]*pkg{},
	}
	s.srv = httptest.NewServer(s.Faults.Wrap(http.HandlerFunc(s.route)))
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.Faults.Clear(); s.srv.Close() }

// URL is the registry URL with a trailing slash, as npm writes registries.
func (s *Server) URL() string { return s.srv.URL + "/" }

// Host is host:port of the registry.
func (s *Server) Host() string { u, _ := url.Parse(s.srv.URL); return u.Host }

// Audience is the `aud` the exchange accepts: "npm:" + the registry's
// hostname without the port, as npm's lib/utils/oidc.js computes it.
func (s *Server) Audience() string { u, _ := url.Parse(s.srv.URL); return "npm:" + u.Hostname() }

// NpmrcAuthLine is the .npmrc line that gives npm token for this registry.
func (s *Server) NpmrcAuthLine(tok string) string {
	return "//" + s.Host() + "/:_authToken=" + tok
}

func (s *Server) now() time.Time { return s.opts.Now().UTC() }

// AddUser creates a user (if needed) with a login session token. Session
// tokens authenticate but are never listed by /-/npm/v1/tokens.
func (s *Server) AddUser(name, tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureUser(name)
	if tok != "" {
		s.tokens[tok] = &token{value: tok, kind: KindSession, user: name, perm: PermReadWrite, created: s.now()}
	}
}

// SetOTP requires the one-time password code on the user's publishes: without
// it the registry answers 401 with `WWW-Authenticate: OTP`.
func (s *Server) SetOTP(name, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureUser(name).otp = code
}

func (s *Server) ensureUser(name string) *user {
	u := s.users[name]
	if u == nil {
		u = &user{name: name, email: name + "@example.com"}
		s.users[name] = u
	}
	return u
}

// AddGranularToken adds a granular access token for user. packages limits it
// to those packages (nil or empty: every package the user maintains); perm is
// PermReadOnly or PermReadWrite ("" means read-write).
func (s *Server) AddGranularToken(tok, userName string, packages []string, perm string) {
	if perm == "" {
		perm = PermReadWrite
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureUser(userName)
	now := s.now()
	n := 1
	for _, t := range s.tokens {
		if t.user == userName && t.kind == KindGranular {
			n++
		}
	}
	s.tokens[tok] = &token{
		value: tok, kind: KindGranular, user: userName, name: "token-" + strconv.Itoa(n),
		packages: append([]string(nil), packages...), perm: perm,
		created: now, expiry: now.Add(7 * 24 * time.Hour),
	}
}

// RevokeToken makes tok unusable.
func (s *Server) RevokeToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[tok]; t != nil {
		t.revoked = true
	}
}

// Token describes a known token; ok is false for unknown ones.
func (s *Server) Token(tok string) (TokenInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[tok]
	if t == nil {
		return TokenInfo{}, false
	}
	return TokenInfo{Kind: t.kind, User: t.user, Packages: append([]string(nil), t.packages...), Perm: t.perm, Expiry: t.expiry, Revoked: t.revoked}, true
}

// MintedTokens returns the tokens the OIDC exchange handed out, oldest first.
func (s *Server) MintedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for v, t := range s.tokens {
		if t.kind == KindOIDC {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := s.tokens[out[i]].created, s.tokens[out[j]].created
		if !a.Equal(b) {
			return a.Before(b)
		}
		return out[i] < out[j]
	})
	return out
}

// CreatePackage makes name exist, owned by owner, with one version 0.0.0 that
// a plan never proposes (trusted publishing needs an existing package).
func (s *Server) CreatePackage(name, owner string) error {
	return s.CreatePackageVersion(name, owner, "0.0.0")
}

// CreatePackageVersion publishes version of name as owner without HTTP. The
// package is public.
func (s *Server) CreatePackageVersion(name, owner, ver string) error {
	manifest := map[string]any{"name": name, "version": ver, "description": "placeholder"}
	pj, _ := json.Marshal(manifest)
	tgz, err := BuildTarball(pj, nil)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureUser(owner)
	p := s.packages[name]
	if p == nil {
		p = &pkg{name: name, access: "public", maintainers: []string{owner}, versions: map[string]*version{}, distTags: map[string]string{}, created: s.now(), removed: map[string]bool{}}
		s.packages[name] = p
	}
	manifest["_id"] = name + "@" + ver
	s.storeVersion(p, ver, manifest, tgz, nil)
	p.distTags["latest"] = ver
	return nil
}

// AddTrustedPublisher sets the package's one trusted publisher (replacing any).
func (s *Server) AddTrustedPublisher(pkgName string, tp TrustedPublisher) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.packages[pkgName]
	if p == nil {
		return &unknownPackageError{pkgName}
	}
	c := tp
	p.publisher = &c
	return nil
}

type unknownPackageError struct{ name string }

func (e *unknownPackageError) Error() string {
	return "npm emulator: package " + e.name + " does not exist (npm needs a package before a trusted publisher can be configured)"
}

// Unpublish removes name@ver. Its number can never be published again, as on
// the real registry.
func (s *Server) Unpublish(name, ver string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.packages[name]
	if p == nil || p.versions[ver] == nil {
		return
	}
	delete(p.versions, ver)
	p.removed[ver] = true
	for tag, v := range p.distTags {
		if v == ver {
			delete(p.distTags, tag)
		}
	}
	p.modified = s.now()
	p.rev++
}

// SetAccess makes a package public or restricted.
func (s *Server) SetAccess(pkgName, access string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.packages[pkgName]; p != nil {
		p.access = access
	}
}

// Packages returns the package names, sorted.
func (s *Server) Packages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.packages))
	for n := range s.packages {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Versions returns a package's versions, sorted as strings.
func (s *Server) Versions(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.packages[name]
	if p == nil {
		return nil
	}
	out := make([]string, 0, len(p.versions))
	for v := range p.versions {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// DistTags returns a copy of a package's dist-tags.
func (s *Server) DistTags(name string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.packages[name]
	if p == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range p.distTags {
		out[k] = v
	}
	return out
}

// Tarball returns the stored tarball of name@ver.
func (s *Server) Tarball(name, ver string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.packages[name]; p != nil {
		if v := p.versions[ver]; v != nil {
			return append([]byte(nil), v.tarball...), true
		}
	}
	return nil, false
}

// Integrity returns dist.integrity of name@ver ("" when absent).
func (s *Server) Integrity(name, ver string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.packages[name]; p != nil {
		if v := p.versions[ver]; v != nil {
			return v.integrity
		}
	}
	return ""
}

// Provenance returns the sigstore bundle published with name@ver, if any.
func (s *Server) Provenance(name, ver string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.packages[name]; p != nil {
		if v := p.versions[ver]; v != nil && v.provenance != nil {
			return append([]byte(nil), v.provenance...), true
		}
	}
	return nil, false
}

// Attempts returns every publish attempt so far.
func (s *Server) Attempts() []PublishAttempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]PublishAttempt(nil), s.attempts...)
}

// Exchanges returns every OIDC exchange so far.
func (s *Server) Exchanges() []Exchange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Exchange(nil), s.exchanges...)
}

// route dispatches on the escaped path: scoped names arrive as @scope%2fname,
// and the encoded slash is significant (Go's mux would decode it).
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(p, "/-/"):
		s.routeSpecial(w, r, p)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		s.routeRead(w, r, p)
	case r.Method == http.MethodPut:
		name, rest, ok := splitName(p)
		switch {
		case !ok:
			writeError(w, http.StatusNotFound, "Not found")
		case strings.HasPrefix(rest, "/-rev/"):
			// unpublish/deprecate rewrites are not emulated
			writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
		case rest != "":
			writeError(w, http.StatusNotFound, "Not found")
		default:
			s.publish(w, r, name, false)
		}
	default:
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
	}
}

func (s *Server) routeSpecial(w http.ResponseWriter, r *http.Request, p string) {
	const exchange = "/-/npm/v1/oidc/token/exchange/package/"
	switch {
	case p == "/-/stage" || strings.HasPrefix(p, "/-/stage/"):
		s.routeStage(w, r, p)
	case p == "/-/whoami" && r.Method == http.MethodGet:
		s.whoami(w, r)
	case p == "/-/ping" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{})
	case p == "/-/npm/v1/tokens" && r.Method == http.MethodGet:
		s.listTokens(w, r)
	case p == "/-/npm/v1/keys" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"keys": []any{}})
	case strings.HasPrefix(p, exchange) && r.Method == http.MethodPost:
		s.exchange(w, r, strings.TrimPrefix(p, exchange))
	case strings.HasPrefix(p, "/-/npm/v1/attestations/") && r.Method == http.MethodGet:
		s.attestations(w, r, strings.TrimPrefix(p, "/-/npm/v1/attestations/"))
	case strings.HasPrefix(p, "/-/package/") && r.Method == http.MethodGet:
		rest := strings.TrimPrefix(p, "/-/package/")
		switch {
		case strings.HasSuffix(rest, "/visibility"):
			s.visibility(w, r, strings.TrimSuffix(rest, "/visibility"))
		case strings.HasSuffix(rest, "/dist-tags"):
			s.distTagsHandler(w, r, strings.TrimSuffix(rest, "/dist-tags"))
		case strings.HasSuffix(rest, "/trust"):
			s.trustList(w, r, strings.TrimSuffix(rest, "/trust"))
		default:
			writeError(w, http.StatusNotFound, "Not found")
		}
	default:
		writeError(w, http.StatusNotFound, "Not found")
	}
}

// splitName splits an escaped request path into the package name and what
// follows it. "/@s%2fp", "/@s/p" and "/p" all name packages.
func splitName(p string) (name, rest string, ok bool) {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return "", "", false
	}
	var first string
	if strings.HasPrefix(p, "@") {
		lower := strings.ToLower(p)
		if i := strings.Index(lower, "%2f"); i >= 0 && (strings.IndexByte(p, '/') < 0 || i < strings.IndexByte(p, '/')) {
			first = p[:i] + "/"
			p = p[i+3:]
		} else if i := strings.IndexByte(p, '/'); i >= 0 {
			first = p[:i+1]
			p = p[i+1:]
		} else {
			return "", "", false
		}
	}
	seg, after, _ := strings.Cut(p, "/")
	name, err := url.PathUnescape(first + seg)
	if err != nil || name == "" || strings.HasSuffix(name, "/") {
		return "", "", false
	}
	if after != "" {
		rest = "/" + after
	}
	return name, rest, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers the way the registry does: the text is in `error`.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeMessage is the OIDC exchange's error form: the text is in `message`.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

// bearer returns the token from Authorization: Bearer.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// lookup returns the live token for r, or nil. Caller holds s.mu.
func (s *Server) lookup(r *http.Request) *token {
	t := s.tokens[bearer(r)]
	if t == nil || t.revoked || (!t.expiry.IsZero() && s.now().After(t.expiry)) {
		return nil
	}
	t.accessed = s.now()
	return t
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewToken returns a token in npm's format: npm_ + 30 random base62
// characters + a 6-character base62 CRC32 of them (protocols.md §7.6).
func NewToken() string {
	var b strings.Builder
	b.WriteString("npm_")
	rnd := make([]byte, 30)
	for i := range rnd {
		n, err := rand.Int(rand.Reader, big.NewInt(62))
		if err != nil {
			panic(err)
		}
		rnd[i] = base62[n.Int64()]
	}
	b.Write(rnd)
	b.WriteString(checksum62(string(rnd)))
	return b.String()
}

func checksum62(s string) string {
	n := uint64(crc32.ChecksumIEEE([]byte(s)))
	out := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return string(out)
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
