// Package pypi emulates the parts of PyPI (Warehouse) that publishing uses:
// the trusted-publishing exchange (/_/oidc/audience, /_/oidc/mint-token), the
// legacy upload API (/legacy/) and the JSON API (/pypi/{project}/json). Tokens
// are real macaroons, verified by HMAC chain and caveats as Warehouse does,
// and every error carries Warehouse's exact text (protocols.md §2, §7).
package pypi

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	"github.com/putitoutthere/putitoutthere/internal/macaroon"
	"github.com/putitoutthere/putitoutthere/internal/pydist"
)

// Verifier checks a GitHub Actions ID token; *oidc.Issuer satisfies it.
type Verifier interface {
	Verify(token, aud string, leeway time.Duration) (jwt.MapClaims, error)
}

// Options configure a Server. The zero value works (mint-token then refuses
// every token as invalid, since nothing can verify it).
type Options struct {
	Verifier Verifier
	// Audience served by /_/oidc/audience and required in ID tokens ("pypi").
	Audience string
	// Issuer is the issuer URL GitHub tokens must carry (oidc.GitHubIssuer).
	Issuer string
	// TrustedPublishingDisabled makes /_/oidc/audience answer 403.
	TrustedPublishingDisabled bool
	// GitHubDisabled refuses GitHub tokens with not-enabled.
	GitHubDisabled bool
	// ReadOnly / UploadsDisabled refuse every upload with 403.
	ReadOnly, UploadsDisabled bool
	// Domain is the location of user API tokens ("pypi.org").
	Domain string
	// NewProjectLimit, when > 0, is how many projects uploads may create
	// before answering 429 "Too many new projects created".
	NewProjectLimit int
	// MaxFileSize per file (default 100 MB).
	MaxFileSize int64
	// ProhibitedNames are project names PyPI's administrators prohibit
	// (not public; tests and rehearsals name their own). Compared normalised.
	ProhibitedNames []string
	// PlainReason, when true, does not write the error text into the status
	// line (net/http's standard reason phrase is used; the body still has it).
	PlainReason bool
	// Now is the server clock (time.Now).
	Now func() time.Time
	// Sigstore is the trust root attestations are verified with (the
	// Sigstore emulator's). Nil: attestations are checked for shape only,
	// as Warehouse's NullIntegrityService does.
	Sigstore root.TrustedMaterial
	// SigstoreEnv are the variables pointing a signer at that Sigstore;
	// Env includes them, so a client pointed at this PyPI signs there.
	SigstoreEnv map[string]string
}

// Publisher is a GitHub trusted publisher as registered on PyPI.
type Publisher struct {
	Owner       string // repository owner login
	Repo        string // repository name
	OwnerID     string // numeric owner ID, as a string
	Workflow    string // workflow filename, e.g. release.yml
	Environment string // "" = any
}

func (p Publisher) String() string {
	s := fmt.Sprintf("%s/%s:%s", p.Owner, p.Repo, p.Workflow)
	if p.Environment != "" {
		s += " (environment " + p.Environment + ")"
	}
	return s
}

// File is an uploaded distribution file.
type File struct {
	Filename       string
	Packagetype    string
	PythonVersion  string
	Size           int
	Digests        pydist.Digests
	RequiresPython string
	UploadTime     time.Time
	Data           []byte
	// Attestations uploaded with the file (PEP 740), and the publisher
	// they were verified against.
	Attestations []json.RawMessage
	AttestedBy   *Publisher
}

// Release is one version of a project.
type Release struct {
	Version   string // as first uploaded
	Canonical string
	Created   time.Time
	Meta      [][2]string // upload form metadata fields
	Files     []*File
}

// Project is a PyPI project.
type Project struct {
	ID         string
	Name       string // display name (latest spelling uploaded)
	Normalized string
	Owners     []string // usernames with the Owner role
	Releases   []*Release
	Serial     int
	deleted    map[string]bool // filenames deleted from the project
}

type publisherRec struct {
	ID string
	Publisher
	projects []string // normalised names
}

type pendingRec struct {
	ID string
	Publisher
	project string // display name of the project it will create
	addedBy string
}

type tokenRec struct {
	rootKey     []byte
	user        string // username, for user tokens
	publisherID string // for trusted-publishing tokens
}

// Server is a running PyPI emulator.
type Server struct {
	Faults fault.Injector

	opts Options
	srv  *httptest.Server

	mu         sync.Mutex
	projects   map[string]*Project // by normalised name
	publishers []*publisherRec
	pending    []*pendingRec
	users      map[string]string // username → user UUID
	tokens     map[string]*tokenRec
	usedJTI    map[string]bool
	attempts   map[string]int
	minted     []string
	serial     int
	created    int // projects created by uploads
}

// Start runs an emulator on 127.0.0.1 with empty state.
func Start(opts Options) (*Server, error) {
	if opts.Audience == "" {
		opts.Audience = "pypi"
	}
	if opts.Issuer == "" {
		opts.Issuer = oidc.GitHubIssuer
	}
	if opts.Domain == "" {
		opts.Domain = "pypi.org"
	}
	if opts.MaxFileSize == 0 {
		opts.MaxFileSize = 100 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:     opts,
		projects: map[string]*Project{},
		users:    map[string]string{},
		tokens:   map[string]*tokenRec{},
		usedJTI:  map[string]bool{},
		attempts: map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/_/oidc/audience", s.serveAudience)
	mux.HandleFunc("/_/oidc/mint-token", s.serveMintToken)
	mux.HandleFunc("/_/oidc/github/mint-token", s.serveMintToken)
	mux.HandleFunc("/legacy/", s.serveUpload)
	mux.HandleFunc("/legacy", s.serveMissingSlash)
	mux.HandleFunc("/pypi/", s.serveJSON)
	mux.HandleFunc("/packages/", s.serveFile)
	mux.HandleFunc("GET /integrity/{project}/{version}/{filename}/provenance", s.serveProvenance)
	mux.HandleFunc("/simple/", s.serveSimple)
	s.srv = httptest.NewServer(s.Faults.Wrap(mux))
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.Faults.Clear(); s.srv.Close() }

// URL is the base URL, e.g. http://127.0.0.1:PORT (PUTITOUTTHERE_PYPI_URL).
func (s *Server) URL() string { return s.srv.URL }

// UploadURL is the upload endpoint (PUTITOUTTHERE_PYPI_UPLOAD_URL).
func (s *Server) UploadURL() string { return s.srv.URL + "/legacy/" }

// Env returns the variables that point putitoutthere at this emulator.
func (s *Server) Env() map[string]string {
	e := map[string]string{
		"PUTITOUTTHERE_PYPI_URL":        s.URL(),
		"PUTITOUTTHERE_PYPI_UPLOAD_URL": s.UploadURL(),
	}
	for k, v := range s.opts.SigstoreEnv {
		e[k] = v
	}
	return e
}

func (s *Server) now() time.Time { return s.opts.Now() }

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// userID returns (creating if needed) the UUID of username. Caller holds mu.
func (s *Server) userID(username string) string {
	id, ok := s.users[username]
	if !ok {
		id = newUUID()
		s.users[username] = id
	}
	return id
}

// CreateProject registers an empty project owned by owners. It is a no-op
// for a project that exists (owners are added).
func (s *Server) CreateProject(name string, owners ...string) error {
	if !pydist.ValidName(name) {
		return fmt.Errorf("invalid project name %q", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.ensureProject(name)
	for _, o := range owners {
		s.userID(o)
		if !slices.Contains(p.Owners, o) {
			p.Owners = append(p.Owners, o)
		}
	}
	return nil
}

func (s *Server) ensureProject(name string) *Project {
	n := pydist.Normalize(name)
	p, ok := s.projects[n]
	if !ok {
		p = &Project{ID: newUUID(), Name: name, Normalized: n, deleted: map[string]bool{}}
		s.projects[n] = p
	}
	return p
}

// AddTrustedPublisher attaches a GitHub publisher to project (creating the
// project when it does not exist). One publisher may serve many projects; a
// token it mints is scoped to all of them.
func (s *Server) AddTrustedPublisher(project string, p Publisher) error {
	if !pydist.ValidName(project) {
		return fmt.Errorf("invalid project name %q", project)
	}
	p.Environment = strings.ToLower(p.Environment)
	s.mu.Lock()
	defer s.mu.Unlock()
	proj := s.ensureProject(project)
	rec := s.findPublisher(p)
	if rec == nil {
		rec = &publisherRec{ID: newUUID(), Publisher: p}
		s.publishers = append(s.publishers, rec)
	}
	if !slices.Contains(rec.projects, proj.Normalized) {
		rec.projects = append(rec.projects, proj.Normalized)
	}
	return nil
}

// RemoveTrustedPublisher detaches p from project.
func (s *Server) RemoveTrustedPublisher(project string, p Publisher) {
	p.Environment = strings.ToLower(p.Environment)
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec := s.findPublisher(p); rec != nil {
		n := pydist.Normalize(project)
		rec.projects = slices.DeleteFunc(rec.projects, func(x string) bool { return x == n })
	}
}

func (s *Server) findPublisher(p Publisher) *publisherRec {
	for _, r := range s.publishers {
		if r.Publisher == p {
			return r
		}
	}
	return nil
}

// AddPendingPublisher registers a publisher that will create project on its
// first successful exchange (PyPI's way to publish a brand-new project).
func (s *Server) AddPendingPublisher(project string, p Publisher) error {
	if !pydist.ValidName(project) {
		return fmt.Errorf("invalid project name %q", project)
	}
	p.Environment = strings.ToLower(p.Environment)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, &pendingRec{ID: newUUID(), Publisher: p, project: project, addedBy: "pending-owner"})
	return nil
}

// APIToken mints an API token for user (created on first use): user-wide
// when no projects are given, else scoped to those (existing) projects, as
// the website makes them: [1,[names]] and [2,[ids]].
func (s *Server) APIToken(user string, projects ...string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	uid := s.userID(user)
	if len(projects) == 0 {
		return s.mintLocked(s.opts.Domain, &tokenRec{user: user}, macaroon.RequestUser(uid)), nil
	}
	var names, ids []string
	for _, name := range projects {
		p, ok := s.projects[pydist.Normalize(name)]
		if !ok {
			return "", fmt.Errorf("project %q does not exist", name)
		}
		names = append(names, p.Normalized)
		ids = append(ids, p.ID)
	}
	return s.mintLocked(s.opts.Domain, &tokenRec{user: user}, macaroon.ProjectNames(names...), macaroon.ProjectIDs(ids...)), nil
}

// APITokenWithCaveats mints a token for user carrying exactly caveats (for
// expired, attenuated or odd tokens in tests).
func (s *Server) APITokenWithCaveats(user string, caveats ...[]byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userID(user)
	return s.mintLocked(s.opts.Domain, &tokenRec{user: user}, caveats...)
}

// RevokeToken deletes a token: it then fails as non-existent.
func (s *Server) RevokeToken(token string) {
	m, err := macaroon.ParseToken(token)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, string(m.Identifier))
}

func (s *Server) mintLocked(location string, rec *tokenRec, caveats ...[]byte) string {
	rec.rootKey = make([]byte, 32)
	_, _ = rand.Read(rec.rootKey)
	id := newUUID()
	s.tokens[id] = rec
	return macaroon.New(location, []byte(id), rec.rootKey, caveats...).Token()
}

// UserID is the UUID of username ("" when unknown), as RequestUser caveats carry it.
func (s *Server) UserID(username string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[username]
}

// DeleteFile removes a file; its filename can never be used again.
func (s *Server) DeleteFile(project, filename string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[pydist.Normalize(project)]
	if !ok {
		return false
	}
	for _, r := range p.Releases {
		for i, f := range r.Files {
			if f.Filename == filename {
				r.Files = append(r.Files[:i], r.Files[i+1:]...)
				p.deleted[filename] = true
				return true
			}
		}
	}
	return false
}

// Project returns a copy of a project's state.
func (s *Server) Project(name string) (Project, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[pydist.Normalize(name)]
	if !ok {
		return Project{}, false
	}
	cp := *p
	cp.Owners = slices.Clone(p.Owners)
	cp.Releases = nil
	for _, r := range p.Releases {
		rc := *r
		rc.Files = slices.Clone(r.Files)
		cp.Releases = append(cp.Releases, &rc)
	}
	return cp, true
}

// Projects lists the normalised names of every project.
func (s *Server) Projects() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.projects {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Files lists the filenames of project's version (canonical match).
func (s *Server) Files(project, version string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[pydist.Normalize(project)]
	if !ok {
		return nil
	}
	var out []string
	if r := p.release(version); r != nil {
		for _, f := range r.Files {
			out = append(out, f.Filename)
		}
	}
	return out
}

// File is the stored file of project named filename (nil when absent).
func (s *Server) File(project, filename string) *File {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[pydist.Normalize(project)]
	if !ok {
		return nil
	}
	for _, r := range p.Releases {
		for _, f := range r.Files {
			if f.Filename == filename {
				return f
			}
		}
	}
	return nil
}

// UploadAttempts is how many upload requests named filename.
func (s *Server) UploadAttempts(filename string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[filename]
}

// MintedTokens lists every token minted by /_/oidc/mint-token, in order.
func (s *Server) MintedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.minted)
}

// Publishers lists the registered trusted publishers and their projects.
func (s *Server) Publishers() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for _, r := range s.publishers {
		out[r.Publisher.String()] = slices.Clone(r.projects)
	}
	return out
}

func (p *Project) release(version string) *Release {
	c := pydist.CanonicalVersion(version)
	for _, r := range p.Releases {
		if r.Canonical == c {
			return r
		}
	}
	return nil
}
