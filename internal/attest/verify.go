package attest

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/putitoutthere/putitoutthere/internal/pydist"
)

// GitHubIssuer is the issuer a GitHub publisher's certificates must name.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// Publisher is a GitHub trusted publisher as PyPI gives it to the verifier
// (warehouse/oidc/models/github.py attestation_identity). Environment is
// carried but, as in pypi-attestations' policy, not checked: a Fulcio
// certificate does not record it (PyPI checks it at the token exchange).
type Publisher struct {
	Repository  string // owner/name
	Workflow    string // workflow filename
	Environment string
}

// Error is a refusal, worded as Warehouse words it after
// "Invalid attestations supplied during upload: ".
type Error struct {
	// Reason is pypi-attestations' message, e.g. "subject does not match
	// distribution digest".
	Reason string
	// Unknown marks errors Warehouse does not classify as verification
	// failures (a malformed certificate or log entry).
	Unknown bool
}

func (e *Error) Error() string {
	if e.Unknown {
		return "Unknown error while trying to verify included attestations: " + e.Reason
	}
	return "Could not verify the uploaded artifact using the included attestation: Verification failed: " + e.Reason
}

func failed(format string, a ...any) *Error { return &Error{Reason: fmt.Sprintf(format, a...)} }

// Options tune verification.
type Options struct {
	// Issuer the certificate must name (GitHubIssuer when empty).
	Issuer string
}

// Verify checks one attestation against a distribution file (its name and
// SHA-256, hex) and the publisher, in pypi-attestations' order: Sigstore
// verification (certificate chain, log inclusion, signature), the
// publisher policy, then the statement's single subject, its name, its
// digest and the predicate type. It returns the predicate type.
func Verify(a *Attestation, tm root.TrustedMaterial, pub Publisher, filename, sha256hex string, o Options) (string, error) {
	issuer := o.Issuer
	if issuer == "" {
		issuer = GitHubIssuer
	}
	cert, err := x509.ParseCertificate(a.VerificationMaterial.Certificate)
	if err != nil {
		return "", &Error{Reason: "invalid X.509 certificate", Unknown: true}
	}
	if err := VerifySignature(a, tm); err != nil {
		return "", err
	}
	if err := CheckPublisher(cert, pub, issuer); err != nil {
		return "", err
	}
	return checkStatement(a.Envelope.Statement, filename, sha256hex)
}

// VerifySignature is the Sigstore part of the verification: the
// certificate chains to the trust root's CA (with SCTs when the root lists
// CT logs), the log entry is included (signed entry timestamp and inclusion
// proof) and matches the envelope, and the envelope's signature verifies
// with the certificate's key at the log's integration time.
func VerifySignature(a *Attestation, tm root.TrustedMaterial) error {
	pb, err := a.ToBundle()
	if err != nil {
		return &Error{Reason: err.Error(), Unknown: true}
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		return &Error{Reason: "invalid transparency log entry", Unknown: true}
	}
	opts := []verify.VerifierOption{verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1)}
	if len(tm.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	v, err := verify.NewVerifier(tm, opts...)
	if err != nil {
		return &Error{Reason: err.Error(), Unknown: true}
	}
	// Identity is checked separately, with PyPI's own policy and wording.
	if _, err := v.Verify(b, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithoutIdentitiesUnsafe())); err != nil {
		return failed("%v", err)
	}
	return nil
}

// CheckPublisher is pypi-attestations' GitHub trusted publisher policy:
// the issuer, the source repository, and the Build Config URI equal to
// https://github.com/{repository}/.github/workflows/{workflow}@{ref or sha}.
func CheckPublisher(cert *x509.Certificate, pub Publisher, issuer string) *Error {
	for _, c := range []struct {
		name string
		oid  asn1.ObjectIdentifier
		want string
	}{
		{"OIDCIssuerV2", oidIssuerV2, issuer},
		{"OIDCSourceRepositoryURI", oidSourceRepositoryURI, "https://github.com/" + pub.Repository},
	} {
		got, ok := extension(cert, c.oid)
		if !ok {
			return failed("Certificate does not contain %s (%s) extension", c.name, c.oid)
		}
		if got != c.want {
			return failed("Certificate's %s does not match (got %s, expected %s)", c.name, got, c.want)
		}
	}
	uri, ok := extension(cert, oidBuildConfigURI)
	if !ok {
		return failed("Certificate does not contain OIDCBuildConfigURI (%s) extension", oidBuildConfigURI)
	}
	var suffixes []string
	for _, oid := range []asn1.ObjectIdentifier{oidSourceRepositoryDigest, oidSourceRepositoryRef} {
		if v, ok := extension(cert, oid); ok {
			suffixes = append(suffixes, v)
		}
	}
	if len(suffixes) == 0 {
		return failed("Certificate must contain either Source Repository Digest or Source Repository Ref")
	}
	for _, s := range suffixes {
		if uri == "https://github.com/"+pub.Repository+"/.github/workflows/"+pub.Workflow+"@"+s {
			return nil
		}
	}
	// Warehouse prints the extension object's Python repr where the URI is.
	return failed("Certificate's Build Config URI (%s) does not match expected Trusted Publisher (%s @ %s)", uri, pub.Workflow, pub.Repository)
}

// Fulcio's extensions the policy reads (fulcio docs/oid-info.md).
var (
	oidIssuerV2               = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
	oidSourceRepositoryURI    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 12}
	oidSourceRepositoryDigest = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 13}
	oidSourceRepositoryRef    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 14}
	oidBuildConfigURI         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 18}
)

// extension reads a DER UTF8String extension value.
func extension(cert *x509.Certificate, oid asn1.ObjectIdentifier) (string, bool) {
	for _, e := range cert.Extensions {
		if e.Id.Equal(oid) {
			var s string
			if _, err := asn1.UnmarshalWithParams(e.Value, &s, "utf8"); err != nil {
				return "", false
			}
			return s, true
		}
	}
	return "", false
}

// Identity is what a certificate says about the workflow that signed it.
type Identity struct {
	Issuer, Repository, BuildConfigURI, Ref, SHA string
}

// CertificateIdentity reads the identity from a DER certificate.
func CertificateIdentity(der []byte) (Identity, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Identity{}, err
	}
	var id Identity
	id.Issuer, _ = extension(cert, oidIssuerV2)
	id.Repository, _ = extension(cert, oidSourceRepositoryURI)
	id.BuildConfigURI, _ = extension(cert, oidBuildConfigURI)
	id.Ref, _ = extension(cert, oidSourceRepositoryRef)
	id.SHA, _ = extension(cert, oidSourceRepositoryDigest)
	return id, nil
}

func checkStatement(raw []byte, filename, sha256hex string) (string, error) {
	var st Statement
	if err := json.Unmarshal(raw, &st); err != nil {
		return "", failed("invalid statement: %v", err)
	}
	if st.Type != statementType {
		return "", failed("invalid statement: _type must be %s", statementType)
	}
	if len(st.Subject) != 1 {
		return "", failed("too many subjects in statement (must be exactly one)")
	}
	sub := st.Subject[0]
	if sub.Name == "" {
		return "", failed("invalid subject: missing name")
	}
	got, err := distKey(sub.Name)
	if err != nil {
		return "", failed("invalid subject: %v", err)
	}
	want, _ := distKey(filename)
	if got != want {
		return "", failed("subject does not match distribution name: %s != %s", sub.Name, filename)
	}
	if d, ok := sub.Digest["sha256"]; !ok || d != sha256hex {
		return "", failed("subject does not match distribution digest")
	}
	if !knownPredicates[st.PredicateType] {
		return "", failed("unknown attestation type: %s", st.PredicateType)
	}
	return st.PredicateType, nil
}

// distKey is a file name parsed the way packaging's parse_*_filename
// compares: normalised name, canonical version, and the wheel's tags.
func distKey(fn string) (string, error) {
	switch {
	case strings.HasSuffix(fn, ".whl"):
		w, err := pydist.ParseWheelFilename(fn)
		if err != nil {
			return "", err
		}
		return strings.Join([]string{pydist.Normalize(w.Name), pydist.CanonicalVersion(w.Version), w.Build, w.Python, w.ABI, w.Platform}, "|"), nil
	case strings.HasSuffix(fn, ".tar.gz"), strings.HasSuffix(fn, ".zip"):
		n, v, err := pydist.ParseSdistFilename(fn)
		if err != nil {
			return "", err
		}
		return pydist.Normalize(n) + "|" + pydist.CanonicalVersion(v), nil
	}
	return "", fmt.Errorf("unknown distribution format: %s", fn)
}

// PredicateType reads the statement's predicate type without verifying.
func (a *Attestation) PredicateType() string {
	var st Statement
	_ = json.Unmarshal(a.Envelope.Statement, &st)
	return st.PredicateType
}

// SubjectSHA256 is the statement's first subject's sha256 ("" if none).
func (a *Attestation) SubjectSHA256() string {
	var st Statement
	if json.Unmarshal(a.Envelope.Statement, &st) != nil || len(st.Subject) == 0 {
		return ""
	}
	return st.Subject[0].Digest["sha256"]
}

// VerifyOffline makes the checks that need no trust root: the certificate's
// identity against the publisher and the statement against the file.
func VerifyOffline(a *Attestation, pub Publisher, filename, sha256hex string, o Options) (string, error) {
	issuer := o.Issuer
	if issuer == "" {
		issuer = GitHubIssuer
	}
	cert, err := x509.ParseCertificate(a.VerificationMaterial.Certificate)
	if err != nil {
		return "", &Error{Reason: "invalid X.509 certificate", Unknown: true}
	}
	if err := CheckPublisher(cert, pub, issuer); err != nil {
		return "", err
	}
	return checkStatement(a.Envelope.Statement, filename, sha256hex)
}
