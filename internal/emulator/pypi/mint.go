package pypi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/putitoutthere/putitoutthere/internal/macaroon"
)

// TokenTTL is the lifetime of a minted trusted-publishing token.
const TokenTTL = 900 * time.Second

// jwtLeeway is Warehouse's clock leeway when verifying ID tokens.
const jwtLeeway = 30 * time.Second

// Issuers Warehouse knows, by service name.
var knownIssuers = map[string]string{
	"https://token.actions.githubusercontent.com":        "github",
	"https://gitlab.com":                                 "gitlab",
	"https://accounts.google.com":                        "google",
	"https://platform.activestate.com/api/v1/oauth/oidc": "activestate",
}

func (s *Server) serveAudience(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.fail(w, r, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if s.opts.TrustedPublishingDisabled {
		writeJSON(w, http.StatusForbidden, `{"message": "Trusted publishing functionality not enabled"}`)
		return
	}
	writeJSON(w, http.StatusOK, `{"audience": `+pyStr(s.opts.Audience)+`}`)
}

// mintError is one 422 answer of the exchange.
type mintError struct{ code, desc string }

func invalid(code, desc string) *mintError { return &mintError{code, desc} }

func (s *Server) serveMintToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.fail(w, r, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	tok, expires, merr := s.mint(r, raw)
	if merr != nil {
		writeJSON(w, 422, `{"message": "Token request failed", "errors": [{"code": `+pyStr(merr.code)+`, "description": `+pyStr(merr.desc)+`}]}`)
		return
	}
	writeJSON(w, http.StatusOK, fmt.Sprintf(`{"success": true, "token": %s, "expires": %d}`, pyStr(tok), expires))
}

// pydanticError renders a pydantic v2 ValidationError as str(exc) does.
func pydanticError(loc, msg, typ, input string) string {
	head := "1 validation error for TokenPayload\n"
	if loc != "" {
		head += loc + "\n"
	}
	return head + "  " + msg + " [type=" + typ + ", input_value=" + input + ", input_type=" + inputType(input) + "]\n    For further information visit https://errors.pydantic.dev/2.11/v/" + typ
}

func inputType(input string) string {
	switch {
	case strings.HasPrefix(input, "{"):
		return "dict"
	case strings.HasPrefix(input, "["):
		return "list"
	case strings.HasPrefix(input, "'"):
		return "str"
	case input == "None":
		return "NoneType"
	case input == "True" || input == "False":
		return "bool"
	case strings.Contains(input, "."):
		return "float"
	}
	return "int"
}

func pyReprJSON(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return "'" + strings.ReplaceAll(x, "'", `\'`) + "'"
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprintf("%d", int64(x))
		}
		return fmt.Sprint(x)
	case []any:
		return "[...]"
	case map[string]any:
		if len(x) == 0 {
			return "{}"
		}
		return "{...}"
	}
	return fmt.Sprint(v)
}

// parsePayload enforces {"token": "<string>"} (pydantic StrictStr).
func parsePayload(raw []byte) (string, *mintError) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		in := string(raw)
		if len(in) > 40 {
			in = in[:40] + "..."
		}
		return "", invalid("invalid-payload", pydanticError("", "Invalid JSON: "+jsonErrText(err), "json_invalid", "'"+in+"'"))
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return "", invalid("invalid-payload", pydanticError("", "Input should be an object", "model_type", pyReprJSON(v)))
	}
	t, present := obj["token"]
	if !present {
		return "", invalid("invalid-payload", pydanticError("token", "Field required", "missing", pyReprJSON(obj)))
	}
	str, ok := t.(string)
	if !ok {
		return "", invalid("invalid-payload", pydanticError("token", "Input should be a valid string", "string_type", pyReprJSON(t)))
	}
	return str, nil
}

func jsonErrText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "expected value at line 1 column " + fmt.Sprint(se.Offset)
	}
	return "EOF while parsing a value at line 1 column 0"
}

var workflowFileRe = regexp.MustCompile(`[^/]+\.(?:yml|yaml)@`)

// requiredClaims are checked for presence in this order.
var requiredClaims = []string{"repository", "repository_owner", "repository_owner_id", "job_workflow_ref", "jti", "event_name", "ref", "sha"}

func (s *Server) mint(r *http.Request, raw []byte) (string, int64, *mintError) {
	jwtStr, merr := parsePayload(raw)
	if merr != nil {
		return "", 0, merr
	}
	unverified, _, err := jwt.NewParser().ParseUnverified(jwtStr, jwt.MapClaims{})
	if err != nil {
		return "", 0, invalid("invalid-payload", "malformed JWT")
	}
	uc, _ := unverified.Claims.(jwt.MapClaims)
	iss, _ := uc["iss"].(string)
	if iss == "" {
		return "", 0, invalid("invalid-payload", "malformed JWT")
	}
	service, known := knownIssuers[iss]
	if !known && iss != s.opts.Issuer {
		return "", 0, invalid("invalid-payload", "unknown trusted publishing issuer")
	}
	if service == "" {
		service = "github"
	}
	if service == "github" && s.opts.GitHubDisabled {
		return "", 0, invalid("not-enabled", service+" trusted publishing functionality not enabled")
	}
	if s.opts.Verifier == nil || iss != s.opts.Issuer {
		return "", 0, invalid("invalid-token", "malformed or invalid token")
	}
	claims, err := s.opts.Verifier.Verify(jwtStr, s.opts.Audience, jwtLeeway)
	if err != nil {
		return "", 0, invalid("invalid-token", "malformed or invalid token")
	}
	for _, c := range []string{"iss", "iat", "exp", "aud"} {
		if _, ok := claims[c]; !ok {
			return "", 0, invalid("invalid-token", "malformed or invalid token")
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	// A pending publisher is tried first; it creates the project on first use.
	if pend, err := s.matchPending(claims); err == nil {
		if _, exists := s.projects[normalize(pend.project)]; exists {
			s.pending = deletePending(s.pending, pend)
			return "", 0, invalid("invalid-pending-publisher", "valid token, but project already exists")
		}
		// create_project checks the name first; its refusal comes back as
		// invalid-payload (warehouse/oidc/views.py mint_token).
		if v := s.checkNewProjectName(pend.project); v != nil {
			return "", 0, invalid("invalid-payload", v.Message)
		}
		s.reify(pend)
	}

	pub, err := s.matchPublisher(claims)
	if err != nil {
		if errors.Is(err, errReusedToken) {
			return "", 0, invalid("invalid-reuse-token", "invalid token: already used")
		}
		return "", 0, invalid("invalid-publisher", "valid token, but no corresponding publisher ("+err.Error()+")")
	}
	jti, _ := claims["jti"].(string)
	s.usedJTI[jti] = true

	now := s.now().Unix()
	var ids []string
	for _, n := range pub.projects {
		if p, ok := s.projects[n]; ok {
			ids = append(ids, p.ID)
		}
	}
	host := r.Host
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	tok := s.mintLocked(host, &tokenRec{publisherID: pub.ID},
		macaroon.OIDCPublisher(pub.ID),
		macaroon.ProjectIDs(ids...),
		macaroon.Expiration(now+int64(TokenTTL/time.Second), now),
	)
	s.minted = append(s.minted, tok)
	return tok, now + int64(TokenTTL/time.Second), nil
}

var errReusedToken = errors.New("invalid token: already used")

type publisherErr string

func (e publisherErr) Error() string { return string(e) }

func claimStr(claims jwt.MapClaims, name string) (string, bool) {
	v, ok := claims[name]
	if !ok || v == nil {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		return fmt.Sprint(v), true
	}
	return s, true
}

// candidates does Warehouse's lookup_by_claims over pubs.
func candidates[T any](claims jwt.MapClaims, pubs []T, get func(T) Publisher) (T, error) {
	var zero T
	for _, c := range requiredClaims {
		if _, ok := claimStr(claims, c); !ok {
			return zero, publisherErr(fmt.Sprintf("Missing claim '%s'", c))
		}
	}
	repo, _ := claimStr(claims, "repository")
	owner, name, _ := strings.Cut(repo, "/")
	ownerID, _ := claimStr(claims, "repository_owner_id")
	jwr, _ := claimStr(claims, "job_workflow_ref")
	m := workflowFileRe.FindString(jwr)
	if m == "" {
		return zero, publisherErr("Could not job extract workflow filename from OIDC claims")
	}
	file := strings.TrimSuffix(m, "@")
	var rows []T
	for _, p := range pubs {
		pp := get(p)
		if pp.Repo == name && pp.Owner == owner && pp.OwnerID == ownerID && pp.Workflow == file {
			rows = append(rows, p)
		}
	}
	env, _ := claimStr(claims, "environment")
	if env != "" {
		for _, p := range rows {
			if get(p).Environment == strings.ToLower(env) {
				return p, nil
			}
		}
	}
	for _, p := range rows {
		if get(p).Environment == "" {
			return p, nil
		}
	}
	return zero, publisherErr("Publisher with matching claims was not found")
}

// verifyClaims is GitHubPublisher.verify_claims.
func (s *Server) verifyClaims(p Publisher, claims jwt.MapClaims) error {
	get := func(n string) string { v, _ := claimStr(claims, n); return v }
	if !strings.EqualFold(get("repository"), p.Owner+"/"+p.Repo) {
		return publisherErr("Check failed for required claim 'repository'")
	}
	if get("repository_owner") != p.Owner {
		return publisherErr("Check failed for required claim 'repository_owner'")
	}
	if get("repository_owner_id") != p.OwnerID {
		return publisherErr("Check failed for required claim 'repository_owner_id'")
	}
	jwr := get("job_workflow_ref")
	if jwr == "" {
		return publisherErr("The job_workflow_ref claim is empty")
	}
	ref, sha := get("ref"), get("sha")
	if ref == "" && sha == "" {
		return publisherErr("The ref and sha claims are empty")
	}
	base := p.Owner + "/" + p.Repo + "/.github/workflows/" + p.Workflow
	var expected []string
	for _, x := range []string{ref, sha} {
		if x != "" && !contains(expected, base+"@"+x) {
			expected = append(expected, base+"@"+x)
		}
	}
	if !contains(expected, jwr) {
		sort.Strings(expected)
		quoted := make([]string, len(expected))
		for i, e := range expected {
			quoted[i] = "'" + e + "'"
		}
		return publisherErr(fmt.Sprintf("The job_workflow_ref claim does not match, expecting one of [%s], got '%s'", strings.Join(quoted, ", "), jwr))
	}
	if s.usedJTI[get("jti")] {
		return errReusedToken
	}
	if get("event_name") == "pull_request_target" {
		return publisherErr("Publishing from a workflow invoked via 'pull_request_target' is not supported.")
	}
	if p.Environment != "" {
		env := get("environment")
		if env == "" || !strings.EqualFold(env, p.Environment) {
			return publisherErr("Check failed for optional claim 'environment'")
		}
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func (s *Server) matchPublisher(claims jwt.MapClaims) (*publisherRec, error) {
	p, err := candidates(claims, s.publishers, func(p *publisherRec) Publisher { return p.Publisher })
	if err != nil {
		return nil, err
	}
	if err := s.verifyClaims(p.Publisher, claims); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Server) matchPending(claims jwt.MapClaims) (*pendingRec, error) {
	p, err := candidates(claims, s.pending, func(p *pendingRec) Publisher { return p.Publisher })
	if err != nil {
		return nil, err
	}
	if err := s.verifyClaims(p.Publisher, claims); err != nil {
		return nil, err
	}
	return p, nil
}

// reify turns a pending publisher into a real one attached to a new project.
// Caller holds mu.
func (s *Server) reify(pend *pendingRec) {
	proj := s.ensureProject(pend.project)
	if !contains(proj.Owners, pend.addedBy) {
		proj.Owners = append(proj.Owners, pend.addedBy)
	}
	rec := s.findPublisher(pend.Publisher)
	if rec == nil {
		rec = &publisherRec{ID: newUUID(), Publisher: pend.Publisher}
		s.publishers = append(s.publishers, rec)
	}
	if !contains(rec.projects, proj.Normalized) {
		rec.projects = append(rec.projects, proj.Normalized)
	}
	// Every pending publisher for that project goes.
	keep := s.pending[:0]
	for _, p := range s.pending {
		if normalize(p.project) != proj.Normalized {
			keep = append(keep, p)
		}
	}
	s.pending = keep
}

func deletePending(ps []*pendingRec, x *pendingRec) []*pendingRec {
	out := ps[:0]
	for _, p := range ps {
		if p != x {
			out = append(out, p)
		}
	}
	return out
}
