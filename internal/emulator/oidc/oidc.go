// Package oidc emulates the GitHub Actions OIDC token issuer: the
// ACTIONS_ID_TOKEN_REQUEST_URL endpoint, discovery and JWKS. It mints RS256
// JWTs with every claim GitHub sets (custom claims as strings) and lets the
// registry emulators verify them.
package oidc

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
)

// GitHubIssuer is the canonical issuer the registries trust.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// Identity describes the workflow run a token is minted for.
type Identity struct {
	Repository        string // owner/name
	RepositoryOwnerID string // numeric, as a string
	RepositoryID      string
	Workflow          string // workflow name
	WorkflowFile      string // caller workflow filename, e.g. release.yml
	JobWorkflowRepo   string // repository of the reusable workflow; "" = Repository
	JobWorkflowFile   string // reusable workflow filename; "" = WorkflowFile
	JobWorkflowRef    string // ref of the reusable workflow; "" = Ref
	Ref               string // e.g. refs/heads/main
	SHA               string
	Environment       string // "" = claim absent
	EventName         string // push, workflow_dispatch, pull_request_target, ...
	Actor             string
	RunID             string
	// RunnerEnvironment is `github-hosted` ("") or `self-hosted`.
	RunnerEnvironment string
	// Visibility is repository_visibility: public ("") | private | internal.
	Visibility string
	// Sub overrides the `sub` claim: a repository or organisation that
	// customises its subject (GET /repos/{o}/{r}/actions/oidc/customization/sub)
	// or uses the immutable format (repo:ORG@OWNERID/REPO@REPOID:…) gets a
	// subject of another shape. "" = GitHub's default shape.
	Sub string
}

// DefaultSub is GitHub's default subject for the identity:
// repo:ORG/REPO:environment:NAME, or repo:ORG/REPO:ref:REF.
func (id Identity) DefaultSub() string {
	if id.Environment != "" {
		return "repo:" + id.Repository + ":environment:" + id.Environment
	}
	if strings.HasPrefix(id.EventName, "pull_request") {
		return "repo:" + id.Repository + ":pull_request"
	}
	return "repo:" + id.Repository + ":ref:" + id.Ref
}

// ImmutableSub is the subject in GitHub's immutable format, with the owner
// and repository IDs after each name.
func (id Identity) ImmutableSub() string {
	owner, name, _ := strings.Cut(id.Repository, "/")
	return strings.Replace(id.DefaultSub(), "repo:"+id.Repository, "repo:"+owner+"@"+id.RepositoryOwnerID+"/"+name+"@"+id.RepositoryID, 1)
}

// DefaultIdentity is a push to main of octo-org/octo-repo running release.yml
// in the "release" environment.
func DefaultIdentity() Identity {
	return Identity{
		Repository:        "octo-org/octo-repo",
		RepositoryOwnerID: "65",
		RepositoryID:      "1296269",
		Workflow:          "release",
		WorkflowFile:      "release.yml",
		Ref:               "refs/heads/main",
		SHA:               strings.Repeat("a", 40),
		Environment:       "release",
		EventName:         "push",
		Actor:             "octocat",
		RunID:             "4242",
	}
}

// Claims renders the identity as GitHub's custom claims (all strings).
func (id Identity) Claims() map[string]any {
	owner, _, _ := strings.Cut(id.Repository, "/")
	jobRepo := id.JobWorkflowRepo
	if jobRepo == "" {
		jobRepo = id.Repository
	}
	jobFile := id.JobWorkflowFile
	if jobFile == "" {
		jobFile = id.WorkflowFile
	}
	jobRef := id.JobWorkflowRef
	if jobRef == "" {
		jobRef = id.Ref
	}
	sub := id.DefaultSub()
	if id.Sub != "" {
		sub = id.Sub
	}
	runner := id.RunnerEnvironment
	if runner == "" {
		runner = "github-hosted"
	}
	c := map[string]any{
		"sub":                   sub,
		"repository":            id.Repository,
		"repository_owner":      owner,
		"repository_owner_id":   id.RepositoryOwnerID,
		"repository_id":         id.RepositoryID,
		"repository_visibility": visibility(id),
		"workflow":              id.Workflow,
		"workflow_ref":          id.Repository + "/.github/workflows/" + id.WorkflowFile + "@" + id.Ref,
		"workflow_sha":          id.SHA,
		"job_workflow_ref":      jobRepo + "/.github/workflows/" + jobFile + "@" + jobRef,
		"job_workflow_sha":      id.SHA,
		"ref":                   id.Ref,
		"ref_type":              refType(id.Ref),
		"sha":                   id.SHA,
		"event_name":            id.EventName,
		"actor":                 id.Actor,
		"actor_id":              "1",
		"run_id":                id.RunID,
		"run_number":            "7",
		"run_attempt":           "1",
		"runner_environment":    runner,
		"head_ref":              "",
		"base_ref":              "",
	}
	if id.Environment != "" {
		c["environment"] = id.Environment
	}
	return c
}

func refType(ref string) string {
	if strings.HasPrefix(ref, "refs/tags/") {
		return "tag"
	}
	return "branch"
}

// Issuer is a running OIDC token issuer.
type Issuer struct {
	Faults fault.Injector

	srv          *httptest.Server
	key          *rsa.PrivateKey
	kid          string
	requestToken string

	mu       sync.Mutex
	identity Identity
	extra    map[string]any // claim overrides; a nil value deletes the claim
	minted   []string       // audiences, in order
	now      func() time.Time
}

// Start generates a key and starts the issuer on 127.0.0.1.
func Start() (*Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(key.PublicKey.N.Bytes())
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	is := &Issuer{
		key:          key,
		kid:          hex.EncodeToString(sum[:8]),
		requestToken: "ghs_req" + hex.EncodeToString(tok),
		identity:     DefaultIdentity(),
		now:          time.Now,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_apis/idtoken", is.serveToken)
	mux.HandleFunc("GET /.well-known/jwks", is.serveJWKS)
	mux.HandleFunc("GET /.well-known/openid-configuration", is.serveDiscovery)
	is.srv = httptest.NewServer(is.Faults.Wrap(mux))
	return is, nil
}

// Close stops the server.
func (is *Issuer) Close() { is.Faults.Clear(); is.srv.Close() }

// URL is the server's base URL.
func (is *Issuer) URL() string { return is.srv.URL }

// RequestURL is the value for ACTIONS_ID_TOKEN_REQUEST_URL; like the real one
// it already carries a query string.
func (is *Issuer) RequestURL() string { return is.srv.URL + "/_apis/idtoken?api-version=2.0" }

// RequestToken is the value for ACTIONS_ID_TOKEN_REQUEST_TOKEN.
func (is *Issuer) RequestToken() string { return is.requestToken }

// Env returns the Actions variables a job with `id-token: write` sees.
func (is *Issuer) Env() map[string]string {
	id := is.Identity()
	return map[string]string{
		"ACTIONS_ID_TOKEN_REQUEST_URL":   is.RequestURL(),
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": is.requestToken,
		"GITHUB_ACTIONS":                 "true",
		"GITHUB_REPOSITORY":              id.Repository,
		"GITHUB_REPOSITORY_OWNER_ID":     id.RepositoryOwnerID,
		"GITHUB_WORKFLOW_REF":            id.Repository + "/.github/workflows/" + id.WorkflowFile + "@" + id.Ref,
		"GITHUB_REF":                     id.Ref,
		"GITHUB_SHA":                     id.SHA,
		"GITHUB_EVENT_NAME":              id.EventName,
		"GITHUB_RUN_ID":                  id.RunID,
		"GITHUB_RUN_ATTEMPT":             "1",
		"RUNNER_ENVIRONMENT":             orDefault(id.RunnerEnvironment, "github-hosted"),
		"GITHUB_REPOSITORY_ID":           id.RepositoryID,
	}
}

// SetIdentity changes the identity future tokens describe.
func (is *Issuer) SetIdentity(id Identity) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.identity = id
}

// Identity returns the current identity.
func (is *Issuer) Identity() Identity {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.identity
}

// SetClaim overrides one claim in future tokens; a nil value removes it.
func (is *Issuer) SetClaim(name string, value any) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.extra == nil {
		is.extra = map[string]any{}
	}
	is.extra[name] = value
}

// SetClock replaces the issuer's clock (tests of expiry).
func (is *Issuer) SetClock(now func() time.Time) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.now = now
}

// Minted returns the audiences of the tokens minted so far.
func (is *Issuer) Minted() []string {
	is.mu.Lock()
	defer is.mu.Unlock()
	return append([]string(nil), is.minted...)
}

// Mint issues a token for audience directly (without HTTP).
func (is *Issuer) Mint(audience string) (string, error) {
	is.mu.Lock()
	claims := is.identity.Claims()
	for k, v := range is.extra {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	now := is.now()
	is.minted = append(is.minted, audience)
	is.mu.Unlock()

	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	mc := jwt.MapClaims{
		"iss": GitHubIssuer,
		"aud": audience,
		"iat": now.Unix(),
		"nbf": now.Add(-600 * time.Second).Unix(),
		"exp": now.Add(300 * time.Second).Unix(),
		"jti": fmt.Sprintf("%x-%x-%x-%x-%x", jti[0:4], jti[4:6], jti[6:8], jti[8:10], jti[10:]),
	}
	for k, v := range claims {
		mc[k] = v
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, mc)
	tok.Header["kid"] = is.kid
	tok.Header["x5t"] = is.kid
	return tok.SignedString(is.key)
}

// Errors returned by Verify. Registry emulators map them to their own bodies.
var (
	ErrMalformed  = errors.New("malformed JWT")
	ErrBadKID     = errors.New("invalid JWT key ID")
	ErrMissingKID = errors.New("missing JWT key ID")
	ErrBadIssuer  = errors.New("unsupported JWT issuer")
	ErrInvalid    = errors.New("invalid token") // signature, exp, nbf, aud
)

// Verify checks signature, issuer, audience and time (with leeway) and returns
// the claims.
func (is *Issuer) Verify(token, audience string, leeway time.Duration) (jwt.MapClaims, error) {
	unverified, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		return nil, ErrMalformed
	}
	uc := unverified.Claims.(jwt.MapClaims)
	if iss, _ := uc["iss"].(string); iss != GitHubIssuer {
		return nil, fmt.Errorf("%w: %v", ErrBadIssuer, uc["iss"])
	}
	kid, _ := unverified.Header["kid"].(string)
	if kid == "" {
		return nil, ErrMissingKID
	}
	if kid != is.kid {
		return nil, ErrBadKID
	}
	is.mu.Lock()
	now := is.now
	is.mu.Unlock()
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithAudience(audience),
		jwt.WithIssuer(GitHubIssuer),
		jwt.WithLeeway(leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(now),
	)
	claims := jwt.MapClaims{}
	if _, err := p.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return &is.key.PublicKey, nil }); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// GitHub's aud is a single string; more than one is refused (PyPI strict_aud).
	if _, ok := claims["aud"].(string); !ok {
		return nil, fmt.Errorf("%w: aud must be a single string", ErrInvalid)
	}
	return claims, nil
}

func (is *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+is.requestToken {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"Unauthorized"}`))
		return
	}
	aud := r.URL.Query().Get("audience")
	if aud == "" {
		owner, _, _ := strings.Cut(is.Identity().Repository, "/")
		aud = "https://github.com/" + owner
	}
	tok, err := is.Mint(aud)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"count": 1, "value": tok})
}

func (is *Issuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	pub := is.key.PublicKey
	b64 := base64.RawURLEncoding.EncodeToString
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": is.kid, "x5t": is.kid,
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func (is *Issuer) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                GitHubIssuer,
		"jwks_uri":                              is.srv.URL + "/.well-known/jwks",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public", "pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

func visibility(id Identity) string {
	if id.Visibility == "" {
		return "public"
	}
	return id.Visibility
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
