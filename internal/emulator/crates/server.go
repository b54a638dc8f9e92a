// Package crates emulates crates.io on 127.0.0.1: the web API pieces
// putitoutthere and cargo use (trusted-publishing token exchange and revoke,
// publish, version and crate reads, github_configs, token probes) and a sparse
// index under /index/ that cargo can resolve and download from. Status codes
// and error details follow protocols.md §3 and §7.7 byte for byte.
//
// Everything lives in memory. Tests and rehearsal seed it with CreateCrate,
// AddVersion, AddGitHubConfig, AddAPIToken and SetTrustpubOnly, and inspect it
// with Versions, Attempts, MintedTokens and friends.
//
// cargo setup: the index URL is "sparse+" + URL() + "/index/", config.json
// answers {"dl": URL()+"/api/v1/crates", "api": URL()}.
package crates

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/putitoutthere/putitoutthere/internal/cratefile"
	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
)

// Verifier checks a GitHub ID token; *oidc.Issuer satisfies it. Errors
// wrapping oidc.ErrBadIssuer, ErrMissingKID and ErrBadKID map to crates.io's
// own details; anything else is "Failed to decode JWT".
type Verifier interface {
	Verify(token, aud string, leeway time.Duration) (jwt.MapClaims, error)
}

// Options configure a Server. The zero value is usable (no OIDC issuer: the
// exchange then answers 500 "Failed to load OIDC key set").
type Options struct {
	Verifier Verifier
	Audience string           // default "crates.io"
	Now      func() time.Time // default time.Now

	// NewCrateBurst is how many new crates a user may publish before 429;
	// default 5 (crates.io's burst), negative = unlimited. One more is
	// allowed every NewCrateRefill (default 10 min).
	NewCrateBurst  int
	NewCrateRefill time.Duration
	// VersionBurst is how many new versions of existing crates a user may
	// publish in a burst; default 30, negative = unlimited. Refill default
	// 1 min.
	VersionBurst  int
	VersionRefill time.Duration

	MaxUploadSize int // bytes of the .crate; default 10 MiB

	// AuthRequired makes it a private registry: config.json says
	// "auth-required": true, and the index and downloads answer 401 (with
	// `WWW-Authenticate: Cargo login_url=…`) unless a live token is sent.
	AuthRequired bool
}

// DefaultUser owns tokens and crates when no owner is given.
const DefaultUser = "octocat"

// GitHubConfig is a trusted-publishing registration for a crate.
type GitHubConfig struct {
	ID          int
	Crate       string
	Owner       string // repository owner login
	Repo        string // repository name
	OwnerID     int64
	Workflow    string // workflow filename, e.g. release.yml
	Environment string // "" = any
	CreatedAt   time.Time
}

// APIToken is a crates.io API token (cio + 32 alnum).
type APIToken struct {
	ID             int
	Name           string
	Owner          string
	Token          string   // plaintext, kept only so tests can use it
	EndpointScopes []string // nil = legacy (all endpoints)
	CrateScopes    []string // nil or empty = all crates
	CreatedAt      time.Time
	LastUsedAt     *time.Time
	ExpiredAt      *time.Time
	Revoked        bool

	session bool // a browser session standing in as a token (never stored)
}

// Legacy reports whether the token has no scopes at all.
func (t *APIToken) Legacy() bool { return t.EndpointScopes == nil && len(t.CrateScopes) == 0 }

// MintedToken is a trusted-publishing token handed out by the exchange.
type MintedToken struct {
	Token      string // plaintext; tests only
	Crates     []string
	Repository string
	RunID      string
	SHA        string
	ExpiresAt  time.Time
	Revoked    bool
}

// PublishAttempt records one PUT /api/v1/crates/new.
type PublishAttempt struct {
	Name, Version string
	Auth          string // "trustpub", "token" or "" (none / failed before auth)
	Status        int
	Detail        string // the error detail; "" on success
	At            time.Time
}

type trustpubData struct {
	Repository, RunID, SHA string
}

type user struct {
	ID         int
	Login      string
	Unverified bool       // no verified email: publishing with API tokens is refused
	Locked     bool       // account locked
	LockUntil  *time.Time // nil with Locked = indefinitely
	LockReason string
}

type crateRec struct {
	ID            int
	Name          string
	Owners        []string
	TrustpubOnly  bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Description   string
	Homepage      string
	Documentation string
	Repository    string
	Versions      []*versionRec
	Downloads     int
}

type versionRec struct {
	ID          int
	Num         string
	Data        []byte
	Checksum    string
	CreatedAt   time.Time
	Yanked      bool
	License     string
	Description string
	Homepage    string
	Repository  string
	RustVersion string
	Edition     string
	Links       string
	Features    map[string][]string
	Deps        []indexDep
	PublishedBy *user
	Trustpub    *trustpubData
	Downloads   int
	Indexed     bool // visible in the sparse index
}

type tpToken struct {
	MintedToken
	crateIDs []int
}

// bucket is a token bucket for one rate-limited action.
type bucket struct {
	tokens float64
	last   time.Time
}

// Server is a running crates.io emulator.
type Server struct {
	// up, when set, is the registry index reads and downloads of crates
	// the emulator does not hold pass through to (SetUpstream).
	up     *upstream
	Faults fault.Injector

	opts Options
	srv  *httptest.Server

	mu        sync.Mutex
	nextID    int
	users     map[string]*user
	crates    map[string]*crateRec // canonical name → crate
	configs   []*GitHubConfig
	apiTokens map[[32]byte]*APIToken
	tpTokens  map[[32]byte]*tpToken
	tpOrder   []*tpToken
	usedJTI   map[string]time.Time
	attempts  []PublishAttempt
	ownerIDs  map[string]int64 // GitHub owner login (lower) → id, for POST github_configs
	newCrates map[string]*bucket
	newVers   map[string]*bucket
	sessions  map[string]string // cargo_session cookie value → login
	readOnly  string
	// indexPaused holds new versions out of the index (crates.io updates it
	// in a background job), until SetIndexPaused(false).
	indexPaused bool
}

// Start runs the emulator on 127.0.0.1 with a random port.
func Start(opts Options) (*Server, error) {
	if opts.Audience == "" {
		opts.Audience = "crates.io"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewCrateBurst == 0 {
		opts.NewCrateBurst = 5
	}
	if opts.NewCrateRefill == 0 {
		opts.NewCrateRefill = 10 * time.Minute
	}
	if opts.VersionBurst == 0 {
		opts.VersionBurst = 30
	}
	if opts.VersionRefill == 0 {
		opts.VersionRefill = time.Minute
	}
	if opts.MaxUploadSize == 0 {
		opts.MaxUploadSize = 10 << 20
	}
	s := &Server{
		opts:      opts,
		users:     map[string]*user{},
		crates:    map[string]*crateRec{},
		apiTokens: map[[32]byte]*APIToken{},
		tpTokens:  map[[32]byte]*tpToken{},
		usedJTI:   map[string]time.Time{},
		ownerIDs:  map[string]int64{},
		newCrates: map[string]*bucket{},
		newVers:   map[string]*bucket{},
		sessions:  map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/trusted_publishing/tokens", s.handleExchange)
	mux.HandleFunc("DELETE /api/v1/trusted_publishing/tokens", s.handleRevoke)
	mux.HandleFunc("GET /api/v1/trusted_publishing/github_configs", s.handleListConfigs)
	mux.HandleFunc("POST /api/v1/trusted_publishing/github_configs", s.handleCreateConfig)
	mux.HandleFunc("PUT /api/v1/crates/new", s.handlePublish)
	mux.HandleFunc("GET /api/v1/crates/{name}", s.handleCrate)
	mux.HandleFunc("GET /api/v1/crates/{name}/{version}", s.handleVersion)
	mux.HandleFunc("GET /api/v1/crates/{name}/owners", s.handleOwners)
	mux.HandleFunc("GET /api/v1/crates/{name}/{version}/download", s.handleDownload)
	mux.HandleFunc("DELETE /api/v1/crates/{name}/{version}/yank", s.handleYank)
	mux.HandleFunc("PUT /api/v1/crates/{name}/{version}/unyank", s.handleYank)
	mux.HandleFunc("GET /api/v1/me", s.handleMe)
	mux.HandleFunc("GET /api/v1/me/tokens", s.handleListTokens)
	mux.HandleFunc("GET /api/v1/me/tokens/{id}", s.handleMeToken)
	mux.HandleFunc("PUT /api/v1/me/tokens", s.handleCreateToken)
	mux.HandleFunc("GET /index/config.json", s.handleIndexConfig)
	mux.HandleFunc("GET /index/", s.handleIndexFile)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeErr(w, http.StatusNotFound, "Not Found") })
	s.srv = httptest.NewServer(s.Faults.Wrap(s.requireUserAgent(mux)))
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.Faults.Clear(); s.srv.Close() }

// URL is the API base, e.g. http://127.0.0.1:41234 (no trailing slash).
func (s *Server) URL() string { return s.srv.URL }

// IndexURL is the sparse index URL for cargo: "sparse+" + URL() + "/index/".
func (s *Server) IndexURL() string { return "sparse+" + s.srv.URL + "/index/" }

func (s *Server) now() time.Time { return s.opts.Now() }

// userAgentText is crates.io's refusal for requests without a User-Agent.
const userAgentText = "We require that all requests include a `User-Agent` header.  To allow us to determine the impact your bot has on our service, we ask that your user agent actually identify your bot, and not just report the HTTP client library you're using.  Including contact information will also reduce the chance that we will need to take action against your bot.\n\nBad:\n  User-Agent: reqwest/0.9.1\n\nBetter:\n  User-Agent: my_bot\n\nBest:\n  User-Agent: my_bot (my_bot.com/info)\n  User-Agent: my_bot (help@my_bot.com)\n\nIf you believe you've received this message in error, please email help@crates.io and include the request id %s."

func (s *Server) requireUserAgent(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Downloads are exempt; the index is a static host in production.
		exempt := strings.HasSuffix(r.URL.Path, "/download") || strings.HasPrefix(r.URL.Path, "/index/")
		if !exempt && strings.TrimSpace(r.Header.Get("User-Agent")) == "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, userAgentText, "unknown")
			return
		}
		if s.isReadOnly() && r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeErr(w, http.StatusServiceUnavailable, s.readOnly)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) isReadOnly() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readOnly != ""
}

// SetIndexPaused, when on, keeps newly published versions out of the sparse
// index (as crates.io's asynchronous index job can lag); turning it off
// publishes them to the index.
func (s *Server) SetIndexPaused(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.indexPaused = on
	if !on {
		for _, c := range s.crates {
			for _, v := range c.Versions {
				v.Indexed = true
			}
		}
	}
}

// SetEmailVerified sets whether a user has a verified email address
// (default true); crates.io refuses API-token publishes without one.
func (s *Server) SetEmailVerified(login string, verified bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(login).Unverified = !verified
}

// LockUser locks a user's account until the given time (nil = indefinitely);
// every token of the user is then refused with crates.io's lock text.
func (s *Server) LockUser(login string, until *time.Time, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(login)
	u.Locked, u.LockUntil, u.LockReason = true, until, reason
}

// SetReadOnly makes every write answer 503 with crates.io's read-only detail
// (empty string turns it off).
func (s *Server) SetReadOnly(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readOnly = ""
	if on {
		s.readOnly = "crates.io is currently in read-only mode for maintenance. Please try again later."
	}
}

// errorBody is crates.io's JSON error envelope.
func errorBody(detail string) []byte {
	b, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"detail": detail}}})
	return b
}

func writeErr(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(errorBody(detail))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiErr is a status + detail pair handlers return.
type apiErr struct {
	status int
	detail string
}

func (e *apiErr) write(w http.ResponseWriter) { writeErr(w, e.status, e.detail) }

func badRequest(format string, args ...any) *apiErr {
	return &apiErr{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}
func forbidden(format string, args ...any) *apiErr {
	return &apiErr{http.StatusForbidden, fmt.Sprintf(format, args...)}
}

// canonical folds a crate name the way crates.io's canon_crate_name does.
func canonical(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "-", "_")
}

func (s *Server) id() int { s.nextID++; return s.nextID }

func (s *Server) userLocked(login string) *user {
	if login == "" {
		login = DefaultUser
	}
	u := s.users[login]
	if u == nil {
		u = &user{ID: s.id(), Login: login}
		s.users[login] = u
	}
	return u
}

// ---- seeding (tests and rehearsal) ----

// CreateCrate registers an existing crate owned by owner ("" = DefaultUser)
// with no versions. It is a no-op when the crate exists.
func (s *Server) CreateCrate(name, owner string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.createCrateLocked(name, owner)
}

func (s *Server) createCrateLocked(name, owner string) *crateRec {
	if c := s.crates[canonical(name)]; c != nil {
		return c
	}
	u := s.userLocked(owner)
	now := s.now()
	c := &crateRec{ID: s.id(), Name: name, Owners: []string{u.Login}, CreatedAt: now, UpdatedAt: now}
	s.crates[canonical(name)] = c
	return c
}

// AddOwner adds a co-owner to an existing crate.
func (s *Server) AddOwner(crate, owner string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.crates[canonical(crate)]; c != nil {
		s.userLocked(owner)
		c.Owners = append(c.Owners, owner)
	}
}

// AddVersion seeds a published version (creating the crate if needed) with a
// generated minimal .crate, so the index and download serve it.
func (s *Server) AddVersion(name, version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.createCrateLocked(name, "")
	data := cratefile.Build(name, version, map[string]string{
		"Cargo.toml": cratefile.Manifest(name, version, "seeded by the emulator", "MIT"),
		"src/lib.rs": "",
	})
	sum := sha256.Sum256(data)
	c.Versions = append(c.Versions, &versionRec{
		ID: s.id(), Num: version, Data: data, Checksum: fmt.Sprintf("%x", sum),
		CreatedAt: s.now(), License: "MIT", Description: "seeded by the emulator", Features: map[string][]string{}, Indexed: true,
	})
}

// Yank sets a version's yanked flag (it stays in the index, marked).
func (s *Server) Yank(name, version string, yanked bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.crates[canonical(name)]; c != nil {
		for _, v := range c.Versions {
			if v.Num == version {
				v.Yanked = yanked
				return true
			}
		}
	}
	return false
}

// SetTrustpubOnly makes the crate refuse publishes with normal API tokens.
func (s *Server) SetTrustpubOnly(crate string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.crates[canonical(crate)]; c != nil {
		c.TrustpubOnly = on
	}
}

// AddGitHubConfig registers a trusted publisher for an existing crate (the
// crate is created, owned by DefaultUser, when missing). It returns the ID.
func (s *Server) AddGitHubConfig(crate string, cfg GitHubConfig) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.createCrateLocked(crate, "")
	cfg.ID = s.id()
	cfg.Crate = c.Name
	if cfg.CreatedAt.IsZero() {
		cfg.CreatedAt = s.now()
	}
	s.configs = append(s.configs, &cfg)
	if cfg.Owner != "" && cfg.OwnerID != 0 {
		s.ownerIDs[strings.ToLower(cfg.Owner)] = cfg.OwnerID
	}
	return cfg.ID
}

// SetGitHubOwnerID tells the emulator the numeric ID of a GitHub owner, used
// when a config is created over HTTP (crates.io looks it up on GitHub).
func (s *Server) SetGitHubOwnerID(login string, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ownerIDs[strings.ToLower(login)] = id
}

// AddAPIToken registers an API token owned by DefaultUser. Scopes are
// endpoint scopes ("publish-new", "publish-update", "yank", "change-owners",
// "trusted-publishing") or crate scopes written "crate:NAME" / "crate:PREFIX*".
// No scopes = a legacy token. It returns the token's ID.
func (s *Server) AddAPIToken(token string, scopes ...string) int {
	t := &APIToken{Owner: DefaultUser, Token: token}
	for _, sc := range scopes {
		if p, ok := strings.CutPrefix(sc, "crate:"); ok {
			t.CrateScopes = append(t.CrateScopes, p)
		} else {
			t.EndpointScopes = append(t.EndpointScopes, sc)
		}
	}
	if len(t.CrateScopes) > 0 && t.EndpointScopes == nil {
		t.EndpointScopes = []string{}
	}
	return s.AddToken(t)
}

// AddToken registers a fully described API token and returns its ID.
func (s *Server) AddToken(t *APIToken) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.Owner == "" {
		t.Owner = DefaultUser
	}
	s.userLocked(t.Owner)
	t.ID = s.id()
	if t.Name == "" {
		t.Name = fmt.Sprintf("token-%d", t.ID)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.now()
	}
	cp := *t
	s.apiTokens[sha256.Sum256([]byte(t.Token))] = &cp
	return t.ID
}

// RevokeAPIToken marks an API token revoked.
func (s *Server) RevokeAPIToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.apiTokens[sha256.Sum256([]byte(token))]; t != nil {
		t.Revoked = true
	}
}

// ---- inspection ----

// Versions lists the published versions of a crate, in publish order.
func (s *Server) Versions(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.crates[canonical(name)]
	if c == nil {
		return nil
	}
	out := make([]string, 0, len(c.Versions))
	for _, v := range c.Versions {
		out = append(out, v.Num)
	}
	return out
}

// CrateNames lists every crate, sorted.
func (s *Server) CrateNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.crates {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return out
}

// Owners lists a crate's owners.
func (s *Server) Owners(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.crates[canonical(name)]; c != nil {
		return append([]string(nil), c.Owners...)
	}
	return nil
}

// CrateData returns the uploaded .crate bytes of a version.
func (s *Server) CrateData(name, version string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.crates[canonical(name)]; c != nil {
		for _, v := range c.Versions {
			if v.Num == version {
				return v.Data, true
			}
		}
	}
	return nil, false
}

// Attempts returns every publish attempt, in order.
func (s *Server) Attempts() []PublishAttempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]PublishAttempt(nil), s.attempts...)
}

// MintedTokens returns every trusted-publishing token minted, in order.
func (s *Server) MintedTokens() []MintedToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]MintedToken, 0, len(s.tpOrder))
	for _, t := range s.tpOrder {
		out = append(out, t.MintedToken)
	}
	return out
}

// APITokens returns the registered API tokens.
func (s *Server) APITokens() []APIToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []APIToken
	for _, t := range s.apiTokens {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// GitHubConfigs returns the configs registered for a crate.
func (s *Server) GitHubConfigs(crate string) []GitHubConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []GitHubConfig
	for _, c := range s.configs {
		if canonical(c.Crate) == canonical(crate) {
			out = append(out, *c)
		}
	}
	return out
}
