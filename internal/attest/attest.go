// Package attest makes and checks PEP 740 publish attestations: an in-toto
// statement naming one distribution file and its SHA-256, in a DSSE envelope
// signed with a short-lived Sigstore certificate and recorded in the
// transparency log, carried in PyPI's attestation object.
//
// Signing goes through sigstore-go; the object's layout and the checks
// (with their messages) follow pypi-attestations' Attestation.sign/verify
// (src/pypi_attestations/_impl.py), which Warehouse runs on every upload
// (warehouse/attestations/services.py).
package attest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
)

// Predicate types PyPI knows (pypi-attestations AttestationType).
const (
	PredicatePyPIPublish = "https://docs.pypi.org/attestations/publish/v1"
	PredicateSLSA        = "https://slsa.dev/provenance/v1"
)

// knownPredicates are the types Warehouse accepts (SUPPORTED_ATTESTATION_TYPES).
var knownPredicates = map[string]bool{PredicatePyPIPublish: true, PredicateSLSA: true}

const (
	statementType = "https://in-toto.io/Statement/v1"
	payloadType   = "application/vnd.in-toto+json"
	bundleType    = "application/vnd.dev.sigstore.bundle.v0.3+json"
)

// Attestation is PEP 740's attestation object, as PyPI stores and serves it
// (version 1; certificate, statement and signature base64 on the wire).
type Attestation struct {
	Version              int                  `json:"version"`
	VerificationMaterial VerificationMaterial `json:"verification_material"`
	Envelope             Envelope             `json:"envelope"`
}

// VerificationMaterial is the signing certificate (DER) and the log entries
// (Sigstore TransparencyLogEntry in its protobuf JSON form).
type VerificationMaterial struct {
	Certificate         []byte            `json:"certificate"`
	TransparencyEntries []json.RawMessage `json:"transparency_entries"`
}

// Envelope is the statement and its DSSE signature.
type Envelope struct {
	Statement []byte `json:"statement"`
	Signature []byte `json:"signature"`
}

// Statement is the in-toto v1 statement, fields in the order sigstore-python
// writes them.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject names an artifact by file name and digests.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// PublishStatement is the statement for one distribution file.
func PublishStatement(filename, sha256hex string) []byte {
	b, _ := json.Marshal(Statement{
		Type:          statementType,
		Subject:       []Subject{{Name: filename, Digest: map[string]string{"sha256": sha256hex}}},
		PredicateType: PredicatePyPIPublish,
		Predicate:     json.RawMessage("null"),
	})
	return b
}

// Signer signs statements with certificates from a Fulcio and records them
// in a Rekor.
type Signer struct {
	FulcioURL, RekorURL string
	// IDToken returns an OIDC token with audience "sigstore".
	IDToken func(ctx context.Context) (string, error)
}

// SignFile attests the distribution file at path.
func (s *Signer) SignFile(ctx context.Context, path string) (*Attestation, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return s.Sign(ctx, PublishStatement(filepath.Base(path), hex.EncodeToString(sum[:])))
}

// Sign signs an in-toto statement with an ephemeral key and a fresh
// certificate and logs it.
func (s *Signer) Sign(ctx context.Context, statement []byte) (*Attestation, error) {
	tok, err := s.IDToken(ctx)
	if err != nil {
		return nil, err
	}
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, err
	}
	b, err := sign.Bundle(&sign.DSSEData{Data: statement, PayloadType: payloadType}, kp, sign.BundleOptions{
		Context:                    ctx,
		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: s.FulcioURL, Retries: 2}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: tok},
		TransparencyLogs:           []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: s.RekorURL, Retries: 2})},
	})
	if err != nil {
		return nil, err
	}
	return FromBundle(b)
}

// FromBundle converts a Sigstore bundle holding a DSSE envelope into PyPI's
// attestation object (pypi-attestations Attestation.from_bundle).
func FromBundle(b *protobundle.Bundle) (*Attestation, error) {
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, errors.New("bundle does not contain a DSSE envelope")
	}
	if len(env.Signatures) != 1 {
		return nil, fmt.Errorf("expected exactly one signature, got %d", len(env.Signatures))
	}
	vm := b.GetVerificationMaterial()
	var cert []byte
	switch {
	case vm.GetCertificate() != nil:
		cert = vm.GetCertificate().GetRawBytes()
	case vm.GetX509CertificateChain() != nil && len(vm.GetX509CertificateChain().GetCertificates()) > 0:
		cert = vm.GetX509CertificateChain().GetCertificates()[0].GetRawBytes()
	default:
		return nil, errors.New("bundle has no signing certificate")
	}
	a := &Attestation{Version: 1, Envelope: Envelope{Statement: env.Payload, Signature: env.Signatures[0].Sig}}
	a.VerificationMaterial.Certificate = cert
	for _, e := range vm.GetTlogEntries() {
		// Zero values (log index 0, an empty proof path) are written out,
		// as sigstore-python's to_dict does.
		raw, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(e)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, err
		}
		a.VerificationMaterial.TransparencyEntries = append(a.VerificationMaterial.TransparencyEntries, buf.Bytes())
	}
	if len(a.VerificationMaterial.TransparencyEntries) == 0 {
		return nil, errors.New("bundle has no transparency log entry")
	}
	return a, nil
}

// ToBundle rebuilds the Sigstore bundle (pypi-attestations
// Attestation.to_bundle: the first log entry, the in-toto payload type).
func (a *Attestation) ToBundle() (*protobundle.Bundle, error) {
	if len(a.VerificationMaterial.TransparencyEntries) == 0 {
		return nil, errors.New("invalid transparency log entry")
	}
	var tle protorekor.TransparencyLogEntry
	if err := protojson.Unmarshal(a.VerificationMaterial.TransparencyEntries[0], &tle); err != nil {
		return nil, errors.New("invalid transparency log entry")
	}
	return &protobundle.Bundle{
		MediaType: bundleType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: a.VerificationMaterial.Certificate}},
			TlogEntries: []*protorekor.TransparencyLogEntry{&tle},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     a.Envelope.Statement,
			PayloadType: payloadType,
			Signatures:  []*protodsse.Signature{{Sig: a.Envelope.Signature}},
		}},
	}, nil
}

// Marshal renders attestations as the upload's `attestations` form field
// (a JSON array).
func Marshal(as []*Attestation) (string, error) {
	b, err := json.Marshal(as)
	return string(b), err
}
