package npm

// Staged publishing (npm CLI ≥ 11.15: lib/commands/stage/*.js and
// libnpmpublish lib/publish.js). The routes, as npm calls them:
//
//	POST   /-/stage/package/{escapedName}  body as for PUT /{escapedName} → {"stageId"}
//	GET    /-/stage?page=&perPage=&package= → {"items": [...], "total"}
//	GET    /-/stage/{id}                   → one item
//	GET    /-/stage/{id}/tarball           → the staged .tgz
//	POST   /-/stage/{id}/approve           (2FA: npm-otp) → the version goes live
//	DELETE /-/stage/{id}                   (2FA: npm-otp) → the record and tarball are deleted
//
// An item carries the fields npm's lib/utils/key-values.js logStageItem
// prints: id, packageName, version, tag, createdAt, actor, actorType,
// shasum. Assumed where npm's client does not show the registry's side:
// the status codes of success (201 for staging, 200 otherwise), that tokens
// minted by the OIDC exchange may stage but not run the other stage
// subcommands (npm's docs: "Shortlived tokens cannot run npm stage
// subcommands"; answered 403 here), that approve and reject need the
// account's 2FA code, and that a rejected version's number is free again.

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// StagePlaceholder is the public version the registry shows for a package
// created by staging (npm's changelog, 2026-10-02).
const StagePlaceholder = "0.0.0-stage"

// Stage is one staged package version.
type Stage struct {
	ID          string
	PackageName string
	Version     string
	Tag         string
	Created     time.Time
	Actor       string
	ActorType   string // user | oidc

	manifest   map[string]any
	tarball    []byte
	provenance []byte
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// addStage records a staged version. Caller holds s.mu.
func (s *Server) addStage(name, ver, tag string, manifest map[string]any, tgz, prov []byte, t *token) *Stage {
	st := &Stage{ID: newUUID(), PackageName: name, Version: ver, Tag: tag, Created: s.now(), manifest: manifest, tarball: tgz, provenance: prov}
	switch t.kind {
	case KindOIDC:
		st.Actor, st.ActorType = t.repo, "oidc"
	default:
		st.Actor, st.ActorType = t.user, "user"
	}
	s.stages = append(s.stages, st)
	return st
}

// stagedVersion returns the stage of name@ver. Caller holds s.mu.
func (s *Server) stagedVersion(name, ver string) *Stage {
	for _, st := range s.stages {
		if st.PackageName == name && st.Version == ver {
			return st
		}
	}
	return nil
}

// storePlaceholder publishes the placeholder of a package created by
// staging. Caller holds s.mu.
func (s *Server) storePlaceholder(p *pkg, ver string) {
	manifest := map[string]any{"name": p.name, "version": ver, "_id": p.name + "@" + ver}
	tgz, err := BuildTarball([]byte(`{"name":"`+p.name+`","version":"`+ver+`"}`), nil)
	if err != nil {
		return
	}
	s.storeVersion(p, ver, manifest, tgz, nil)
	p.distTags["latest"] = ver
}

// Stages returns every staged version, oldest first.
func (s *Server) Stages() []Stage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Stage, 0, len(s.stages))
	for _, st := range s.stages {
		out = append(out, *st)
	}
	return out
}

// Approve publishes a staged version, as a maintainer's `npm stage approve`
// does (the rehearsal approves on the user's behalf).
func (s *Server) Approve(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.approve(id)
}

// Reject deletes a staged version, as `npm stage reject` does.
func (s *Server) Reject(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reject(id)
}

func (s *Server) stageIndex(id string) int {
	for i, st := range s.stages {
		if st.ID == id {
			return i
		}
	}
	return -1
}

// approve: caller holds s.mu.
func (s *Server) approve(id string) error {
	i := s.stageIndex(id)
	if i < 0 {
		return fmt.Errorf("npm emulator: no staged package %s", id)
	}
	st := s.stages[i]
	p := s.packages[st.PackageName]
	if p == nil {
		return fmt.Errorf("npm emulator: package %s is gone", st.PackageName)
	}
	s.stages = append(s.stages[:i], s.stages[i+1:]...)
	s.storeVersion(p, st.Version, st.manifest, st.tarball, st.provenance)
	p.distTags[st.Tag] = st.Version
	s.attempts = append(s.attempts, PublishAttempt{Name: st.PackageName, Version: st.Version, Tag: st.Tag, User: st.Actor, TokenKind: "approve", Provenance: st.provenance != nil, StageID: st.ID, Status: http.StatusOK, Time: s.now()})
	return nil
}

// reject: caller holds s.mu.
func (s *Server) reject(id string) error {
	i := s.stageIndex(id)
	if i < 0 {
		return fmt.Errorf("npm emulator: no staged package %s", id)
	}
	s.stages = append(s.stages[:i], s.stages[i+1:]...)
	return nil
}

func (st *Stage) item() map[string]any {
	return map[string]any{
		"id": st.ID, "packageName": st.PackageName, "version": st.Version, "tag": st.Tag,
		"createdAt": isoTime(st.Created), "actor": st.Actor, "actorType": st.ActorType,
		"shasum": Shasum(st.tarball),
	}
}

// routeStage serves /-/stage...; p is the escaped path.
func (s *Server) routeStage(w http.ResponseWriter, r *http.Request, p string) {
	const stagePkg = "/-/stage/package/"
	if strings.HasPrefix(p, stagePkg) && r.Method == http.MethodPost {
		name, rest, ok := splitName("/" + strings.TrimPrefix(p, stagePkg))
		if !ok || rest != "" {
			writeError(w, http.StatusNotFound, msgNotFound)
			return
		}
		s.publish(w, r, name, true)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookup(r)
	if t == nil {
		writeError(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	if t.kind == KindOIDC {
		writeError(w, http.StatusForbidden, msgOIDCDenied)
		return
	}
	if p == "/-/stage" && r.Method == http.MethodGet {
		s.listStages(w, r, t)
		return
	}
	id, action, _ := strings.Cut(strings.TrimPrefix(p, "/-/stage/"), "/")
	i := s.stageIndex(id)
	if i < 0 || !s.maintains(t, s.stages[i].PackageName) {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	st := s.stages[i]
	switch {
	case action == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, st.item())
	case action == "tarball" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(st.tarball)
	case action == "approve" && r.Method == http.MethodPost, action == "" && r.Method == http.MethodDelete:
		u := s.users[t.user]
		if u == nil || u.otp == "" {
			writeError(w, http.StatusForbidden, "Two-factor authentication must be enabled on your account to approve or reject staged packages")
			return
		}
		if r.Header.Get("npm-otp") != u.otp {
			w.Header().Set("WWW-Authenticate", "OTP")
			writeError(w, http.StatusUnauthorized, msgOTPRequired)
			return
		}
		if action == "approve" {
			if err := s.approve(id); err != nil {
				writeError(w, http.StatusConflict, err.Error())
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"ok": true})
			return
		}
		_ = s.reject(id)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
	}
}

// maintains: the user token may act on the package. Caller holds s.mu.
func (s *Server) maintains(t *token, name string) bool {
	p := s.packages[name]
	return p != nil && contains(p.maintainers, t.user) && s.tokenCovers(t, name)
}

func (s *Server) listStages(w http.ResponseWriter, r *http.Request, t *token) {
	q := r.URL.Query()
	filter := q.Get("package")
	var mine []*Stage
	for _, st := range s.stages {
		if (filter == "" || st.PackageName == filter) && s.maintains(t, st.PackageName) {
			mine = append(mine, st)
		}
	}
	sort.SliceStable(mine, func(i, j int) bool { return mine[i].Created.Before(mine[j].Created) })
	per, _ := strconv.Atoi(q.Get("perPage"))
	if per <= 0 || per > 100 {
		per = 100
	}
	page, _ := strconv.Atoi(q.Get("page"))
	if page < 0 {
		page = 0
	}
	lo, hi := min(page*per, len(mine)), min(page*per+per, len(mine))
	items := make([]map[string]any, 0, hi-lo)
	for _, st := range mine[lo:hi] {
		items = append(items, st.item())
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "total": len(mine)})
}

// OmitExchangePermissions makes the OIDC exchange answer with the token only
// from now on (Options.ExchangeOmitsPermissions), as npm's registry may.
func (s *Server) OmitExchangePermissions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.ExchangeOmitsPermissions = true
}

// trustList serves GET /-/package/{escapedName}/trust, what `npm trust
// list` reads (lib/commands/trust/list.js): the package's trusted-publisher
// configurations, `[{"id","type":"github","claims":{"repository",
// "workflow_ref":{"file"},"environment"?},"permissions":[...]}]`
// (lib/commands/trust/github.js bodyToOptions, lib/trust-cmd.js). Only a
// maintainer's token may read it; the emulator asks no OTP for reading.
func (s *Server) trustList(w http.ResponseWriter, r *http.Request, escaped string) {
	name, err := unescape(escaped)
	if err != nil {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookup(r)
	if t == nil || t.kind == KindOIDC {
		writeError(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	p := s.packages[name]
	if p == nil || !s.maintains(t, name) {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	out := []map[string]any{}
	if tp := p.publisher; tp != nil {
		claims := map[string]any{"repository": tp.Owner + "/" + tp.Repo, "workflow_ref": map[string]any{"file": tp.Workflow}}
		if tp.Environment != "" {
			claims["environment"] = tp.Environment
		}
		perms := tp.Permissions
		if perms == nil {
			perms = []string{PermCreatePackage, PermCreateStagedPackage}
		}
		out = append(out, map[string]any{"id": "tp-" + checksum62(name), "type": "github", "claims": claims, "permissions": perms})
	}
	writeJSON(w, http.StatusOK, out)
}
