package pypi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/putitoutthere/putitoutthere/internal/attest"
	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	pypireg "github.com/putitoutthere/putitoutthere/internal/registry/pypi"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Codes raised while attesting.
const CodeAttestationFailed = "PIOT_PYPI_ATTESTATION_FAILED"

// Sigstore is where attestations are signed and what they are verified with.
type Sigstore struct {
	FulcioURL, RekorURL string
	// TrustedRoot loads the trust root for the local check before upload.
	TrustedRoot func(ctx context.Context) (root.TrustedMaterial, error)
}

var _ publish.Attester = (*Handler)(nil)

// Attest implements publish.Attester: with trusted publishing, every file
// the job will upload gets a PEP 740 publish attestation, signed with a
// Sigstore certificate for the job's OIDC identity (audience "sigstore"),
// and checked here as PyPI will check it: against the file's bytes and
// against the trusted publisher the exchange just matched (the repository
// and the workflow file of job_workflow_ref).
func (h *Handler) Attest(ctx context.Context, j publish.Job, c *publish.Credential) ([]string, error) {
	switch {
	case j.Package.NoAttestations:
		return []string{"attestations = false: uploading without PEP 740 attestations"}, nil
	case c == nil || c.Method != auth.MethodOIDC:
		return []string{"uploading with a token: no PEP 740 attestations (PyPI accepts them only from trusted publishers)"}, nil
	case h.Sigstore == nil:
		return nil, nil
	}
	fs := h.pending(ctx, j)
	if len(fs) == 0 {
		return nil, nil
	}
	tok, err := h.IDToken(ctx, "sigstore")
	if err != nil {
		return nil, diag.New(CodeAttestationFailed, "requesting an OIDC token for Sigstore (audience sigstore)").Wrap(err).
			WithHint("the job needs `id-token: write`; or set attestations = false for %s", j.Package.Name)
	}
	secret.Register(tok)
	h.mask(tok)
	pub, err := publisherOf(tok)
	if err != nil {
		return nil, diag.New(CodeAttestationFailed, "reading the OIDC token's identity").Wrap(err)
	}
	signer := &attest.Signer{FulcioURL: h.Sigstore.FulcioURL, RekorURL: h.Sigstore.RekorURL,
		IDToken: func(context.Context) (string, error) { return tok, nil }}
	var tm root.TrustedMaterial
	var notes []string
	if h.Sigstore.TrustedRoot != nil {
		if tm, err = h.Sigstore.TrustedRoot(ctx); err != nil {
			notes = append(notes, fmt.Sprintf("could not load Sigstore's trust root (%v): the attestations were checked against the files and the publisher, not cryptographically", err))
			tm = nil
		}
	}
	// Keyed by path: the handler serves every PyPI job of the run.
	if h.attested == nil {
		h.attested = map[string][]*attest.Attestation{}
	}
	for _, path := range fs {
		data, err := os.ReadFile(path)
		if err != nil {
			return notes, err
		}
		sum := sha256.Sum256(data)
		digest := hex.EncodeToString(sum[:])
		name := filepath.Base(path)
		a, err := signer.Sign(ctx, attest.PublishStatement(name, digest))
		if err != nil {
			return notes, diag.New(CodeAttestationFailed, "signing the attestation for %s", name).Wrap(err).
				WithHint("Sigstore (%s) refused or did not answer; re-run, or set attestations = false for %s to publish without provenance", h.Sigstore.FulcioURL, j.Package.Name)
		}
		if err := h.checkOwn(a, tm, pub, name, digest); err != nil {
			return notes, err
		}
		h.attested[path] = []*attest.Attestation{a}
	}
	notes = append(notes, fmt.Sprintf("%d PEP 740 attestation(s) signed for %s and verified against the files", len(fs), pub.Workflow+" @ "+pub.Repository))
	return notes, nil
}

// checkOwn verifies an attestation as PyPI will before it is sent.
func (h *Handler) checkOwn(a *attest.Attestation, tm root.TrustedMaterial, pub attest.Publisher, name, digest string) error {
	var err error
	if tm != nil {
		_, err = attest.Verify(a, tm, pub, name, digest, attest.Options{})
	} else {
		_, err = attest.VerifyOffline(a, pub, name, digest, attest.Options{})
	}
	if err == nil {
		return nil
	}
	msg := "Invalid attestations supplied during upload: " + err.Error()
	hint := "fix the cause, or set attestations = false for the package to upload without provenance"
	if strings.Contains(msg, "Build Config URI") {
		hint = "PyPI matched the trusted publisher on the called workflow (job_workflow_ref) but verifies attestations against the top-level workflow (workflow_ref); publish from a top-level workflow, or set attestations = false for the package"
	}
	return diag.New(pypireg.CodeAttestationRefused, "PyPI would refuse %s (HTTP 400): %s", name, msg).WithHint("%s", hint)
}

// pending are the files the job will upload (not yet on PyPI).
func (h *Handler) pending(ctx context.Context, j publish.Job) []string {
	present := map[string]bool{}
	if ok, err := h.Client.VersionExists(ctx, j.Name(), j.Version()); err == nil && ok {
		if remote, err := h.Client.Files(ctx, j.Name(), j.Version()); err == nil {
			for _, r := range remote {
				present[r] = true
			}
		}
	}
	var out []string
	for _, f := range files(j) {
		if !present[filepath.Base(f.Rel)] {
			out = append(out, f.Path)
		}
	}
	return out
}

// publisherOf is the trusted publisher a GitHub token's exchange matches:
// its repository and the workflow file of job_workflow_ref
// (warehouse/oidc/models/github.py).
func publisherOf(tok string) (attest.Publisher, error) {
	parts := strings.Split(tok, ".")
	if len(parts) < 2 {
		return attest.Publisher{}, fmt.Errorf("not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return attest.Publisher{}, err
	}
	var c struct {
		Repository     string `json:"repository"`
		JobWorkflowRef string `json:"job_workflow_ref"`
		Environment    string `json:"environment"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return attest.Publisher{}, err
	}
	ref, _, _ := strings.Cut(c.JobWorkflowRef, "@")
	_, wf, _ := strings.Cut(ref, "/.github/workflows/")
	return attest.Publisher{Repository: c.Repository, Workflow: wf, Environment: c.Environment}, nil
}
