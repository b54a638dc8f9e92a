package npm

import (
	"crypto/sha512"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Exchange texts (protocols.md §4.1): unlike other errors they are in `message`.
const (
	msgExchangeNotFound     = "OIDC token exchange error - package not found"
	msgExchangeUnauthorized = "OIDC token exchange error - unauthorized"
	// npm supports only GitHub-hosted runners for trusted publishing
	// (protocols.md §4.2 and its notes: 422 "Unsupported GitHub Actions
	// runner environment").
	msgExchangeRunner = "OIDC token exchange error - Unsupported GitHub Actions runner environment"
)

// exchange handles POST /-/npm/v1/oidc/token/exchange/package/{escapedName}.
// The scope's slash must arrive encoded; a decoded path names no package.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request, escaped string) {
	name := ""
	if !strings.Contains(escaped, "/") {
		name, _ = url.PathUnescape(escaped)
	}
	rec := Exchange{Package: name}
	answer := func(status int, msg string) {
		rec.Status, rec.Message = status, msg
		s.mu.Lock()
		s.exchanges = append(s.exchanges, rec)
		s.mu.Unlock()
		writeMessage(w, status, msg)
	}
	idToken := bearer(r)
	if idToken == "" || s.opts.Verifier == nil {
		answer(http.StatusUnauthorized, msgExchangeUnauthorized)
		return
	}
	claims, err := s.opts.Verifier.Verify(idToken, s.Audience(), s.opts.Leeway)
	if err != nil {
		answer(http.StatusUnauthorized, msgExchangeUnauthorized)
		return
	}
	rec.Claims = map[string]any(claims)
	if re, _ := claims["runner_environment"].(string); re != "" && re != "github-hosted" {
		answer(http.StatusUnprocessableEntity, msgExchangeRunner)
		return
	}

	s.mu.Lock()
	p := s.packages[name]
	var tp *TrustedPublisher
	if p != nil && p.publisher != nil {
		c := *p.publisher
		tp = &c
	}
	s.mu.Unlock()
	if name == "" || p == nil || tp == nil || !matches(*tp, claims) {
		answer(http.StatusNotFound, msgExchangeNotFound)
		return
	}

	tok := NewToken()
	repo, _ := claims["repository"].(string)
	s.mu.Lock()
	now := s.now()
	actions := tp.Permissions
	if actions == nil {
		actions = []string{PermCreatePackage, PermCreateStagedPackage}
	}
	s.tokens[tok] = &token{value: tok, kind: KindOIDC, user: "", packages: []string{name}, perm: PermReadWrite, repo: repo, actions: actions, created: now, expiry: now.Add(s.opts.OIDCTokenTTL)}
	rec.Status = http.StatusCreated
	s.exchanges = append(s.exchanges, rec)
	omit := s.opts.ExchangeOmitsPermissions
	s.mu.Unlock()
	reply := map[string]any{"token": tok}
	// The confirmed answer is {"token"} (npm's lib/utils/oidc.js reads only
	// that). A connection restricted by the publish/stage choice also says
	// which actions the token may take, in npm's trust-config names; that
	// field is an assumption of this emulator (ExchangeOmitsPermissions
	// turns it off), and clients must work without it.
	if tp.Permissions != nil && !omit {
		reply["permissions"] = tp.Permissions
	}
	writeJSON(w, http.StatusCreated, reply)
}

// matches applies npm's trusted-publisher rule: the caller's repository and
// workflow filename (from workflow_ref, not job_workflow_ref) and, when
// configured, the environment; all case-sensitive.
func matches(tp TrustedPublisher, claims map[string]any) bool {
	str := func(k string) string { v, _ := claims[k].(string); return v }
	if str("repository") != tp.Owner+"/"+tp.Repo {
		return false
	}
	ref := str("workflow_ref")
	path, _, _ := strings.Cut(ref, "@")
	prefix := tp.Owner + "/" + tp.Repo + "/.github/workflows/"
	if !strings.HasPrefix(path, prefix) || strings.TrimPrefix(path, prefix) != tp.Workflow {
		return false
	}
	if tp.Environment != "" && str("environment") != tp.Environment {
		return false
	}
	// npm looks the publisher up by the subject's default shape: a
	// customised or immutable-format `sub` finds no package (npm/cli#9969,
	// protocols.md §4.2).
	if sub, ok := claims["sub"].(string); ok && !strings.HasPrefix(sub, "repo:"+str("repository")+":") {
		return false
	}
	return true
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookup(r)
	// An exchanged token is not a user session; whoami does not reflect it.
	if t == nil || t.kind == KindOIDC {
		writeError(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"username": t.user})
}

// listTokens serves GET /-/npm/v1/tokens: the account's granular tokens,
// redacted to first8...last4, paged with urls.next. Session and exchanged
// tokens are never listed.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookup(r)
	if t == nil || t.kind == KindOIDC {
		writeError(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	if s.opts.TokenListForbidden {
		writeError(w, http.StatusForbidden, "Forbidden")
		return
	}
	var mine []*token
	for _, x := range s.tokens {
		if x.user == t.user && x.kind == KindGranular {
			mine = append(mine, x)
		}
	}
	sort.Slice(mine, func(i, j int) bool {
		if !mine[i].created.Equal(mine[j].created) {
			return mine[i].created.Before(mine[j].created)
		}
		return mine[i].value < mine[j].value
	})
	per := s.opts.TokensPerPage
	if v, err := strconv.Atoi(r.URL.Query().Get("perPage")); err == nil && v > 0 && v < per {
		per = v
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page < 0 {
		page = 0
	}
	lo, hi := page*per, page*per+per
	if lo > len(mine) {
		lo = len(mine)
	}
	if hi > len(mine) {
		hi = len(mine)
	}
	objects := make([]map[string]any, 0, hi-lo)
	for _, x := range mine[lo:hi] {
		objects = append(objects, tokenEntry(x))
	}
	urls := map[string]any{}
	if hi < len(mine) {
		urls["next"] = s.URL() + "-/npm/v1/tokens?page=" + strconv.Itoa(page+1) + "&perPage=" + strconv.Itoa(per)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"objects": objects, "total": len(mine), "urls": urls, "userHasOldFormatToken": false,
	})
}

func tokenEntry(t *token) map[string]any {
	sum := sha512.Sum512([]byte(t.value))
	action := "write"
	if t.perm == PermReadOnly {
		action = "read"
	}
	scopes := make([]map[string]string, 0, len(t.packages))
	for _, p := range t.packages {
		typ := "package"
		if strings.HasPrefix(p, "@") && !strings.Contains(p, "/") {
			typ = "scope"
		}
		scopes = append(scopes, map[string]string{"name": p, "type": typ})
	}
	var accessed any
	if !t.accessed.IsZero() {
		accessed = isoTime(t.accessed)
	}
	var revoked any
	if t.revoked {
		revoked = isoTime(t.created)
	}
	return map[string]any{
		"name": t.name, "description": "", "key": hex.EncodeToString(sum[:]),
		"token":  RedactToken(t.value),
		"expiry": isoTime(t.expiry), "cidr": []string{}, "bypass_2fa": false, "revoked": revoked,
		"created": isoTime(t.created), "updated": isoTime(t.created), "accessed": accessed,
		"permissions": []map[string]string{{"name": "package", "action": action}},
		"scopes":      scopes,
	}
}

// RedactToken is the registry's display form: first 8 and last 4 characters.
func RedactToken(t string) string {
	if len(t) <= 12 {
		return "***"
	}
	return t[:8] + "..." + t[len(t)-4:]
}
