package crates

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// maxVersions picks max_version, newest_version and max_stable_version.
func maxVersions(c *crateRec) (maxV, newest, maxStable string) {
	maxV, newest, maxStable = "0.0.0", "0.0.0", ""
	var best, bestStable *semver.Version
	for _, v := range c.Versions {
		newest = v.Num
		if v.Yanked {
			continue
		}
		sv, err := semver.NewVersion(v.Num)
		if err != nil {
			continue
		}
		if best == nil || sv.GreaterThan(best) {
			best, maxV = sv, v.Num
		}
		if sv.Prerelease() == "" && (bestStable == nil || sv.GreaterThan(bestStable)) {
			bestStable, maxStable = sv, v.Num
		}
	}
	return
}

func (s *Server) encodeCrateLocked(c *crateRec) map[string]any {
	maxV, newest, maxStable := maxVersions(c)
	ids := make([]int, 0, len(c.Versions))
	downloads := 0
	for _, v := range c.Versions {
		ids = append(ids, v.ID)
		downloads += v.Downloads
	}
	var def any
	if len(c.Versions) > 0 {
		def = maxV
	}
	return map[string]any{
		"id": c.Name, "name": c.Name, "updated_at": ts(c.UpdatedAt), "versions": ids,
		"keywords": []string{}, "categories": []string{}, "badges": []any{},
		"created_at": ts(c.CreatedAt), "downloads": downloads, "recent_downloads": downloads,
		"default_version": def, "num_versions": len(c.Versions), "yanked": false,
		"max_version": maxV, "newest_version": newest, "max_stable_version": nullable(maxStable),
		"description": nullable(c.Description), "homepage": nullable(c.Homepage),
		"documentation": nullable(c.Documentation), "repository": nullable(c.Repository),
		"links": map[string]any{
			"version_downloads": "/api/v1/crates/" + c.Name + "/downloads", "versions": nil,
			"owners": "/api/v1/crates/" + c.Name + "/owners", "owner_team": "/api/v1/crates/" + c.Name + "/owner_team",
			"owner_user": "/api/v1/crates/" + c.Name + "/owner_user", "reverse_dependencies": "/api/v1/crates/" + c.Name + "/reverse_dependencies",
		},
		"exact_match": false, "trustpub_only": c.TrustpubOnly,
	}
}

func (s *Server) encodeVersionLocked(c *crateRec, v *versionRec) map[string]any {
	var publishedBy any
	if v.PublishedBy != nil {
		publishedBy = map[string]any{"id": v.PublishedBy.ID, "login": v.PublishedBy.Login, "name": nil, "avatar": nil, "url": "https://github.com/" + v.PublishedBy.Login}
	}
	var tp any
	if v.Trustpub != nil {
		tp = map[string]any{"provider": "github", "repository": v.Trustpub.Repository, "run_id": v.Trustpub.RunID, "sha": v.Trustpub.SHA}
	}
	base := "/api/v1/crates/" + c.Name + "/" + v.Num
	return map[string]any{
		"id": v.ID, "crate": c.Name, "num": v.Num, "dl_path": base + "/download", "readme_path": base + "/readme",
		"created_at": ts(v.CreatedAt), "updated_at": ts(v.CreatedAt), "downloads": v.Downloads,
		"features": v.Features, "yanked": v.Yanked, "yank_message": nil, "lib_links": nullable(v.Links),
		"license": nullable(v.License), "crate_size": len(v.Data),
		"links":        map[string]any{"dependencies": base + "/dependencies", "version_downloads": base + "/downloads", "authors": base + "/authors"},
		"published_by": publishedBy, "audit_actions": []any{}, "checksum": v.Checksum,
		"rust_version": nullable(v.RustVersion), "has_lib": true, "bin_names": []string{}, "edition": nullable(v.Edition),
		"description": nullable(v.Description), "homepage": nullable(v.Homepage), "documentation": nil,
		"repository": nullable(v.Repository), "trustpub_data": tp, "linecounts": map[string]any{},
	}
}

// handleCrate: GET /api/v1/crates/{name}.
func (s *Server) handleCrate(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.mu.Lock()
	c := s.crates[canonical(name)]
	if c == nil {
		s.mu.Unlock()
		// A crate of the upstream registry exists too (for the checks that
		// ask whether a dependency is known); the emulator holds no data on it.
		if s.upstreamHas(name) {
			writeJSON(w, http.StatusOK, map[string]any{"crate": map[string]any{"id": name, "name": name}, "versions": []any{}, "keywords": []any{}, "categories": []any{}})
			return
		}
		writeErr(w, http.StatusNotFound, fmt.Sprintf("crate `%s` does not exist", name))
		return
	}
	defer s.mu.Unlock()
	vs := make([]any, 0, len(c.Versions))
	for i := len(c.Versions) - 1; i >= 0; i-- {
		vs = append(vs, s.encodeVersionLocked(c, c.Versions[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"crate": s.encodeCrateLocked(c), "versions": vs, "keywords": []any{}, "categories": []any{}})
}

// handleOwners: GET /api/v1/crates/{name}/owners (public).
func (s *Server) handleOwners(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.crates[canonical(name)]
	if c == nil {
		writeErr(w, http.StatusNotFound, fmt.Sprintf("crate `%s` does not exist", name))
		return
	}
	users := []map[string]any{}
	for _, login := range c.Owners {
		u := s.userLocked(login)
		users = append(users, map[string]any{"id": u.ID, "login": u.Login, "kind": "user", "url": "https://github.com/" + u.Login, "name": nil, "avatar": nil})
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users})
}

// handleVersion: GET /api/v1/crates/{name}/{version} (§3.5).
func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	name, num := r.PathValue("name"), r.PathValue("version")
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.crates[canonical(name)]
	if c == nil {
		writeErr(w, http.StatusNotFound, fmt.Sprintf("crate `%s` does not exist", name))
		return
	}
	for _, v := range c.Versions {
		if v.Num == num {
			writeJSON(w, http.StatusOK, map[string]any{"version": s.encodeVersionLocked(c, v)})
			return
		}
	}
	writeErr(w, http.StatusNotFound, fmt.Sprintf("crate `%s` does not have a version `%s`", name, num))
}

// handleDownload serves the .crate (crates.io redirects to its CDN; serving
// the bytes directly is equivalent for clients).
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	if !s.readAllowed(w, r) {
		return
	}
	name, num := r.PathValue("name"), r.PathValue("version")
	s.mu.Lock()
	var data []byte
	if c := s.crates[canonical(name)]; c != nil {
		for _, v := range c.Versions {
			if v.Num == num {
				v.Downloads++
				data = v.Data
			}
		}
	}
	s.mu.Unlock()
	if data == nil {
		if up := s.upstreamOf(); up != nil {
			if b, err := up.download(r.Context(), name, num); err == nil {
				data = b
			}
		}
	}
	if data == nil {
		writeErr(w, http.StatusNotFound, fmt.Sprintf("crate `%s` does not have a version `%s`", name, num))
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// handleMe: /api/v1/me and /api/v1/me/tokens are cookie-only; a token only
// learns whether it is live (§7.7).
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	u := s.sessionUser(r)
	if u == nil {
		if _, e := s.authAPIToken(r); e != nil {
			e.write(w)
			return
		}
		writeErr(w, http.StatusForbidden, detailWebsiteOnly)
		return
	}
	s.mu.Lock()
	owned := []map[string]any{}
	for _, c := range s.crates {
		if s.isOwnerLocked(c, u.Login) {
			owned = append(owned, map[string]any{"id": c.ID, "name": c.Name, "email_notifications": true})
		}
	}
	s.mu.Unlock()
	sort.Slice(owned, func(i, j int) bool { return owned[i]["name"].(string) < owned[j]["name"].(string) })
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"user": map[string]any{"id": u.ID, "login": u.Login, "name": nil, "email": u.Login + "@example.com",
			"email_verified": !u.Unverified, "email_verification_sent": true, "avatar": nil,
			"url": "https://github.com/" + u.Login, "is_admin": false, "publish_notifications": true, "created_at": ts(time.Unix(0, 0))},
		"owned_crates": owned,
	})
}

// NewSession returns a browser session cookie (cargo_session) for login, for
// the cookie-only endpoints (/api/v1/me, /api/v1/me/tokens).
func (s *Server) NewSession(login string) *http.Cookie {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(login)
	v := randomAlnum(32)
	s.sessions[v] = login
	return &http.Cookie{Name: "cargo_session", Value: v}
}

func (s *Server) sessionUser(r *http.Request) *user {
	c, err := r.Cookie("cargo_session")
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	login, ok := s.sessions[c.Value]
	if !ok {
		return nil
	}
	u := *s.users[login]
	return &u
}

// handleListTokens: GET /api/v1/me/tokens[?expired_days=N], cookie-only.
// Newest first; revoked tokens never, expired ones only within N days.
func (s *Server) handleListTokens(w http.ResponseWriter, r *http.Request) {
	u := s.sessionUser(r)
	if u == nil {
		s.handleMe(w, r)
		return
	}
	days, _ := strconv.Atoi(r.URL.Query().Get("expired_days"))
	now := s.now()
	s.mu.Lock()
	var list []*APIToken
	for _, t := range s.apiTokens {
		if t.Owner != u.Login || t.Revoked {
			continue
		}
		if t.ExpiredAt != nil && !t.ExpiredAt.After(now) && t.ExpiredAt.Before(now.AddDate(0, 0, -days)) {
			continue
		}
		list = append(list, t)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID > list[j].ID })
	out := make([]map[string]any, 0, len(list))
	for _, t := range list {
		out = append(out, encodeToken(t))
	}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"api_tokens": out})
}

// handleCreateToken: PUT /api/v1/me/tokens creates a token for a browser
// session; an API token may not create tokens.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	u := s.sessionUser(r)
	if u == nil {
		if _, e := s.authAPIToken(r); e != nil {
			e.write(w)
			return
		}
		writeErr(w, http.StatusBadRequest, "cannot use an API token to create a new API token")
		return
	}
	var req struct {
		Token *struct {
			Name           string     `json:"name"`
			CrateScopes    []string   `json:"crate_scopes"`
			EndpointScopes []string   `json:"endpoint_scopes"`
			ExpiredAt      *time.Time `json:"expired_at"`
		} `json:"api_token"`
	}
	if e := decodeJSONBody(r, &req); e != nil {
		e.write(w)
		return
	}
	if req.Token == nil || req.Token.Name == "" {
		writeErr(w, http.StatusBadRequest, "name must have a value")
		return
	}
	t := &APIToken{Owner: u.Login, Name: req.Token.Name, Token: NewAPITokenString(),
		CrateScopes: req.Token.CrateScopes, EndpointScopes: req.Token.EndpointScopes, ExpiredAt: req.Token.ExpiredAt}
	s.AddToken(t)
	enc := encodeToken(t)
	enc["token"] = t.Token
	writeJSON(w, http.StatusOK, map[string]any{"api_token": enc})
}

// handleMeToken: GET /api/v1/me/tokens/{id}, legacy tokens only.
func (s *Server) handleMeToken(w http.ResponseWriter, r *http.Request) {
	tok, e := s.authAPIToken(r)
	if e != nil {
		e.write(w)
		return
	}
	if !tok.allows("", "") {
		writeErr(w, http.StatusForbidden, detailPermissions)
		return
	}
	id, err := strconv.Atoi(r.PathValue("id"))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		for _, t := range s.apiTokens {
			if t.ID == id && t.Owner == tok.Owner && !t.Revoked {
				writeJSON(w, http.StatusOK, map[string]any{"api_token": encodeToken(t)})
				return
			}
		}
	}
	writeErr(w, http.StatusNotFound, "Not Found")
}

func encodeToken(t *APIToken) map[string]any {
	opt := func(p *time.Time) any {
		if p == nil {
			return nil
		}
		return ts(*p)
	}
	var cs, es any
	if t.CrateScopes != nil {
		cs = t.CrateScopes
	}
	if t.EndpointScopes != nil {
		es = t.EndpointScopes
	}
	return map[string]any{"id": t.ID, "name": t.Name, "created_at": ts(t.CreatedAt), "last_used_at": opt(t.LastUsedAt),
		"crate_scopes": cs, "endpoint_scopes": es, "expired_at": opt(t.ExpiredAt)}
}

// handleIndexConfig: the sparse index's config.json.
func (s *Server) handleIndexConfig(w http.ResponseWriter, r *http.Request) {
	if !s.readAllowed(w, r) {
		return
	}
	cfg := map[string]any{"dl": s.srv.URL + "/api/v1/crates", "api": s.srv.URL}
	if s.opts.AuthRequired {
		cfg["auth-required"] = true
	}
	writeJSON(w, http.StatusOK, cfg)
}

// readAllowed enforces AuthRequired on index and download reads: any live
// API token or trusted-publishing token may read.
func (s *Server) readAllowed(w http.ResponseWriter, r *http.Request) bool {
	if !s.opts.AuthRequired {
		return true
	}
	tok, present, _ := extractToken(r)
	if present {
		if h, ok := parseTPToken(tok); ok {
			s.mu.Lock()
			live := s.lookupTPLocked(h) != nil
			s.mu.Unlock()
			if live {
				return true
			}
		} else if _, e := s.authAPIToken(r); e == nil {
			return true
		}
	}
	w.Header().Set("WWW-Authenticate", `Cargo login_url="`+s.srv.URL+`/me"`)
	writeErr(w, http.StatusUnauthorized, "this registry requires authentication")
	return false
}

// IndexPath is the sparse-index file path of a crate name (lowercased).
func IndexPath(name string) string {
	n := strings.ToLower(name)
	switch len(n) {
	case 0:
		return ""
	case 1:
		return "1/" + n
	case 2:
		return "2/" + n
	case 3:
		return "3/" + n[:1] + "/" + n
	}
	return n[0:2] + "/" + n[2:4] + "/" + n
}

type indexLine struct {
	Name        string              `json:"name"`
	Vers        string              `json:"vers"`
	Deps        []indexDep          `json:"deps"`
	Cksum       string              `json:"cksum"`
	Features    map[string][]string `json:"features"`
	Features2   map[string][]string `json:"features2,omitempty"`
	Yanked      bool                `json:"yanked"`
	Links       *string             `json:"links"`
	V           int                 `json:"v"`
	RustVersion *string             `json:"rust_version,omitempty"`
	Pubtime     string              `json:"pubtime,omitempty"`
}

// handleIndexFile serves /index/{path} for a crate, one JSON line per version.
func (s *Server) handleIndexFile(w http.ResponseWriter, r *http.Request) {
	if !s.readAllowed(w, r) {
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/index/")
	i := strings.LastIndexByte(p, '/')
	name := p[i+1:]
	if name == "" || IndexPath(name) != p {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	s.mu.Lock()
	var buf bytes.Buffer
	local := map[string]bool{}
	for _, c := range s.crates {
		if strings.ToLower(c.Name) != strings.ToLower(name) {
			continue
		}
		for _, v := range c.Versions {
			if !v.Indexed {
				continue
			}
			local[v.Num] = true
			line := indexLine{Name: c.Name, Vers: v.Num, Deps: v.Deps, Cksum: v.Checksum, Yanked: v.Yanked, V: 1,
				Pubtime: v.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")}
			if line.Deps == nil {
				line.Deps = []indexDep{}
			}
			line.Features, line.Features2 = splitFeatures(v.Features)
			if line.Features2 != nil {
				line.V = 2
			}
			if v.Links != "" {
				l := v.Links
				line.Links = &l
			}
			if v.RustVersion != "" {
				rv := v.RustVersion
				line.RustVersion = &rv
			}
			b, _ := json.Marshal(line)
			buf.Write(b)
			buf.WriteByte('\n')
		}
	}
	s.mu.Unlock()
	// Every other version (and every crate not being released) comes from
	// the upstream registry, when one is set.
	if more, ok := s.upstreamLines(r.Context(), p, name, local); ok {
		buf.Write(more)
	}
	if buf.Len() == 0 {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	sum := sha256.Sum256(buf.Bytes())
	etag := fmt.Sprintf(`"%x"`, sum[:16])
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// splitFeatures moves features using the `dep:` or `?/` syntax to features2,
// as crates.io does for older cargo's sake.
func splitFeatures(all map[string][]string) (map[string][]string, map[string][]string) {
	f1 := map[string][]string{}
	var f2 map[string][]string
	for k, vals := range all {
		modern := false
		for _, v := range vals {
			if strings.HasPrefix(v, "dep:") || strings.Contains(v, "?/") {
				modern = true
			}
		}
		if modern {
			if f2 == nil {
				f2 = map[string][]string{}
			}
			f2[k] = vals
		} else {
			f1[k] = vals
		}
	}
	return f1, f2
}

// handleYank: DELETE …/yank and PUT …/unyank (cargo yank [--undo]). API
// tokens need the `yank` scope for the crate and must belong to an owner.
func (s *Server) handleYank(w http.ResponseWriter, r *http.Request) {
	name, num := r.PathValue("name"), r.PathValue("version")
	tok, e := s.authAPIToken(r)
	if e != nil {
		e.write(w)
		return
	}
	if !tok.allows("yank", name) {
		writeErr(w, http.StatusForbidden, detailPermissions)
		return
	}
	s.mu.Lock()
	c := s.crates[canonical(name)]
	if c == nil {
		s.mu.Unlock()
		writeErr(w, http.StatusNotFound, fmt.Sprintf("crate `%s` does not exist", name))
		return
	}
	if !s.isOwnerLocked(c, tok.Owner) {
		s.mu.Unlock()
		writeErr(w, http.StatusForbidden, "must already be an owner to yank or unyank")
		return
	}
	s.mu.Unlock()
	if !s.Yank(name, num, r.Method == http.MethodDelete) {
		writeErr(w, http.StatusNotFound, fmt.Sprintf("crate `%s` does not have a version `%s`", name, num))
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}
