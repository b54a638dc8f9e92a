// Package github emulates the parts of GitHub the tool talks to: the OAuth
// device flow (/login/device/code, /login/oauth/access_token) and the REST API
// (user, repository and environment secret names, releases, git refs and tag
// objects). One server can play both GITHUB_SERVER_URL and GITHUB_API_URL.
//
// It follows protocols.md §5: device-flow errors come back with HTTP 200,
// slow_down adds 5 s to the interval, REST errors carry
// {"message","documentation_url","status"}, lists paginate with per_page/page
// and a Link header, and every API answer has the x-ratelimit-* headers.
// State is in memory and inspectable; the clock is injectable so expiry and
// polling intervals are tested without waiting.
package github

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
)

// Lifetimes GitHub uses for GitHub App user tokens and device codes.
const (
	AccessTokenLifetime  = 8 * time.Hour
	RefreshTokenLifetime = 15811200 * time.Second // ~6 months
	DeviceCodeLifetime   = 900 * time.Second
	DefaultInterval      = 5 // seconds
	RateLimit            = 5000
)

// Options configure a Server. The zero value is GitHub's defaults.
type Options struct {
	// Interval is the device-flow polling interval in seconds (default 5).
	Interval int
	// ClientID, when set, is the only OAuth client accepted; others get
	// unauthorized_client / incorrect_client_credentials.
	ClientID string
	// AutoApprove, when set, approves every new device code for this login
	// (which must exist) as soon as it is issued. For end-to-end scripts
	// where nobody can type the code.
	AutoApprove string
	// RateLimit is the hourly request budget of a user token (default 5000;
	// installation tokens get 1000, anonymous callers 60).
	RateLimit int
	// Now freezes the emulator's clock at this instant (moved only by
	// Advance). Zero: the wall clock plus whatever Advance added.
	Now time.Time
}

// Secret is a secret's metadata; values are never stored.
type Secret struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Release is a stored release.
type Release struct {
	ID              int64     `json:"id"`
	TagName         string    `json:"tag_name"`
	TargetCommitish string    `json:"target_commitish"`
	Name            string    `json:"name"`
	Body            string    `json:"body"`
	Draft           bool      `json:"draft"`
	Prerelease      bool      `json:"prerelease"`
	MakeLatest      string    `json:"-"`
	CreatedAt       time.Time `json:"created_at"`
	Author          string    `json:"-"`
}

// TagObject is an annotated tag created with POST /git/tags.
type TagObject struct {
	SHA        string
	Tag        string
	Message    string
	ObjectSHA  string
	ObjectType string
}

// Repo is one repository's state.
type Repo struct {
	Owner, Name   string
	DefaultSHA    string // commit the default branch points at
	secrets       []Secret
	envs          []string // insertion order
	envSecrets    map[string][]Secret
	releases      []*Release
	refs          map[string]refEntry // "refs/tags/v1" -> target
	tags          map[string]*TagObject
	nextReleaseID int64
	// OwnerID and ID are the numeric IDs GitHub puts in OIDC tokens
	// (repository_owner_id, repository_id); a repository deleted and
	// recreated, or transferred away and back, gets new ones.
	OwnerID, ID int64
	// SubClaimKeys customises the OIDC subject (PUT
	// /repos/{o}/{r}/actions/oidc/customization/sub); nil = the default.
	SubClaimKeys []string
}

type refEntry struct {
	SHA  string
	Type string // commit | tag
}

type tokenKind int

const (
	kindUser         tokenKind = iota // ghu_ from the device flow, or AddUser
	kindInstallation                  // ghs_, GITHUB_TOKEN-like
)

type tokenInfo struct {
	login   string
	kind    tokenKind
	expires time.Time // zero = never
	repo    string    // installation tokens: the one repo they may touch
}

type refreshInfo struct {
	login   string
	expires time.Time
}

type device struct {
	deviceCode string
	userCode   string
	clientID   string
	interval   int
	expires    time.Time
	lastPoll   time.Time
	state      string // pending | approved | denied | used
	login      string
}

// Request is one request the server received, for assertions.
type Request struct {
	Method string
	Path   string
	Query  string
}

// Server is a running emulator.
type Server struct {
	// Faults injects failures in front of every route.
	Faults fault.Injector

	srv  *httptest.Server
	url  string
	opts Options

	mu            sync.Mutex
	frozen        time.Time // zero: wall clock
	offset        time.Duration
	repos         map[string]*Repo // "owner/name"
	users         map[string]int64 // login -> id
	tokens        map[string]tokenInfo
	refresh       map[string]refreshInfo
	devices       map[string]*device // device_code -> device
	byUserCode    map[string]*device
	slowDowns     int
	used          map[string]int // token -> rate-limit count
	requests      []Request
	nextUserID    int64
	deviceCodeCnt int
}

// Start runs an emulator on 127.0.0.1.
func Start(opts Options) (*Server, error) {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	s := &Server{
		opts:       opts,
		frozen:     opts.Now,
		repos:      map[string]*Repo{},
		users:      map[string]int64{},
		tokens:     map[string]tokenInfo{},
		refresh:    map[string]refreshInfo{},
		devices:    map[string]*device{},
		byUserCode: map[string]*device{},
		used:       map[string]int{},
		nextUserID: 1000,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/device/code", s.deviceCode)
	mux.HandleFunc("POST /login/oauth/access_token", s.accessToken)
	mux.HandleFunc("GET /user", s.api(s.getUser))
	mux.HandleFunc("GET /rate_limit", s.api(s.rateLimit))
	mux.HandleFunc("GET /repos/{owner}/{repo}/actions/secrets", s.api(s.listRepoSecrets))
	mux.HandleFunc("GET /repos/{owner}/{repo}", s.api(s.getRepo))
	mux.HandleFunc("GET /repos/{owner}/{repo}/actions/oidc/customization/sub", s.api(s.getSubCustomization))
	mux.HandleFunc("GET /repos/{owner}/{repo}/environments", s.api(s.listEnvironments))
	mux.HandleFunc("GET /repos/{owner}/{repo}/environments/{env}/secrets", s.api(s.listEnvSecrets))
	mux.HandleFunc("POST /repos/{owner}/{repo}/releases", s.api(s.createRelease))
	mux.HandleFunc("GET /repos/{owner}/{repo}/releases", s.api(s.listReleases))
	mux.HandleFunc("GET /repos/{owner}/{repo}/releases/tags/{tag...}", s.api(s.releaseByTag))
	mux.HandleFunc("POST /repos/{owner}/{repo}/git/refs", s.api(s.createRef))
	mux.HandleFunc("GET /repos/{owner}/{repo}/git/ref/{ref...}", s.api(s.getRef))
	mux.HandleFunc("POST /repos/{owner}/{repo}/git/tags", s.api(s.createTag))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
	})
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery})
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	})
	// The URL is fixed before the first request can arrive (handlers read it).
	s.srv = httptest.NewUnstartedServer(s.Faults.Wrap(logged))
	s.url = "http://" + s.srv.Listener.Addr().String()
	s.srv.Start()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.Faults.Clear(); s.srv.Close() }

// URL is the base URL, valid as both GITHUB_API_URL and GITHUB_SERVER_URL.
func (s *Server) URL() string { return s.url }

// Env returns GITHUB_API_URL and GITHUB_SERVER_URL pointing at the server.
func (s *Server) Env() map[string]string {
	return map[string]string{"GITHUB_API_URL": s.url, "GITHUB_SERVER_URL": s.url}
}

func (s *Server) clockLocked() time.Time {
	base := s.frozen
	if base.IsZero() {
		base = time.Now()
	}
	return base.Add(s.offset)
}

// Now is the emulator's clock.
func (s *Server) Now() time.Time { s.mu.Lock(); defer s.mu.Unlock(); return s.clockLocked() }

// Advance moves the emulator's clock forward.
func (s *Server) Advance(d time.Duration) { s.mu.Lock(); s.offset += d; s.mu.Unlock() }

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// AddRepo creates owner/name (idempotent) and returns it.
func (s *Server) AddRepo(full string) *Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repoLocked(full)
}

func (s *Server) repoLocked(full string) *Repo {
	if r, ok := s.repos[strings.ToLower(full)]; ok {
		return r
	}
	owner, name, _ := strings.Cut(full, "/")
	r := &Repo{Owner: owner, Name: name, DefaultSHA: strings.Repeat("c", 40), envSecrets: map[string][]Secret{},
		refs: map[string]refEntry{}, tags: map[string]*TagObject{}, nextReleaseID: 1, OwnerID: 65, ID: 1296269}
	s.repos[strings.ToLower(full)] = r
	return r
}

// SetIDs sets a repository's owner and repository IDs (the repo is created
// if needed).
func (s *Server) SetIDs(repo string, ownerID, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoLocked(repo)
	r.OwnerID, r.ID = ownerID, id
}

// SetSubClaimKeys customises a repository's OIDC subject claim; nil restores
// the default.
func (s *Server) SetSubClaimKeys(repo string, keys []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repoLocked(repo).SubClaimKeys = append([]string(nil), keys...)
	if keys == nil {
		s.repoLocked(repo).SubClaimKeys = nil
	}
}

// AddSecret adds a repository secret name (the repo is created if needed).
func (s *Server) AddSecret(repo, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoLocked(repo)
	r.secrets = append(r.secrets, Secret{Name: name, CreatedAt: s.clockLocked(), UpdatedAt: s.clockLocked()})
}

// AddEnvironment adds an environment with the given secret names.
func (s *Server) AddEnvironment(repo, env string, secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoLocked(repo)
	if _, ok := r.envSecrets[env]; !ok {
		r.envs = append(r.envs, env)
		r.envSecrets[env] = []Secret{}
	}
	for _, n := range secrets {
		r.envSecrets[env] = append(r.envSecrets[env], Secret{Name: n, CreatedAt: s.clockLocked(), UpdatedAt: s.clockLocked()})
	}
}

// AddUser adds a user. When token is not empty it is a non-expiring token for
// that user (like a PAT); the device flow mints its own.
func (s *Server) AddUser(login, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addUserLocked(login)
	if token != "" {
		s.tokens[token] = tokenInfo{login: login, kind: kindUser}
	}
}

func (s *Server) addUserLocked(login string) {
	if _, ok := s.users[login]; !ok {
		s.nextUserID++
		s.users[login] = s.nextUserID
	}
}

// IssueInstallationToken mints a GITHUB_TOKEN-like token (ghs_) for repo: it
// may read and write releases and refs but gets 403 on secrets.
func (s *Server) IssueInstallationToken(repo string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repoLocked(repo)
	t := "ghs_" + randAlnum(36)
	s.tokens[t] = tokenInfo{login: "github-actions[bot]", kind: kindInstallation, repo: strings.ToLower(repo), expires: s.clockLocked().Add(time.Hour)}
	return t
}

// RevokeUser invalidates every access and refresh token of login (the user
// revoked the App's authorization).
func (s *Server) RevokeUser(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, ti := range s.tokens {
		if ti.login == login {
			delete(s.tokens, t)
		}
	}
	for t, ri := range s.refresh {
		if ri.login == login {
			delete(s.refresh, t)
		}
	}
}

// Releases returns a copy of repo's releases in creation order.
func (s *Server) Releases(repo string) []Release {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[strings.ToLower(repo)]
	if !ok {
		return nil
	}
	out := make([]Release, 0, len(r.releases))
	for _, rel := range r.releases {
		out = append(out, *rel)
	}
	return out
}

// Refs returns repo's refs (name -> sha).
func (s *Server) Refs(repo string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	if r, ok := s.repos[strings.ToLower(repo)]; ok {
		for k, v := range r.refs {
			out[k] = v.SHA
		}
	}
	return out
}

// Tag returns an annotated tag object by sha.
func (s *Server) Tag(repo, sha string) (TagObject, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.repos[strings.ToLower(repo)]; ok {
		if t, ok := r.tags[sha]; ok {
			return *t, true
		}
	}
	return TagObject{}, false
}

// PendingUserCodes returns the user codes still waiting for approval.
func (s *Server) PendingUserCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for uc, d := range s.byUserCode {
		if d.state == "pending" {
			out = append(out, uc)
		}
	}
	sort.Strings(out)
	return out
}

// Approve authorises a pending user code for login (created if needed).
func (s *Server) Approve(userCode, login string) error {
	return s.setDevice(userCode, "approved", login)
}

// Deny makes the next poll for userCode answer access_denied.
func (s *Server) Deny(userCode string) error { return s.setDevice(userCode, "denied", "") }

func (s *Server) setDevice(userCode, state, login string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byUserCode[userCode]
	if !ok || d.state != "pending" {
		return fmt.Errorf("github emulator: no pending device code %q", userCode)
	}
	if login != "" {
		s.addUserLocked(login)
	}
	d.state, d.login = state, login
	return nil
}

// SetAutoApprove changes Options.AutoApprove for device codes issued from now
// on ("" turns it off).
func (s *Server) SetAutoApprove(login string) { s.mu.Lock(); s.opts.AutoApprove = login; s.mu.Unlock() }

// SlowDown makes the next n token polls answer slow_down (each adds 5 s to the
// device's interval), whatever the timing.
func (s *Server) SlowDown(n int) { s.mu.Lock(); s.slowDowns += n; s.mu.Unlock() }

// DeviceInterval returns the current polling interval of a user code.
func (s *Server) DeviceInterval(userCode string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.byUserCode[userCode]; ok {
		return d.interval
	}
	return 0
}

// TokenValid reports whether an access token is currently accepted.
func (s *Server) TokenValid(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ti, ok := s.tokens[token]
	return ok && (ti.expires.IsZero() || s.clockLocked().Before(ti.expires))
}

// ---- OAuth device flow ----

func (s *Server) deviceCode(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthReply(w, r, http.StatusBadRequest, map[string]any{"error": "bad_request"})
		return
	}
	clientID := r.PostForm.Get("client_id")
	if clientID == "" || (s.opts.ClientID != "" && clientID != s.opts.ClientID) {
		// GitHub answers an unknown client with 404 Not Found.
		oauthReply(w, r, http.StatusNotFound, map[string]any{"error": "Not Found"})
		return
	}
	s.mu.Lock()
	d := &device{
		deviceCode: randHex(20),
		userCode:   strings.ToUpper(randLetters(4) + "-" + randLetters(4)),
		clientID:   clientID,
		interval:   s.opts.Interval,
		expires:    s.clockLocked().Add(DeviceCodeLifetime),
		state:      "pending",
	}
	if s.opts.AutoApprove != "" {
		s.addUserLocked(s.opts.AutoApprove)
		d.state, d.login = "approved", s.opts.AutoApprove
	}
	s.devices[d.deviceCode] = d
	s.byUserCode[d.userCode] = d
	s.deviceCodeCnt++
	s.mu.Unlock()
	oauthReply(w, r, http.StatusOK, map[string]any{
		"device_code":      d.deviceCode,
		"user_code":        d.userCode,
		"verification_uri": s.url + "/login/device",
		"expires_in":       int(DeviceCodeLifetime / time.Second),
		"interval":         d.interval,
	})
}

const oauthDocs = "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow"

func oauthErr(code, desc string) map[string]any {
	return map[string]any{"error": code, "error_description": desc, "error_uri": oauthDocs}
}

func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthReply(w, r, http.StatusBadRequest, map[string]any{"error": "bad_request"})
		return
	}
	f := r.PostForm
	clientID := f.Get("client_id")
	if clientID == "" || (s.opts.ClientID != "" && clientID != s.opts.ClientID) {
		oauthReply(w, r, http.StatusOK, oauthErr("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect."))
		return
	}
	switch f.Get("grant_type") {
	case "urn:ietf:params:oauth:grant-type:device_code":
		s.pollDevice(w, r, clientID, f.Get("device_code"))
	case "refresh_token":
		s.refreshToken(w, r, f.Get("refresh_token"))
	default:
		oauthReply(w, r, http.StatusOK, oauthErr("unsupported_grant_type", "The grant type must be urn:ietf:params:oauth:grant-type:device_code or refresh_token."))
	}
}

func (s *Server) pollDevice(w http.ResponseWriter, r *http.Request, clientID, code string) {
	s.mu.Lock()
	d, ok := s.devices[code]
	if !ok || d.clientID != clientID {
		s.mu.Unlock()
		oauthReply(w, r, http.StatusOK, oauthErr("incorrect_device_code", "The device_code provided is not valid."))
		return
	}
	now := s.clockLocked()
	if !now.Before(d.expires) {
		s.mu.Unlock()
		oauthReply(w, r, http.StatusOK, oauthErr("expired_token", "The device_code has expired."))
		return
	}
	tooFast := !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < time.Duration(d.interval)*time.Second
	d.lastPoll = now
	if s.slowDowns > 0 || tooFast {
		if s.slowDowns > 0 {
			s.slowDowns--
		}
		d.interval += 5
		iv := d.interval
		s.mu.Unlock()
		body := oauthErr("slow_down", "Too many requests have been made in the same timeframe.")
		body["interval"] = iv
		oauthReply(w, r, http.StatusOK, body)
		return
	}
	switch d.state {
	case "pending":
		s.mu.Unlock()
		oauthReply(w, r, http.StatusOK, oauthErr("authorization_pending", "The authorization request is still pending."))
		return
	case "denied":
		s.mu.Unlock()
		oauthReply(w, r, http.StatusOK, oauthErr("access_denied", "The authorization request was denied."))
		return
	case "used":
		s.mu.Unlock()
		oauthReply(w, r, http.StatusOK, oauthErr("incorrect_device_code", "The device_code provided is not valid."))
		return
	}
	d.state = "used"
	body := s.mintPairLocked(d.login)
	s.mu.Unlock()
	oauthReply(w, r, http.StatusOK, body)
}

func (s *Server) mintPairLocked(login string) map[string]any {
	at := "ghu_" + randAlnum(36)
	rt := "ghr_" + randAlnum(76)
	s.tokens[at] = tokenInfo{login: login, kind: kindUser, expires: s.clockLocked().Add(AccessTokenLifetime)}
	s.refresh[rt] = refreshInfo{login: login, expires: s.clockLocked().Add(RefreshTokenLifetime)}
	return map[string]any{
		"access_token":             at,
		"expires_in":               int(AccessTokenLifetime / time.Second),
		"refresh_token":            rt,
		"refresh_token_expires_in": int(RefreshTokenLifetime / time.Second),
		"token_type":               "bearer",
		"scope":                    "",
	}
}

func (s *Server) refreshToken(w http.ResponseWriter, r *http.Request, rt string) {
	s.mu.Lock()
	ri, ok := s.refresh[rt]
	if !ok || !s.clockLocked().Before(ri.expires) {
		s.mu.Unlock()
		oauthReply(w, r, http.StatusOK, oauthErr("bad_refresh_token", "The refresh token passed is incorrect or expired."))
		return
	}
	// Rotation: the old pair stops working at once.
	delete(s.refresh, rt)
	for t, ti := range s.tokens {
		if ti.login == ri.login && ti.kind == kindUser && !ti.expires.IsZero() {
			delete(s.tokens, t)
		}
	}
	body := s.mintPairLocked(ri.login)
	s.mu.Unlock()
	oauthReply(w, r, http.StatusOK, body)
}

// oauthReply answers JSON when asked (Accept: application/json), else
// form-encoded like GitHub's default.
func oauthReply(w http.ResponseWriter, r *http.Request, status int, body map[string]any) {
	if strings.Contains(r.Header.Get("Accept"), "json") {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
		return
	}
	v := url.Values{}
	for k, x := range body {
		v.Set(k, fmt.Sprint(x))
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(v.Encode()))
}

// ---- REST ----

type caller struct {
	token string
	info  tokenInfo
}

type apiHandler func(w http.ResponseWriter, r *http.Request, c caller)

// api applies the REST conventions: User-Agent required, token auth,
// rate-limit headers.
func (s *Server) api(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") == "" {
			apiError(w, http.StatusForbidden, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required).", "")
			return
		}
		tok := bearer(r.Header.Get("Authorization"))
		s.mu.Lock()
		ti, ok := s.tokens[tok]
		valid := ok && (ti.expires.IsZero() || s.clockLocked().Before(ti.expires))
		limit := 60
		key := "anon:" + r.RemoteAddr
		if valid {
			limit, key = RateLimit, tok
			if s.opts.RateLimit > 0 {
				limit = s.opts.RateLimit
			}
			if ti.kind == kindInstallation {
				limit = 1000
			}
		}
		s.used[key]++
		used := s.used[key]
		reset := s.clockLocked().Truncate(time.Hour).Add(time.Hour).Unix()
		s.mu.Unlock()
		h2 := w.Header()
		h2.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
		h2.Set("x-ratelimit-limit", strconv.Itoa(limit))
		h2.Set("x-ratelimit-remaining", strconv.Itoa(max(limit-used, 0)))
		h2.Set("x-ratelimit-used", strconv.Itoa(used))
		h2.Set("x-ratelimit-reset", strconv.FormatInt(reset, 10))
		h2.Set("x-ratelimit-resource", "core")
		if r.URL.Path == "/rate_limit" {
			h(w, r, caller{token: tok, info: ti})
			return
		}
		if !valid {
			apiError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
			return
		}
		if used > limit {
			apiError(w, http.StatusForbidden, "API rate limit exceeded for user ID 1.", "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting")
			return
		}
		h(w, r, caller{token: tok, info: ti})
	}
}

func bearer(h string) string {
	scheme, v, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "bearer", "token":
		return strings.TrimSpace(v)
	}
	return ""
}

func apiError(w http.ResponseWriter, status int, msg, doc string) {
	writeJSON(w, status, map[string]any{"message": msg, "documentation_url": doc, "status": strconv.Itoa(status)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, c caller) {
	if c.info.kind == kindInstallation {
		apiError(w, http.StatusForbidden, "Resource not accessible by integration", "https://docs.github.com/rest/users/users#get-the-authenticated-user")
		return
	}
	s.mu.Lock()
	id := s.users[c.info.login]
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"login": c.info.login, "id": id, "type": "User", "html_url": s.url + "/" + c.info.login})
}

func (s *Server) rateLimit(w http.ResponseWriter, r *http.Request, c caller) {
	writeJSON(w, http.StatusOK, map[string]any{"resources": map[string]any{"core": map[string]any{
		"limit": w.Header().Get("x-ratelimit-limit"), "remaining": w.Header().Get("x-ratelimit-remaining")}}})
}

// repoFor returns the repo in the path, answering 404 when it does not exist or
// the caller may not see it.
func (s *Server) repoFor(w http.ResponseWriter, r *http.Request, c caller) *Repo {
	full := strings.ToLower(r.PathValue("owner") + "/" + r.PathValue("repo"))
	s.mu.Lock()
	repo, ok := s.repos[full]
	s.mu.Unlock()
	if !ok || (c.info.kind == kindInstallation && c.info.repo != full) {
		apiError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
		return nil
	}
	return repo
}

func noIntegrationAccess(w http.ResponseWriter, c caller, doc string) bool {
	if c.info.kind == kindInstallation {
		apiError(w, http.StatusForbidden, "Resource not accessible by integration", doc)
		return true
	}
	return false
}

// page slices n items per the request's per_page/page and sets Link.
func page(w http.ResponseWriter, r *http.Request, n int) (lo, hi int) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	if per > 100 {
		per = 100
	}
	p, _ := strconv.Atoi(q.Get("page"))
	if p <= 0 {
		p = 1
	}
	last := (n + per - 1) / per
	if last < 1 {
		last = 1
	}
	lo = min((p-1)*per, n)
	hi = min(lo+per, n)
	link := func(pg int, rel string) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		qq := u.Query()
		qq.Set("per_page", strconv.Itoa(per))
		qq.Set("page", strconv.Itoa(pg))
		u.RawQuery = qq.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if p < last {
		links = append(links, link(p+1, "next"), link(last, "last"))
	}
	if p > 1 {
		links = append(links, link(1, "first"), link(p-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	return lo, hi
}

const secretsDoc = "https://docs.github.com/rest/actions/secrets#list-repository-secrets"

func (s *Server) listRepoSecrets(w http.ResponseWriter, r *http.Request, c caller) {
	repo := s.repoFor(w, r, c)
	if repo == nil || noIntegrationAccess(w, c, secretsDoc) {
		return
	}
	s.mu.Lock()
	all := append([]Secret(nil), repo.secrets...)
	s.mu.Unlock()
	lo, hi := page(w, r, len(all))
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(all), "secrets": all[lo:hi]})
}

func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request, c caller) {
	repo := s.repoFor(w, r, c)
	if repo == nil {
		return
	}
	s.mu.Lock()
	names := append([]string(nil), repo.envs...)
	now := s.clockLocked()
	s.mu.Unlock()
	lo, hi := page(w, r, len(names))
	envs := []map[string]any{}
	for i, n := range names[lo:hi] {
		envs = append(envs, map[string]any{
			"id": 100 + lo + i, "node_id": "EN_" + strconv.Itoa(lo+i), "name": n,
			"url":        s.url + "/repos/" + repo.Owner + "/" + repo.Name + "/environments/" + url.PathEscape(n),
			"html_url":   s.url + "/" + repo.Owner + "/" + repo.Name + "/deployments/activity_log?environments_filter=" + url.QueryEscape(n),
			"created_at": now, "updated_at": now, "can_admins_bypass": true,
			"protection_rules":         []any{},
			"deployment_branch_policy": nil,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(names), "environments": envs})
}

func (s *Server) listEnvSecrets(w http.ResponseWriter, r *http.Request, c caller) {
	repo := s.repoFor(w, r, c)
	if repo == nil || noIntegrationAccess(w, c, "https://docs.github.com/rest/actions/secrets#list-environment-secrets") {
		return
	}
	env := r.PathValue("env")
	s.mu.Lock()
	secrets, ok := repo.envSecrets[env]
	all := append([]Secret(nil), secrets...)
	s.mu.Unlock()
	if !ok {
		apiError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/actions/secrets#list-environment-secrets")
		return
	}
	lo, hi := page(w, r, len(all))
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(all), "secrets": all[lo:hi]})
}

type releaseInput struct {
	TagName         string `json:"tag_name"`
	TargetCommitish string `json:"target_commitish"`
	Name            string `json:"name"`
	Body            string `json:"body"`
	Draft           bool   `json:"draft"`
	Prerelease      bool   `json:"prerelease"`
	MakeLatest      string `json:"make_latest"`
}

func (s *Server) releaseJSON(repo *Repo, rel *Release) map[string]any {
	base := s.url + "/repos/" + repo.Owner + "/" + repo.Name + "/releases/" + strconv.FormatInt(rel.ID, 10)
	var published any
	if !rel.Draft {
		published = rel.CreatedAt
	}
	return map[string]any{
		"id": rel.ID, "node_id": "RE_" + strconv.FormatInt(rel.ID, 10), "url": base,
		"html_url":         s.url + "/" + repo.Owner + "/" + repo.Name + "/releases/tag/" + url.PathEscape(rel.TagName),
		"upload_url":       s.url + "/repos/" + repo.Owner + "/" + repo.Name + "/releases/" + strconv.FormatInt(rel.ID, 10) + "/assets{?name,label}",
		"tag_name":         rel.TagName,
		"target_commitish": rel.TargetCommitish,
		"name":             rel.Name, "body": rel.Body, "draft": rel.Draft, "prerelease": rel.Prerelease,
		"created_at": rel.CreatedAt, "published_at": published,
		"author": map[string]any{"login": rel.Author}, "assets": []any{},
	}
}

func (s *Server) createRelease(w http.ResponseWriter, r *http.Request, c caller) {
	repo := s.repoFor(w, r, c)
	if repo == nil {
		return
	}
	var in releaseInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		apiError(w, http.StatusBadRequest, "Problems parsing JSON", "https://docs.github.com/rest/releases/releases#create-a-release")
		return
	}
	if in.TagName == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Invalid request.\n\n\"tag_name\" wasn't supplied.",
			"documentation_url": "https://docs.github.com/rest/releases/releases#create-a-release", "status": "422"})
		return
	}
	s.mu.Lock()
	for _, rel := range repo.releases {
		if rel.TagName == in.TagName {
			s.mu.Unlock()
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
				"message":           "Validation Failed",
				"errors":            []any{map[string]any{"resource": "Release", "code": "already_exists", "field": "tag_name"}},
				"documentation_url": "https://docs.github.com/rest/releases/releases#create-a-release",
				"status":            "422",
			})
			return
		}
	}
	if in.TargetCommitish == "" {
		in.TargetCommitish = "main"
	}
	rel := &Release{ID: repo.nextReleaseID, TagName: in.TagName, TargetCommitish: in.TargetCommitish, Name: in.Name, Body: in.Body,
		Draft: in.Draft, Prerelease: in.Prerelease, MakeLatest: in.MakeLatest, CreatedAt: s.clockLocked(), Author: c.info.login}
	repo.nextReleaseID++
	repo.releases = append(repo.releases, rel)
	// A published release of a missing tag creates the tag at target_commitish.
	if !in.Draft {
		if _, ok := repo.refs["refs/tags/"+in.TagName]; !ok {
			sha := in.TargetCommitish
			if !isSHA(sha) {
				sha = repo.DefaultSHA
			}
			repo.refs["refs/tags/"+in.TagName] = refEntry{SHA: sha, Type: "commit"}
		}
	}
	body := s.releaseJSON(repo, rel)
	s.mu.Unlock()
	w.Header().Set("Location", body["url"].(string))
	writeJSON(w, http.StatusCreated, body)
}

func (s *Server) listReleases(w http.ResponseWriter, r *http.Request, c caller) {
	repo := s.repoFor(w, r, c)
	if repo == nil {
		return
	}
	s.mu.Lock()
	// Newest first, like GitHub.
	var out []map[string]any
	for i := len(repo.releases) - 1; i >= 0; i-- {
		out = append(out, s.releaseJSON(repo, repo.releases[i]))
	}
	s.mu.Unlock()
	lo, hi := page(w, r, len(out))
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, out[lo:hi])
}

func (s *Server) releaseByTag(w http.ResponseWriter, r *http.Request, c caller) {
	repo := s.repoFor(w, r, c)
	if repo == nil {
		return
	}
	tag := r.PathValue("tag")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rel := range repo.releases {
		if rel.TagName == tag && !rel.Draft {
			writeJSON(w, http.StatusOK, s.releaseJSON(repo, rel))
			return
		}
	}
	apiError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/releases/releases#get-a-release-by-tag-name")
}

const refsDoc = "https://docs.github.com/rest/git/refs#create-a-reference"

func (s *Server) refJSON(repo *Repo, name string, e refEntry) map[string]any {
	base := s.url + "/repos/" + repo.Owner + "/" + repo.Name + "/git/"
	objURL := base + "commits/" + e.SHA
	if e.Type == "tag" {
		objURL = base + "tags/" + e.SHA
	}
	return map[string]any{"ref": name, "node_id": "REF_" + name, "url": base + name,
		"object": map[string]any{"sha": e.SHA, "type": e.Type, "url": objURL}}
}

func (s *Server) createRef(w http.ResponseWriter, r *http.Request, c caller) {
	repo := s.repoFor(w, r, c)
	if repo == nil {
		return
	}
	var in struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		apiError(w, http.StatusBadRequest, "Problems parsing JSON", refsDoc)
		return
	}
	if !strings.HasPrefix(in.Ref, "refs/") || strings.Count(in.Ref, "/") < 2 {
		apiError(w, http.StatusUnprocessableEntity, in.Ref+" is not a valid ref name.", refsDoc)
		return
	}
	if !isSHA(in.SHA) {
		apiError(w, http.StatusUnprocessableEntity, "Object does not exist", refsDoc)
		return
	}
	s.mu.Lock()
	if _, ok := repo.refs[in.Ref]; ok {
		s.mu.Unlock()
		apiError(w, http.StatusUnprocessableEntity, "Reference already exists", refsDoc)
		return
	}
	e := refEntry{SHA: in.SHA, Type: "commit"}
	if _, ok := repo.tags[in.SHA]; ok {
		e.Type = "tag"
	}
	repo.refs[in.Ref] = e
	body := s.refJSON(repo, in.Ref, e)
	s.mu.Unlock()
	w.Header().Set("Location", body["url"].(string))
	writeJSON(w, http.StatusCreated, body)
}

func (s *Server) getRef(w http.ResponseWriter, r *http.Request, c caller) {
	repo := s.repoFor(w, r, c)
	if repo == nil {
		return
	}
	name := "refs/" + r.PathValue("ref")
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := repo.refs[name]
	if !ok {
		apiError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/git/refs#get-a-reference")
		return
	}
	writeJSON(w, http.StatusOK, s.refJSON(repo, name, e))
}

func (s *Server) createTag(w http.ResponseWriter, r *http.Request, c caller) {
	repo := s.repoFor(w, r, c)
	if repo == nil {
		return
	}
	var in struct {
		Tag     string `json:"tag"`
		Message string `json:"message"`
		Object  string `json:"object"`
		Type    string `json:"type"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		apiError(w, http.StatusBadRequest, "Problems parsing JSON", "https://docs.github.com/rest/git/tags#create-a-tag-object")
		return
	}
	if in.Tag == "" || !isSHA(in.Object) {
		apiError(w, http.StatusUnprocessableEntity, "Validation Failed", "https://docs.github.com/rest/git/tags#create-a-tag-object")
		return
	}
	if in.Type == "" {
		in.Type = "commit"
	}
	t := &TagObject{SHA: randHex(20), Tag: in.Tag, Message: in.Message, ObjectSHA: in.Object, ObjectType: in.Type}
	s.mu.Lock()
	repo.tags[t.SHA] = t
	now := s.clockLocked()
	s.mu.Unlock()
	base := s.url + "/repos/" + repo.Owner + "/" + repo.Name + "/git/"
	writeJSON(w, http.StatusCreated, map[string]any{
		"node_id": "TAG_" + t.SHA, "sha": t.SHA, "tag": t.Tag, "message": t.Message, "url": base + "tags/" + t.SHA,
		"tagger":       map[string]any{"name": c.info.login, "email": c.info.login + "@users.noreply.github.com", "date": now},
		"object":       map[string]any{"sha": t.ObjectSHA, "type": t.ObjectType, "url": base + "commits/" + t.ObjectSHA},
		"verification": map[string]any{"verified": false, "reason": "unsigned"},
	})
}

func isSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randAlnum(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

func randLetters(n int) string {
	const letters = "BCDFGHJKLMNPQRSTVWXZ"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

// getRepo serves GET /repos/{owner}/{repo}: the fields doctor reads (the
// owner's and the repository's numeric IDs), in GitHub's shape.
func (s *Server) getRepo(w http.ResponseWriter, r *http.Request, c caller) {
	repo := s.repoFor(w, r, c)
	if repo == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"id": repo.ID, "name": repo.Name, "full_name": repo.Owner + "/" + repo.Name, "private": false, "visibility": "public",
		"owner": map[string]any{"login": repo.Owner, "id": repo.OwnerID, "type": "Organization"},
	})
}

// getSubCustomization serves GET /repos/{owner}/{repo}/actions/oidc/customization/sub:
// {"use_default": true} or {"use_default": false, "include_claim_keys": [...]}.
func (s *Server) getSubCustomization(w http.ResponseWriter, r *http.Request, c caller) {
	repo := s.repoFor(w, r, c)
	if repo == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if repo.SubClaimKeys == nil {
		writeJSON(w, http.StatusOK, map[string]any{"use_default": true})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"use_default": false, "include_claim_keys": repo.SubClaimKeys})
}
