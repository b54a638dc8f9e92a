package npm

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Registry texts (protocols.md §4.3). Clients and users match on them.
const (
	msgNotFound        = "Not found"
	msgPublishOver     = "You cannot publish over the previously published versions: %s."
	msgPaymentRequired = "You must sign up for private packages"
	msgNoPermission    = "You do not have permission to publish \"%s\". Are you logged in as the correct user?"
	msgTooSimilar      = "Package name too similar to existing package %s; try renaming your package to '@%s/%s' instead."
	msgOTPRequired     = "This operation requires a one-time password from your authenticator."
	msgOIDCDenied      = "OIDC permission denied for this action"
	msgProvenancePre   = "Error verifying sigstore provenance bundle: "
	msgRepoMismatch    = msgProvenancePre + "Failed to validate repository information: package.json: \"repository.url\" is \"%s\", expected to match \"%s\" from provenance"
)

type attachment struct {
	ContentType string `json:"content_type"`
	Data        string `json:"data"`
	Length      int    `json:"length"`
}

type publishBody struct {
	ID          string                     `json:"_id"`
	Name        string                     `json:"name"`
	DistTags    map[string]string          `json:"dist-tags"`
	Versions    map[string]json.RawMessage `json:"versions"`
	Access      *string                    `json:"access"`
	Attachments map[string]attachment      `json:"_attachments"`
}

// publish handles PUT /{escapedName} and, with stage set, npm's staged
// publish POST /-/stage/package/{escapedName} (libnpmpublish lib/publish.js:
// the same body, answered with {"stageId"}).
func (s *Server) publish(w http.ResponseWriter, r *http.Request, name string, stage bool) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 256<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "could not read request body")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	att := PublishAttempt{Name: name, Time: s.now(), Staged: stage}
	fail := func(status int, msg string) {
		att.Status, att.Error = status, msg
		s.attempts = append(s.attempts, att)
		writeError(w, status, msg)
	}

	var body publishBody
	if err := json.Unmarshal(raw, &body); err != nil {
		fail(http.StatusBadRequest, "Invalid JSON body: "+err.Error())
		return
	}
	if len(body.Versions) == 1 {
		for v := range body.Versions {
			att.Version = v
		}
	}
	for tag := range body.DistTags {
		att.Tag = tag
	}
	if body.Access != nil {
		att.Access = *body.Access
	}

	// Unknown, revoked or expired tokens get 404, exactly like a missing
	// package: the registry does not say "unauthorized" (protocols.md §4.3).
	t := s.lookup(r)
	if t == nil {
		fail(http.StatusNotFound, msgNotFound)
		return
	}
	att.User, att.TokenKind = t.user, t.kind
	// A trusted publisher allows `npm publish`, `npm stage publish` or both;
	// the token minted for it carries that choice. The refusal is the
	// registry's words for a stage-only connection (kg86/visstr#40,
	// gtrabanco/agentic-workflow#39).
	if t.kind == KindOIDC {
		need := PermCreatePackage
		if stage {
			need = PermCreateStagedPackage
		}
		if !contains(t.actions, need) {
			fail(http.StatusForbidden, msgOIDCDenied)
			return
		}
	}
	// Staging never asks for 2FA: that is deferred to approve/reject.
	if u := s.users[t.user]; !stage && u != nil && u.otp != "" && t.kind != KindOIDC && r.Header.Get("npm-otp") != u.otp {
		w.Header().Set("WWW-Authenticate", "OTP")
		fail(http.StatusUnauthorized, msgOTPRequired)
		return
	}
	if !s.tokenCovers(t, name) || t.perm == PermReadOnly {
		fail(http.StatusNotFound, msgNotFound)
		return
	}

	if body.Name != name {
		fail(http.StatusBadRequest, fmt.Sprintf("Package name in body (%q) does not match the URL (%q)", body.Name, name))
		return
	}
	if len(body.Versions) != 1 {
		fail(http.StatusBadRequest, "Exactly one version must be published at a time")
		return
	}
	ver := att.Version
	if _, err := semver.StrictNewVersion(ver); err != nil {
		fail(http.StatusBadRequest, "Invalid version: "+ver)
		return
	}
	var manifest map[string]any
	if err := json.Unmarshal(body.Versions[ver], &manifest); err != nil {
		fail(http.StatusBadRequest, "Invalid version manifest: "+err.Error())
		return
	}
	if mv, _ := manifest["version"].(string); mv != ver {
		fail(http.StatusBadRequest, "Version in manifest does not match: "+mv)
		return
	}
	if mn, _ := manifest["name"].(string); mn != name {
		fail(http.StatusBadRequest, "Name in manifest does not match: "+mn)
		return
	}

	p := s.packages[name]
	if p != nil {
		if t.kind != KindOIDC && !contains(p.maintainers, t.user) {
			fail(http.StatusForbidden, fmt.Sprintf(msgNoPermission, name))
			return
		}
		// Staged versions share the version index with published ones.
		if p.versions[ver] != nil || p.removed[ver] || s.stagedVersion(name, ver) != nil {
			fail(http.StatusForbidden, fmt.Sprintf(msgPublishOver, ver))
			return
		}
	} else {
		if t.kind == KindOIDC { // exchange tokens are minted for existing packages only
			fail(http.StatusNotFound, msgNotFound)
			return
		}
		if other := s.tooSimilar(name); other != "" {
			fail(http.StatusForbidden, fmt.Sprintf(msgTooSimilar, other, t.user, name))
			return
		}
		access := "public"
		if strings.HasPrefix(name, "@") {
			access = "restricted" // the registry's default for scoped packages
		}
		if body.Access != nil && *body.Access != "" {
			access = *body.Access
		}
		if access == "restricted" && !strings.HasPrefix(name, "@") {
			fail(http.StatusBadRequest, "Unscoped packages cannot be restricted")
			return
		}
		if access == "restricted" && !s.opts.PaidAccounts {
			fail(http.StatusPaymentRequired, msgPaymentRequired)
			return
		}
		p = &pkg{name: name, access: access, maintainers: []string{t.user}, versions: map[string]*version{}, distTags: map[string]string{}, removed: map[string]bool{}}
	}

	tgz, status, msg := s.checkTarball(&body, name, ver, manifest)
	if status != 0 {
		fail(status, msg)
		return
	}
	prov, status, msg := s.checkProvenance(&body, name, ver, manifest, t)
	if status != 0 {
		fail(status, msg)
		return
	}
	att.Provenance = prov != nil

	if stage {
		if s.packages[name] == nil {
			// Since 2026-10-02 staging with a token can create a package; the
			// registry shows a public placeholder version meanwhile.
			s.packages[name] = p
			s.storePlaceholder(p, StagePlaceholder)
		}
		tag := "latest"
		for tg, v := range body.DistTags {
			if v == ver {
				tag = tg
			}
		}
		st := s.addStage(p.name, ver, tag, manifest, tgz, prov, t)
		att.Status, att.StageID = http.StatusCreated, st.ID
		s.attempts = append(s.attempts, att)
		writeJSON(w, http.StatusCreated, map[string]any{"stageId": st.ID})
		return
	}
	if s.packages[name] == nil {
		s.packages[name] = p
	}
	s.storeVersion(p, ver, manifest, tgz, prov)
	for tag, v := range body.DistTags {
		if v == ver {
			p.distTags[tag] = v
		}
	}
	if len(body.DistTags) == 0 {
		p.distTags["latest"] = ver
	}
	att.Status = http.StatusOK
	s.attempts = append(s.attempts, att)
	writeJSON(w, http.StatusOK, map[string]any{})
}

// tokenCovers reports whether t may act on the package. Caller holds s.mu.
func (s *Server) tokenCovers(t *token, name string) bool {
	if t.kind == KindOIDC {
		return contains(t.packages, name)
	}
	if len(t.packages) == 0 {
		return true
	}
	if contains(t.packages, name) {
		return true
	}
	// a scope entry ("@scope") covers every package in it
	if strings.HasPrefix(name, "@") {
		scope, _, _ := strings.Cut(name, "/")
		return contains(t.packages, scope)
	}
	return false
}

var punct = regexp.MustCompile(`[^a-z0-9]`)

// tooSimilar returns an existing unscoped package whose name equals name once
// punctuation is stripped and case folded. Scoped names are exempt.
func (s *Server) tooSimilar(name string) string {
	if strings.HasPrefix(name, "@") {
		return ""
	}
	key := punct.ReplaceAllString(strings.ToLower(name), "")
	for other := range s.packages {
		if other == name || strings.HasPrefix(other, "@") {
			continue
		}
		if punct.ReplaceAllString(strings.ToLower(other), "") == key {
			return other
		}
	}
	return ""
}

func (s *Server) checkTarball(body *publishBody, name, ver string, manifest map[string]any) ([]byte, int, string) {
	key := name + "-" + ver + ".tgz"
	a, ok := body.Attachments[key]
	if !ok {
		return nil, http.StatusBadRequest, "Missing tarball attachment " + key
	}
	tgz, err := base64.StdEncoding.DecodeString(a.Data)
	if err != nil {
		return nil, http.StatusBadRequest, "Attachment " + key + " is not valid base64"
	}
	if a.Length != 0 && a.Length != len(tgz) {
		return nil, http.StatusBadRequest, fmt.Sprintf("Attachment %s length %d does not match its data (%d bytes)", key, a.Length, len(tgz))
	}
	dist, _ := manifest["dist"].(map[string]any)
	if want, _ := dist["integrity"].(string); want != "" && want != Integrity(tgz) {
		return nil, http.StatusBadRequest, "Integrity check failed: dist.integrity does not match the sha512 of the attached tarball"
	}
	if want, _ := dist["shasum"].(string); want != "" && want != Shasum(tgz) {
		return nil, http.StatusBadRequest, "Shasum check failed: dist.shasum does not match the sha1 of the attached tarball"
	}
	if _, err := readTarball(tgz); err != nil {
		return nil, http.StatusBadRequest, "Invalid tarball: " + err.Error()
	}
	return tgz, 0, ""
}

// checkProvenance validates the .sigstore attachment's shape and the
// repository rule. The bundle's signatures are not verified (there is no
// Fulcio or Rekor here); the repository comes from the in-toto statement when
// it can be read, else from the ID token the publish token was exchanged for.
func (s *Server) checkProvenance(body *publishBody, name, ver string, manifest map[string]any, t *token) ([]byte, int, string) {
	a, ok := body.Attachments[name+"-"+ver+".sigstore"]
	if !ok {
		return nil, 0, ""
	}
	if !strings.HasPrefix(a.ContentType, "application/vnd.dev.sigstore.bundle") {
		return nil, http.StatusUnprocessableEntity, msgProvenancePre + "unsupported content type " + a.ContentType
	}
	var bundle struct {
		MediaType    string `json:"mediaType"`
		DSSEEnvelope *struct {
			Payload     string `json:"payload"`
			PayloadType string `json:"payloadType"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal([]byte(a.Data), &bundle); err != nil {
		return nil, http.StatusUnprocessableEntity, msgProvenancePre + "bundle is not JSON"
	}
	if !strings.HasPrefix(bundle.MediaType, "application/vnd.dev.sigstore.bundle") {
		return nil, http.StatusUnprocessableEntity, msgProvenancePre + "missing or unsupported mediaType"
	}
	repo := statementRepository(bundle.DSSEEnvelope)
	if repo == "" && t.kind == KindOIDC && t.repo != "" {
		repo = "https://github.com/" + t.repo
	}
	if repo == "" {
		return nil, http.StatusUnprocessableEntity, msgProvenancePre + "Failed to validate repository information: no source repository in provenance"
	}
	got := repositoryURL(manifest)
	if normalizeRepo(got) != strings.TrimSuffix(repo, "/") {
		return nil, http.StatusUnprocessableEntity, fmt.Sprintf(msgRepoMismatch, got, repo)
	}
	return []byte(a.Data), 0, ""
}

// statementRepository reads externalParameters.workflow.repository from the
// DSSE payload of an SLSA v1 statement ("" when absent).
func statementRepository(env *struct {
	Payload     string `json:"payload"`
	PayloadType string `json:"payloadType"`
}) string {
	if env == nil {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return ""
	}
	var st struct {
		Predicate struct {
			BuildDefinition struct {
				ExternalParameters struct {
					Workflow struct {
						Repository string `json:"repository"`
					} `json:"workflow"`
				} `json:"externalParameters"`
			} `json:"buildDefinition"`
		} `json:"predicate"`
	}
	if json.Unmarshal(raw, &st) != nil {
		return ""
	}
	return st.Predicate.BuildDefinition.ExternalParameters.Workflow.Repository
}

// repositoryURL is package.json's repository.url (or the string form).
func repositoryURL(manifest map[string]any) string {
	switch r := manifest["repository"].(type) {
	case string:
		return r
	case map[string]any:
		u, _ := r["url"].(string)
		return u
	}
	return ""
}

// normalizeRepo turns git+https://github.com/o/r.git, git://…, shorthand
// "github:o/r" and "o/r" into https://github.com/o/r.
func normalizeRepo(u string) string {
	u = strings.TrimSpace(u)
	u = strings.TrimPrefix(u, "git+")
	u = strings.TrimSuffix(u, ".git")
	u = strings.TrimSuffix(u, "/")
	switch {
	case strings.HasPrefix(u, "github:"):
		return "https://github.com/" + strings.TrimPrefix(u, "github:")
	case strings.HasPrefix(u, "git@github.com:"):
		return "https://github.com/" + strings.TrimPrefix(u, "git@github.com:")
	case !strings.Contains(u, ":") && strings.Count(u, "/") == 1:
		return "https://github.com/" + u
	}
	if pu, err := url.Parse(u); err == nil && pu.Host != "" {
		return "https://" + pu.Host + pu.Path
	}
	return u
}

func unescape(s string) (string, error) { return url.PathUnescape(s) }
