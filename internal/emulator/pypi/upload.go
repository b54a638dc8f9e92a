package pypi

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/attest"
	"github.com/putitoutthere/putitoutthere/internal/macaroon"
	"github.com/putitoutthere/putitoutthere/internal/pydist"
	"github.com/putitoutthere/putitoutthere/internal/rules"
)

// Warehouse's upload messages (protocols.md §2.3). Do not reword: clients
// match on them.
const (
	msgReadOnly        = "Read-only mode: Uploads are temporarily disabled."
	msgUploadsDisabled = "New uploads are temporarily disabled. See https://pypi.org/help/#admin-intervention for more information."
	msgInvalidAuth     = "Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information."
	msgBasicAuth       = "Username/Password authentication is no longer supported. Migrate to API Tokens or Trusted Publishers instead. See https://pypi.org/help/#apitoken and https://pypi.org/help/#trusted-publishers"
	msgProtocol        = "Unknown protocol version."
	msgNoFile          = "Upload payload does not have a file."
	msgInvalidDist     = "Invalid distribution file."
	msgNonUser         = "Non-user identities cannot create new projects. This was probably caused by successfully using a pending publisher but specifying the project name incorrectly (either in the publisher or in your project's metadata). Please ensure that both match. See: https://docs.pypi.org/trusted-publishers/troubleshooting/"
	msgDigest          = "The digest supplied does not match a digest calculated from the uploaded file."
	msgDeletedName     = "This filename was previously used by a file that has since been deleted. Use a different version. See https://pypi.org/help/#file-name-reuse for more information."
	msgOldRelease      = "Uploading new files to releases older than 14 days is not allowed."
	msgOneSdist        = "Only one sdist may be uploaded per release."
	msgSeparator       = `Cannot upload a file with '/' or '\' in the name.`
	msgExtension       = "Invalid file extension: Use .tar.gz, .whl or .zip extension. See https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ for more information"
	coreMetadataHelp   = " See https://packaging.python.org/specifications/core-metadata for more information."
	projectHelp        = "https://pypi.org/help/#project-name"
)

// MsgFileExists is the text of a conflicting re-upload; twine --skip-existing
// looks for "already exist" in it.
func MsgFileExists(filename, blake2 string) string {
	return fmt.Sprintf("File already exists ('%s', with blake2_256 hash '%s'). See https://pypi.org/help/#file-name-reuse for more information.", filename, blake2)
}

var (
	nameRe  = regexp.MustCompile(`(?i)^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`)
	hex64Re = regexp.MustCompile(`(?i)^[a-f0-9]{64}$`)
	hex32Re = regexp.MustCompile(`(?i)^[a-f0-9]{32}$`)
)

type filePart struct {
	filename    string
	contentType string
	data        []byte
}

type uploadForm struct {
	values     map[string][]string
	fileFields map[string]bool
	content    *filePart
	tooLarge   bool
}

// get returns the last value, as webob's MultiDict does.
func (f *uploadForm) get(k string) string {
	if v := f.values[k]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

// readForm reads a multipart (or urlencoded) body into a form.
func (s *Server) readForm(r *http.Request) (*uploadForm, error) {
	f := &uploadForm{values: map[string][]string{}, fileFields: map[string]bool{}}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return f, err
			}
			name := p.FormName()
			if p.FileName() != "" || name == "content" {
				data, err := io.ReadAll(io.LimitReader(p, s.opts.MaxFileSize+1))
				if err != nil {
					return f, err
				}
				if name == "content" {
					if int64(len(data)) > s.opts.MaxFileSize {
						f.tooLarge = true
					}
					f.content = &filePart{filename: p.FileName(), contentType: p.Header.Get("Content-Type"), data: data}
				} else {
					f.fileFields[name] = true
				}
				continue
			}
			b, err := io.ReadAll(io.LimitReader(p, 64<<20))
			if err != nil {
				return f, err
			}
			f.values[name] = append(f.values[name], string(b))
		}
	case "application/x-www-form-urlencoded":
		b, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		if err != nil {
			return f, err
		}
		vals, _ := url.ParseQuery(string(b))
		for k, v := range vals {
			f.values[k] = v
		}
	}
	// distutils writes "UNKNOWN" for absent fields; Warehouse drops them.
	for k, vs := range f.values {
		kept := vs[:0]
		for _, v := range vs {
			if strings.TrimSpace(v) != "UNKNOWN" {
				kept = append(kept, strings.ReplaceAll(v, "\x00", `\x00`))
			}
		}
		if len(kept) == 0 {
			delete(f.values, k)
		} else {
			f.values[k] = kept
		}
	}
	return f, nil
}

// identity is who a token authenticates as.
type identity struct {
	m           *macaroon.Macaroon
	rec         *tokenRec
	user        string
	userID      string
	publisherID string
}

// authenticate resolves the Authorization header. basicErr is set when a
// non-token Basic username was used.
func (s *Server) authenticate(r *http.Request) (id *identity, basicErr bool) {
	h := r.Header.Get("Authorization")
	scheme, val, _ := strings.Cut(h, " ")
	var tok string
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(val))
		if err != nil {
			return nil, false
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		if user != "__token__" {
			return nil, true
		}
		tok = strings.TrimSpace(pass)
	case "token", "bearer":
		tok = val
	default:
		return nil, false
	}
	m, err := macaroon.ParseToken(tok)
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.tokens[string(m.Identifier)]
	if !ok {
		return nil, false
	}
	id = &identity{m: m, rec: rec, user: rec.user, publisherID: rec.publisherID}
	if rec.user != "" {
		id.userID = s.users[rec.user]
	}
	return id, false
}

func (s *Server) serveMissingSlash(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.fail(w, r, http.StatusNotFound, "Not Found")
		return
	}
	s.fail(w, r, http.StatusPermanentRedirect,
		"An upload was attempted to /legacy but the expected upload URL is /legacy/ (with a trailing slash)",
		[2]string{"Location", "/legacy/"})
}

func pyQuote(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

func normalize(name string) string { return pydist.Normalize(name) }

func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/legacy/" {
		s.fail(w, r, http.StatusNotFound, "Not Found")
		return
	}
	if r.Method != http.MethodPost {
		s.fail(w, r, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	form, ferr := s.readForm(r)
	if form.content != nil {
		s.mu.Lock()
		s.attempts[form.content.filename]++
		s.mu.Unlock()
	}
	status, msg := s.upload(r, form, ferr)
	if status == http.StatusOK {
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, msg)
		return
	}
	s.fail(w, r, status, msg)
}

// upload runs Warehouse's checks in its order and stores the file. It
// returns the status and the message (the warnings body on 200).
func (s *Server) upload(r *http.Request, form *uploadForm, ferr error) (int, string) {
	if s.opts.ReadOnly {
		return 403, msgReadOnly
	}
	if s.opts.UploadsDisabled {
		return 403, msgUploadsDisabled
	}
	id, basic := s.authenticate(r)
	if basic {
		return 403, msgBasicAuth
	}
	if id == nil {
		return 403, msgInvalidAuth
	}
	if ferr != nil {
		return 400, "Invalid multipart body: " + ferr.Error()
	}
	if _, ok := form.values["protocol_version"]; ok && form.get("protocol_version") != "1" {
		return 400, msgProtocol
	}
	for k := range form.fileFields {
		if k != "gpg_signature" {
			return 400, k + ": Should not be a tuple."
		}
	}
	if msg := validateForm(form); msg != "" {
		return 400, msg
	}
	if msg := validateMetadata(form); msg != "" {
		return 400, msg + "." + coreMetadataHelp
	}
	// The rest of metadata.parse: packaging's validation, then Warehouse's
	// _validate_metadata (internal/rules reports the error Warehouse picks first).
	if vs := rules.PyPIMetadata(rules.PyFields(form.values)); len(vs) > 0 {
		return 400, vs[0].Message
	}
	if form.content == nil {
		return 400, msgNoFile
	}
	if ct := form.content.contentType; ct == "" || strings.HasPrefix(ct, "image/") {
		return 400, msgInvalidDist
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	name := form.get("name")
	version := form.get("version")
	proj, exists := s.projects[normalize(name)]
	if !exists {
		if id.publisherID != "" {
			return 400, msgNonUser
		}
		if s.opts.NewProjectLimit > 0 && s.created >= s.opts.NewProjectLimit {
			return 429, "Too many new projects created"
		}
		// create_project checks the name (400 with its text for a user).
		if v := s.checkNewProjectName(name); v != nil {
			return 400, v.Message
		}
		// Created only if everything below passes.
		proj = &Project{ID: newUUID(), Name: name, Normalized: normalize(name), Owners: []string{id.user}, deleted: map[string]bool{}}
	}

	if status, msg := s.authorize(id, proj); status != 0 {
		return status, msg
	}

	// Uploading should prevent broken rendered descriptions (legacy.py).
	if vs := rules.PyPIDescription(form.get("description"), form.get("description_content_type")); len(vs) > 0 {
		return 400, vs[0].Message
	}

	filename := form.content.filename
	if vs := rules.PyPIFilename(filename, form.get("filetype")); len(vs) > 0 && vs[0].Rule.ID != "pypi/filename-extension" {
		return 400, vs[0].Message
	}
	filetype := form.get("filetype")
	ext := ""
	switch {
	case strings.HasSuffix(filename, ".tar.gz"):
		ext = ".tar.gz"
	case strings.HasSuffix(filename, ".zip"):
		ext = ".zip"
	case strings.HasSuffix(filename, ".whl"):
		ext = ".whl"
	default:
		return 400, msgExtension
	}
	if (filetype == pydist.Sdist) != (ext != ".whl") {
		return 400, fmt.Sprintf("Invalid file extension: Extension %s is invalid for filetype %s. See https://www.python.org/dev/peps/pep-0527 for more information.", ext, filetype)
	}
	if form.tooLarge {
		return 400, fmt.Sprintf("File too large. Limit for project '%s' is %d MB. See https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase for more information.", proj.Name, s.opts.MaxFileSize>>20)
	}

	data := form.content.data
	dg := pydist.Digest(data)
	if v := form.get("md5_digest"); v != "" && !strings.EqualFold(v, dg.MD5) {
		return 400, msgDigest
	}
	if v := form.get("sha256_digest"); v != "" && !strings.EqualFold(v, dg.SHA256) {
		return 400, msgDigest
	}
	if v := form.get("blake2_256_digest"); v != "" && !strings.EqualFold(v, dg.Blake2256) {
		return 400, msgDigest
	}

	// Idempotency: same filename or same blake2 digest anywhere.
	if f := s.findFile(filename, dg.Blake2256); f != nil {
		if f.Filename == filename && f.Digests.SHA256 == dg.SHA256 && f.Digests.Blake2256 == dg.Blake2256 {
			return 200, ""
		}
		return 400, MsgFileExists(filename, dg.Blake2256)
	}
	if proj.deleted[filename] {
		return 400, msgDeletedName
	}
	rel := proj.release(version)
	now := s.now()
	if rel != nil && now.Sub(rel.Created) > 14*24*time.Hour {
		return 400, msgOldRelease
	}
	if rel != nil && filetype == pydist.Sdist {
		for _, f := range rel.Files {
			if f.Packagetype == pydist.Sdist {
				return 400, msgOneSdist
			}
		}
	}
	names, err := archiveNames(filename, data)
	if err != nil {
		return 400, msgInvalidDist + " " + err.Error()
	}
	archive := rules.PyPIArchive(rules.PyDist{Filename: filename, Names: names, Metadata: rules.PyFields(form.values)}, name)
	if v := firstOf(archive, "pypi/wheel-file-missing", "pypi/sdist-pkg-info-missing"); v != "" {
		return 400, v
	}
	if _, err := pydist.ReadBytes(filename, data); err != nil && !strings.HasSuffix(filename, ".whl") {
		return 400, msgInvalidDist + " " + err.Error()
	}
	vnorm := pydist.NormalizeVersion(version)
	fnName := pydist.FilenameName(proj.Name)
	if filetype == pydist.Sdist {
		if !strings.HasPrefix(filename, fnName+"-") {
			return 400, fmt.Sprintf("Start filename for %s with %s.", pyQuote(proj.Name), pyQuote(fnName))
		}
		if want := fnName + "-" + vnorm + ext; filename != want {
			return 400, fmt.Sprintf("Filename %s is invalid, should be %s.", pyQuote(filename), pyQuote(want))
		}
	} else {
		wn, err := pydist.ParseWheelFilename(filename)
		if err != nil {
			return 400, "Invalid wheel filename (" + err.Error() + "): " + filename
		}
		if v := firstOf(archive, "pypi/wheel-platform-tag"); v != "" {
			return 400, v
		}
		if wn.Name != fnName {
			return 400, fmt.Sprintf("Start filename for %s with %s.", pyQuote(proj.Name), pyQuote(fnName))
		}
		if pydist.CanonicalVersion(wn.Version) != pydist.CanonicalVersion(version) {
			return 400, fmt.Sprintf("Version in filename should be %s not %s.", pyQuote(vnorm), pyQuote(wn.Version))
		}
	}
	if v := firstOf(archive, "pypi/license-file-missing", "pypi/wheel-record-missing", "pypi/wheel-metadata-missing"); v != "" {
		return 400, v
	}
	var atts []json.RawMessage
	var attPub *Publisher
	if _, ok := form.values["attestations"]; ok {
		var msg string
		if atts, attPub, msg = s.checkAttestations(form.get("attestations"), id, filename, dg.SHA256); msg != "" {
			return 400, "Invalid attestations supplied during upload: " + msg
		}
	}

	// Store.
	if !exists {
		s.projects[proj.Normalized] = proj
		s.created++
	}
	proj.Name = name // a later spelling becomes the display name
	if rel == nil {
		rel = &Release{Version: version, Canonical: pydist.CanonicalVersion(version), Created: now, Meta: metaFields(form)}
		proj.Releases = append(proj.Releases, rel)
	}
	rel.Files = append(rel.Files, &File{
		Filename: filename, Packagetype: filetype, PythonVersion: form.get("pyversion"),
		Size: len(data), Digests: dg, RequiresPython: form.get("requires_python"), UploadTime: now.UTC(), Data: data,
		Attestations: atts, AttestedBy: attPub,
	})
	s.serial++
	proj.Serial = s.serial
	return 200, ""
}

// firstOf is the text of the first violation among ids (in the order the
// violations came), or "".
func firstOf(vs []rules.Violation, ids ...string) string {
	for _, v := range vs {
		for _, id := range ids {
			if v.Rule.ID == id {
				return v.Message
			}
		}
	}
	return ""
}

// archiveNames lists the members of a wheel (zip) or sdist (gzip tar).
func archiveNames(filename string, data []byte) ([]string, error) {
	if strings.HasSuffix(filename, ".whl") || strings.HasSuffix(filename, ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, errors.New("File is not a zipfile")
		}
		var out []string
		for _, f := range zr.File {
			if !strings.HasSuffix(f.Name, "/") {
				out = append(out, f.Name)
			}
		}
		return out, nil
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, errors.New("File is not a tarfile")
	}
	tr := tar.NewReader(gz)
	var out []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, errors.New("File is not a tarfile")
		}
		out = append(out, strings.TrimPrefix(h.Name, "./"))
	}
}

// checkNewProjectName is check_project_name for a project about to be
// created (warehouse/packaging/services.py): invalid, stdlib, prohibited,
// too similar to an existing project. Caller holds mu.
func (s *Server) checkNewProjectName(name string) *rules.Violation {
	similar := func(ultra string) (string, bool) {
		for _, p := range s.projects {
			if rules.Ultranormalize(p.Name) == ultra {
				return p.Name, true
			}
		}
		return "", false
	}
	vs := rules.PyPIProjectName(name, nil)
	if len(vs) == 0 {
		for _, n := range s.opts.ProhibitedNames {
			if normalize(n) == normalize(name) {
				v := rules.ProhibitedName(name)
				return &v
			}
		}
		vs = rules.PyPIProjectName(name, similar)
	}
	if len(vs) > 0 {
		return &vs[0]
	}
	return nil
}

func metaFields(form *uploadForm) [][2]string {
	skip := map[string]bool{":action": true, "protocol_version": true, "md5_digest": true, "sha256_digest": true, "blake2_256_digest": true, "filetype": true, "pyversion": true, "attestations": true, "comment": true}
	var out [][2]string
	for k, vs := range form.values {
		if skip[k] {
			continue
		}
		for _, v := range vs {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

func (s *Server) findFile(filename, blake2 string) *File {
	for _, p := range s.projects {
		for _, r := range p.Releases {
			for _, f := range r.Files {
				if f.Filename == filename || f.Digests.Blake2256 == blake2 {
					return f
				}
			}
		}
	}
	return nil
}

// authorize is the permission check: caveats first (403 "Invalid API
// Token: …"), then the project's roles or publishers. Caller holds mu.
func (s *Server) authorize(id *identity, proj *Project) (int, string) {
	req := macaroon.Request{
		Now: s.now(), UserID: id.userID, PublisherID: id.publisherID,
		HasProject: true, ProjectName: proj.Name, ProjectNormalized: proj.Normalized, ProjectID: proj.ID,
	}
	var pub *publisherRec
	if id.publisherID != "" {
		for _, p := range s.publishers {
			if p.ID == id.publisherID {
				pub = p
			}
		}
		if pub != nil {
			for _, n := range pub.projects {
				if p, ok := s.projects[n]; ok {
					req.PublisherProjects = append(req.PublisherProjects, p.ID)
				}
			}
		}
	}
	if err := macaroon.Authorize(id.m, id.rec.rootKey, req); err != nil {
		return 403, "Invalid API Token: " + err.Error()
	}
	if id.publisherID != "" {
		if pub == nil || !contains(pub.projects, proj.Normalized) {
			return 403, fmt.Sprintf("The given token isn't allowed to upload to project '%s'. See %s for more information.", proj.Name, projectHelp)
		}
		return 0, ""
	}
	if !contains(proj.Owners, id.user) {
		return 403, fmt.Sprintf("The user '%s' isn't allowed to upload to project '%s'. See %s for more information.", id.user, proj.Name, projectHelp)
	}
	return 0, ""
}

// validateForm is Warehouse's UploadForm: the first error, worded as
// forklift words it.
func validateForm(form *uploadForm) string {
	name := form.get("name")
	if name == "" {
		return "'' is an invalid value for Name. Error: This field is required." + coreMetadataHelp
	}
	if !nameRe.MatchString(name) {
		return fmt.Sprintf("%s is an invalid value for Name. Error: Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'.%s", pyQuote(clip(name)), coreMetadataHelp)
	}
	if form.get("version") == "" {
		return "'' is an invalid value for Version. Error: This field is required." + coreMetadataHelp
	}
	ft := form.get("filetype")
	if ft == "" {
		return "Invalid value for filetype. Error: This field is required."
	}
	if ft != pydist.Sdist && ft != pydist.Wheel {
		return "Invalid value for filetype. Error: Use a known file type."
	}
	if v := form.get("sha256_digest"); v != "" && !hex64Re.MatchString(v) {
		return "Invalid value for sha256_digest. Error: Use a valid, hex-encoded, SHA256 message digest."
	}
	if v := form.get("blake2_256_digest"); v != "" && !hex64Re.MatchString(v) {
		return "Invalid value for blake2_256_digest. Error: Use a valid, hex-encoded, BLAKE2 message digest."
	}
	if v := form.get("md5_digest"); v != "" && !hex32Re.MatchString(v) {
		return "Invalid value for md5_digest. Error: Use a valid, hex-encoded, MD5 message digest."
	}
	py := form.get("pyversion")
	if ft == pydist.Wheel && py == "" {
		return "Invalid value for pyversion. Error: Python version is required for binary distribution uploads."
	}
	if ft == pydist.Sdist && py != "" && py != "source" {
		return "Invalid value for pyversion. Error: Use 'source' as Python version for an sdist."
	}
	if form.get("md5_digest") == "" && form.get("sha256_digest") == "" && form.get("blake2_256_digest") == "" {
		return "Error: Include at least one message digest."
	}
	return ""
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:30] + "..." + s[len(s)-30:]
	}
	return s
}

// validateMetadata checks the core-metadata fields Warehouse parses.
func validateMetadata(form *uploadForm) string {
	mv := form.get("metadata_version")
	if mv == "" {
		return "'metadata-version' is a required field"
	}
	// Description-Content-Type is one of internal/rules' packaging checks.
	return ""
}

// checkAttestations is Warehouse's IntegrityService.parse_attestations
// (warehouse/attestations/services.py): attestations come only with a
// trusted-publishing token, as a non-empty JSON list of at most one per
// supported predicate type, each verified against the uploaded file and the
// publisher's identity (pypi-attestations Attestation.verify). Without a
// Sigstore trust root the emulator is Warehouse's NullIntegrityService:
// well-formed attestations are kept unverified. Caller holds mu.
func (s *Server) checkAttestations(raw string, id *identity, filename, sha256hex string) ([]json.RawMessage, *Publisher, string) {
	if id.publisherID == "" {
		return nil, nil, "Attestations are only supported when using Trusted Publishing"
	}
	var pub *Publisher
	for _, p := range s.publishers {
		if p.ID == id.publisherID {
			pp := p.Publisher
			pub = &pp
		}
	}
	if pub == nil {
		return nil, nil, "Attestations are only supported when using Trusted Publishing"
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		return nil, nil, "Malformed attestations: " + err.Error()
	}
	for _, a := range list {
		for _, k := range []string{"version", "verification_material", "envelope"} {
			if _, ok := a[k]; !ok {
				return nil, nil, "Malformed attestations: missing field " + k
			}
		}
	}
	var parsed []*attest.Attestation
	if err := json.Unmarshal([]byte(raw), &parsed); err != nil {
		return nil, nil, "Malformed attestations: " + err.Error()
	}
	if len(parsed) == 0 {
		return nil, nil, "Malformed attestations: an empty attestation set is not permitted"
	}
	for _, a := range parsed {
		if a == nil || a.Version != 1 {
			return nil, nil, "Malformed attestations: version: Input should be 1"
		}
		if len(a.VerificationMaterial.TransparencyEntries) == 0 {
			return nil, nil, "Malformed attestations: verification_material.transparency_entries: List should have at least 1 item after validation, not 0"
		}
	}
	if len(parsed) > maxAttestations {
		return nil, nil, fmt.Sprintf("A maximum of %d attestations per file are supported", maxAttestations)
	}
	if s.opts.Sigstore != nil {
		seen := map[string]bool{}
		ap := attest.Publisher{Repository: pub.Owner + "/" + pub.Repo, Workflow: pub.Workflow, Environment: pub.Environment}
		for _, a := range parsed {
			pt, err := attest.Verify(a, s.opts.Sigstore, ap, filename, sha256hex, attest.Options{Issuer: s.opts.Issuer})
			if err != nil {
				return nil, nil, err.Error()
			}
			if seen[pt] {
				return nil, nil, fmt.Sprintf("Multiple attestations for the same file with the same predicate type (%s) are not supported", pt)
			}
			seen[pt] = true
		}
	}
	out := make([]json.RawMessage, len(list))
	for i := range list {
		out[i], _ = json.Marshal(parsed[i])
	}
	return out, pub, ""
}

// maxAttestations is len(SUPPORTED_ATTESTATION_TYPES).
const maxAttestations = 2

// serveFile serves an uploaded file at the URL the JSON API lists.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	fn := path.Base(r.URL.Path)
	s.mu.Lock()
	var data []byte
	for _, p := range s.projects {
		for _, rel := range p.Releases {
			for _, f := range rel.Files {
				if f.Filename == fn && strings.Contains(r.URL.Path, f.Digests.Blake2256[4:]) {
					data = f.Data
				}
			}
		}
	}
	s.mu.Unlock()
	if data == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = io.Copy(w, bytes.NewReader(data))
}
