package crates

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
)

// *oidc.Issuer is the verifier tests and rehearsal plug in.
var _ Verifier = (*oidc.Issuer)(nil)

// TPTokenTTL is how long a minted trusted-publishing token lives.
const TPTokenTTL = 30 * time.Minute

// jwtLeeway is crates.io's clock leeway for exp/nbf/iat.
const jwtLeeway = 60 * time.Second

var workflowRefRe = regexp.MustCompile(`([^/]+\.(yml|yaml))(@.+)`)

func claimStr(c jwt.MapClaims, k string) string {
	switch v := c[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// handleExchange implements POST /api/v1/trusted_publishing/tokens (§3.1).
func (s *Server) handleExchange(w http.ResponseWriter, r *http.Request) {
	var req struct {
		JWT *string `json:"jwt"`
	}
	if e := decodeJSONBody(r, &req); e != nil {
		e.write(w)
		return
	}
	if req.JWT == nil {
		writeErr(w, http.StatusUnprocessableEntity, "Failed to deserialize the JSON body into the target type: missing field `jwt`")
		return
	}
	tok, e := s.exchange(*req.JWT)
	if e != nil {
		e.write(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}

func (s *Server) exchange(raw string) (string, *apiErr) {
	// Unverified decode first: issuer and kid errors have their own texts.
	unverified, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if err != nil {
		return "", badRequest("Failed to decode JWT")
	}
	uc := unverified.Claims.(jwt.MapClaims)
	iss, _ := uc["iss"].(string)
	if iss != oidc.GitHubIssuer {
		return "", badRequest("Unsupported JWT issuer: %s", iss)
	}
	if kid, _ := unverified.Header["kid"].(string); kid == "" {
		return "", badRequest("Missing JWT key ID")
	}
	if s.opts.Verifier == nil {
		return "", &apiErr{http.StatusInternalServerError, "Failed to load OIDC key set"}
	}
	claims, err := s.opts.Verifier.Verify(raw, s.opts.Audience, jwtLeeway)
	switch {
	case err == nil:
	case errors.Is(err, oidc.ErrBadIssuer):
		return "", badRequest("Unsupported JWT issuer: %s", iss)
	case errors.Is(err, oidc.ErrMissingKID):
		return "", badRequest("Missing JWT key ID")
	case errors.Is(err, oidc.ErrBadKID):
		return "", badRequest("Invalid JWT key ID")
	default:
		return "", badRequest("Failed to decode JWT")
	}
	// crates.io deserialises these claims as strings (GitHubClaims); a
	// missing one, or a number, fails the decode.
	for _, k := range []string{"aud", "jti", "repository_owner_id", "repository", "workflow_ref", "event_name", "run_id", "sha"} {
		if _, ok := claims[k].(string); !ok {
			return "", badRequest("Failed to decode JWT")
		}
	}
	if v, ok := claims["environment"]; ok && v != nil {
		if _, ok := v.(string); !ok {
			return "", badRequest("Failed to decode JWT")
		}
	}
	jti := claimStr(claims, "jti")

	s.mu.Lock()
	defer s.mu.Unlock()
	// crates.io inserts the jti inside the transaction that mints the token,
	// so a refused exchange rolls it back and the same JWT may be retried.
	if _, used := s.usedJTI[jti]; used {
		return "", badRequest("JWT has already been used")
	}

	if ev := claimStr(claims, "event_name"); ev == "pull_request_target" || ev == "workflow_run" {
		return "", badRequest("Trusted Publishing does not support the `%s` event trigger due to security concerns. Please use a different trigger such as `push`, `release`, or `workflow_dispatch`.", ev)
	}
	repo := claimStr(claims, "repository")
	owner, name, ok := strings.Cut(repo, "/")
	if !ok {
		return "", badRequest("Unexpected `repository` value")
	}
	m := workflowRefRe.FindStringSubmatch(claimStr(claims, "workflow_ref"))
	if m == nil {
		return "", badRequest("Unexpected `workflow_ref` value")
	}
	workflow := m[1]
	ownerID, err := strconv.ParseInt(claimStr(claims, "repository_owner_id"), 10, 32)
	if err != nil {
		return "", badRequest("Unexpected `repository_owner_id` value")
	}

	var repoConfigs []*GitHubConfig
	for _, c := range s.configs {
		if strings.EqualFold(c.Owner, owner) && strings.EqualFold(c.Repo, name) {
			repoConfigs = append(repoConfigs, c)
		}
	}
	if len(repoConfigs) == 0 {
		return "", badRequest("No Trusted Publishing config found for repository `%s`.", repo)
	}
	var byOwner []*GitHubConfig
	var ownerIDs []string
	for _, c := range repoConfigs {
		if c.OwnerID == ownerID {
			byOwner = append(byOwner, c)
		} else {
			ownerIDs = append(ownerIDs, strconv.FormatInt(c.OwnerID, 10))
		}
	}
	if len(byOwner) == 0 {
		return "", badRequest("The Trusted Publishing config for repository `%s` does not match the repository owner ID (%d) in the JWT. Expected owner IDs: %s. Please recreate the Trusted Publishing config to update the repository owner ID.", repo, ownerID, strings.Join(ownerIDs, ", "))
	}
	var byWorkflow []*GitHubConfig
	var workflows []string
	for _, c := range byOwner {
		if c.Workflow == workflow {
			byWorkflow = append(byWorkflow, c)
		} else {
			workflows = append(workflows, "`"+c.Workflow+"`")
		}
	}
	if len(byWorkflow) == 0 {
		return "", badRequest("The Trusted Publishing config for repository `%s` does not match the workflow filename `%s` in the JWT. Expected workflow filenames: %s", repo, workflow, strings.Join(workflows, ", "))
	}
	envClaim, hasEnv := claims["environment"].(string)
	var matched []*GitHubConfig
	var envs []string
	for _, c := range byWorkflow {
		switch {
		case c.Environment == "":
			matched = append(matched, c)
		case hasEnv && strings.EqualFold(c.Environment, envClaim):
			matched = append(matched, c)
		default:
			envs = append(envs, "`"+c.Environment+"`")
		}
	}
	if len(matched) == 0 {
		if hasEnv {
			return "", badRequest("The Trusted Publishing config for repository `%s` does not match the environment `%s` in the JWT. Expected environments: %s", repo, envClaim, strings.Join(envs, ", "))
		}
		return "", badRequest("The Trusted Publishing config for repository `%s` requires an environment, but the JWT does not specify one. Expected environments: %s", repo, strings.Join(envs, ", "))
	}

	t := &tpToken{}
	t.Token = NewTPToken()
	h, _ := parseTPToken(t.Token)
	for _, c := range matched {
		if cr := s.crates[canonical(c.Crate)]; cr != nil && !containsInt(t.crateIDs, cr.ID) {
			t.crateIDs = append(t.crateIDs, cr.ID)
			t.Crates = append(t.Crates, cr.Name)
		}
	}
	t.Repository, t.RunID, t.SHA = repo, claimStr(claims, "run_id"), claimStr(claims, "sha")
	t.ExpiresAt = s.now().Add(TPTokenTTL)
	s.usedJTI[jti] = s.now()
	s.tpTokens[h] = t
	s.tpOrder = append(s.tpOrder, t)
	return t.Token, nil
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// decodeJSONBody follows axum's Json extractor, which crates.io uses: a
// non-JSON Content-Type is 415, a syntax error 400, a type error 422. A
// missing Content-Type is tolerated.
func decodeJSONBody(r *http.Request, v any) *apiErr {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		mt = strings.TrimSpace(strings.ToLower(mt))
		if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			return &apiErr{http.StatusUnsupportedMediaType, "Expected request with `Content-Type: application/json`"}
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return badRequest("Failed to buffer the request body: %v", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &apiErr{http.StatusUnprocessableEntity, "Failed to deserialize the JSON body into the target type: " + err.Error()}
		}
		return badRequest("Failed to parse the request body as JSON: %v", err)
	}
	return nil
}

// handleRevoke implements DELETE /api/v1/trusted_publishing/tokens (§3.2):
// 204 for any well-formed token, whether or not it exists.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	tok, present, e := extractToken(r)
	if e != nil {
		e.write(w)
		return
	}
	if !present {
		writeErr(w, http.StatusUnauthorized, detailMissingAuth)
		return
	}
	h, ok := parseTPToken(tok)
	if !ok {
		writeErr(w, http.StatusUnauthorized, detailParseToken)
		return
	}
	s.mu.Lock()
	if t := s.tpTokens[h]; t != nil {
		t.Revoked = true
		delete(s.tpTokens, h)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// lookupTP returns the live trusted-publishing token with hash h (caller
// holds s.mu).
func (s *Server) lookupTPLocked(h [32]byte) *tpToken {
	t := s.tpTokens[h]
	if t == nil || t.Revoked || !t.ExpiresAt.After(s.now()) {
		return nil
	}
	return t
}

// ---- github_configs (§3.6) ----

type configJSON struct {
	ID                int     `json:"id"`
	Crate             string  `json:"crate"`
	RepositoryOwner   string  `json:"repository_owner"`
	RepositoryOwnerID int64   `json:"repository_owner_id"`
	RepositoryName    string  `json:"repository_name"`
	WorkflowFilename  string  `json:"workflow_filename"`
	Environment       *string `json:"environment"`
	CreatedAt         string  `json:"created_at"`
}

func toConfigJSON(c *GitHubConfig) configJSON {
	var env *string
	if c.Environment != "" {
		e := c.Environment
		env = &e
	}
	return configJSON{c.ID, c.Crate, c.Owner, c.OwnerID, c.Repo, c.Workflow, env, c.CreatedAt.UTC().Format(time.RFC3339Nano)}
}

func (s *Server) isOwnerLocked(c *crateRec, login string) bool {
	for _, o := range c.Owners {
		if o == login {
			return true
		}
	}
	return false
}

func (s *Server) handleListConfigs(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	crate, hasCrate := q.Get("crate"), q.Has("crate")
	userID, hasUser := q.Get("user_id"), q.Has("user_id")
	if hasCrate && hasUser {
		writeErr(w, http.StatusBadRequest, "Cannot specify both `crate` and `user_id` query parameters")
		return
	}
	if !hasCrate && !hasUser {
		writeErr(w, http.StatusBadRequest, "Must specify either `crate` or `user_id` query parameter")
		return
	}
	perPage := 10
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeErr(w, http.StatusBadRequest, "invalid value for `per_page`")
			return
		}
		if n > 100 {
			writeErr(w, http.StatusBadRequest, "cannot request more than 100 items")
			return
		}
		perPage = n
	}
	seek := 0
	if v := q.Get("seek"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err == nil {
			seek, err = strconv.Atoi(string(b))
		}
		if err != nil {
			writeErr(w, http.StatusBadRequest, "invalid seek parameter")
			return
		}
	}
	var endpointCrate string
	if hasCrate {
		endpointCrate = crate
	}
	tok, e := s.authCookieOrToken(r)
	if e != nil {
		e.write(w)
		return
	}
	if hasUser && tok.Legacy() && !tok.session {
		writeErr(w, http.StatusForbidden, "This endpoint cannot be used with legacy API tokens. Use a scoped API token instead.")
		return
	}
	if hasCrate && !tok.allows("trusted-publishing", endpointCrate) {
		writeErr(w, http.StatusForbidden, detailPermissions)
		return
	}
	if hasUser && !tok.session && !hasScope(tok, "trusted-publishing") {
		writeErr(w, http.StatusForbidden, detailPermissions)
		return
	}
	s.mu.Lock()
	var all []*GitHubConfig
	if hasCrate {
		c := s.crates[canonical(crate)]
		if c == nil {
			s.mu.Unlock()
			writeErr(w, http.StatusNotFound, fmt.Sprintf("crate `%s` does not exist", crate))
			return
		}
		if !s.isOwnerLocked(c, tok.Owner) {
			s.mu.Unlock()
			writeErr(w, http.StatusBadRequest, "You are not an owner of this crate")
			return
		}
		for _, cfg := range s.configs {
			if canonical(cfg.Crate) == canonical(c.Name) {
				all = append(all, cfg)
			}
		}
	} else {
		u := s.users[tok.Owner]
		if u == nil || strconv.Itoa(u.ID) != userID {
			s.mu.Unlock()
			writeErr(w, http.StatusForbidden, "this action requires authentication as the specified user")
			return
		}
		for _, cfg := range s.configs {
			c := s.crates[canonical(cfg.Crate)]
			if c != nil && s.isOwnerLocked(c, tok.Owner) && (len(tok.CrateScopes) == 0 || tok.allows("trusted-publishing", c.Name)) {
				all = append(all, cfg)
			}
		}
	}
	s.mu.Unlock()
	var page []configJSON
	var last int
	for _, cfg := range all {
		if cfg.ID <= seek {
			continue
		}
		if len(page) == perPage {
			break
		}
		page = append(page, toConfigJSON(cfg))
		last = cfg.ID
	}
	var next any
	if len(page) == perPage && last != 0 && last < all[len(all)-1].ID {
		v := url.Values{}
		if hasCrate {
			v.Set("crate", crate)
		} else {
			v.Set("user_id", userID)
		}
		v.Set("per_page", strconv.Itoa(perPage))
		v.Set("seek", base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(last))))
		next = "?" + v.Encode()
	}
	if page == nil {
		page = []configJSON{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"github_configs": page, "meta": map[string]any{"total": len(all), "next_page": next}})
}

func hasScope(t *APIToken, scope string) bool {
	for _, s := range t.EndpointScopes {
		if s == scope {
			return true
		}
	}
	return false
}

func (s *Server) handleCreateConfig(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Config *struct {
			Crate            string  `json:"crate"`
			RepositoryOwner  string  `json:"repository_owner"`
			RepositoryName   string  `json:"repository_name"`
			WorkflowFilename string  `json:"workflow_filename"`
			Environment      *string `json:"environment"`
		} `json:"github_config"`
	}
	if e := decodeJSONBody(r, &req); e != nil {
		e.write(w)
		return
	}
	if req.Config == nil {
		writeErr(w, http.StatusUnprocessableEntity, "Failed to deserialize the JSON body into the target type: missing field `github_config`")
		return
	}
	in := req.Config
	tok, e := s.authCookieOrToken(r)
	if e != nil {
		e.write(w)
		return
	}
	if !tok.allows("trusted-publishing", in.Crate) {
		writeErr(w, http.StatusForbidden, detailPermissions)
		return
	}
	if !strings.HasSuffix(in.WorkflowFilename, ".yml") && !strings.HasSuffix(in.WorkflowFilename, ".yaml") {
		writeErr(w, http.StatusBadRequest, "Workflow filename must end with `.yml` or `.yaml`")
		return
	}
	s.mu.Lock()
	c := s.crates[canonical(in.Crate)]
	if c == nil {
		s.mu.Unlock()
		writeErr(w, http.StatusNotFound, fmt.Sprintf("crate `%s` does not exist", in.Crate))
		return
	}
	if !s.isOwnerLocked(c, tok.Owner) {
		s.mu.Unlock()
		writeErr(w, http.StatusBadRequest, "You are not an owner of this crate")
		return
	}
	ownerID, ok := s.ownerIDs[strings.ToLower(in.RepositoryOwner)]
	if !ok {
		s.mu.Unlock()
		writeErr(w, http.StatusBadRequest, "Unknown GitHub user or organization")
		return
	}
	cfg := &GitHubConfig{ID: s.id(), Crate: c.Name, Owner: in.RepositoryOwner, Repo: in.RepositoryName, OwnerID: ownerID, Workflow: in.WorkflowFilename, CreatedAt: s.now()}
	if in.Environment != nil {
		cfg.Environment = *in.Environment
	}
	s.configs = append(s.configs, cfg)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"github_config": toConfigJSON(cfg)})
}
