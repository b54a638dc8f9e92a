package attest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/putitoutthere/putitoutthere/internal/attest"
)

// shape renders a JSON value's structure: object keys (sorted) with the
// shape of their values, array element shapes, and scalar types. Base64
// JSON documents inside (canonicalizedBody, statement) are expanded.
func shape(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, k+":"+shape(x[k]))
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		if len(x) == 0 {
			return "[]"
		}
		return "[" + shape(x[0]) + "]"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func decodeB64JSON(t *testing.T, s string) any {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func generic(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestFormatMatchesPyPI compares an attestation made here with one PyPI
// serves (testdata/README.md), field by field.
func TestFormatMatchesPyPI(t *testing.T) {
	realRaw, err := os.ReadFile("testdata/sampleproject-3.0.0.tar.gz.publish.attestation")
	if err != nil {
		t.Fatal(err)
	}
	e := start(t)
	const name = "sampleproject-3.0.0.tar.gz"
	const sum = "117ed88e5db073bb92969a7545745fd977ee85b7019706dd256a64058f70963d" // the fixture's subject digest
	a, err := e.signer().Sign(context.Background(), attest.PublishStatement(name, sum))
	if err != nil {
		t.Fatal(err)
	}
	oursRaw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	real, ours := generic(t, realRaw), generic(t, oursRaw)

	// The whole object's structure.
	if r, o := shape(real), shape(ours); r != o {
		t.Errorf("attestation shape differs\nPyPI: %s\nours: %s", r, o)
	}
	entry := func(m map[string]any) map[string]any {
		return m["verification_material"].(map[string]any)["transparency_entries"].([]any)[0].(map[string]any)
	}
	re, oe := entry(real), entry(ours)
	// The log entry's kind and the canonicalised body's structure.
	if r, o := fmt.Sprint(re["kindVersion"]), fmt.Sprint(oe["kindVersion"]); r != o {
		t.Errorf("kindVersion: PyPI %s, ours %s", r, o)
	}
	rb, ob := decodeB64JSON(t, re["canonicalizedBody"].(string)), decodeB64JSON(t, oe["canonicalizedBody"].(string))
	if r, o := shape(rb), shape(ob); r != o {
		t.Errorf("canonicalizedBody shape differs\nPyPI: %s\nours: %s", r, o)
	}
	// int64 fields are JSON strings, as protobuf JSON writes them.
	for _, k := range []string{"logIndex", "integratedTime"} {
		if _, ok := oe[k].(string); !ok {
			t.Errorf("%s is %T, want a string", k, oe[k])
		}
	}
	// The statement is byte-for-byte what pypi-attestations signs.
	rs, _ := base64.StdEncoding.DecodeString(real["envelope"].(map[string]any)["statement"].(string))
	if got := string(attest.PublishStatement(name, sum)); got != string(rs) {
		t.Errorf("statement differs\nPyPI: %s\nours: %s", rs, got)
	}

	// The real attestation parses and its statement passes the same checks.
	var ra attest.Attestation
	if err := json.Unmarshal(realRaw, &ra); err != nil {
		t.Fatal(err)
	}
	if _, err := ra.ToBundle(); err != nil {
		t.Fatal(err)
	}
	if ra.PredicateType() != attest.PredicatePyPIPublish {
		t.Errorf("predicate type %q", ra.PredicateType())
	}
	if _, err := attest.CertificateIdentity(ra.VerificationMaterial.Certificate); err != nil {
		t.Errorf("certificate: %v", err)
	}
	// The real attestation verifies with the same code against Sigstore's
	// public-good trust root (certificate chain and SCT, log inclusion,
	// signature), and its statement against the sdist it names.
	tr, err := root.NewTrustedRootFromPath("testdata/trusted-root-public-good.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := attest.VerifySignature(&ra, tr); err != nil {
		t.Errorf("PyPI's attestation does not verify: %v", err)
	}
	if _, err := attest.VerifyOffline(&ra, attest.Publisher{}, name, sum, attest.Options{Issuer: "https://accounts.google.com"}); err == nil ||
		!strings.Contains(err.Error(), "Certificate does not contain OIDCSourceRepositoryURI") {
		// A Google service account signed it: as a GitHub publisher it is
		// refused at the repository check, in pypi-attestations' words.
		t.Errorf("policy: %v", err)
	}
	if _, err := attest.Verify(&ra, tr, attest.Publisher{Repository: "pypa/sampleproject", Workflow: "release.yml"}, name, sum, attest.Options{}); err == nil ||
		err.Error() != "Could not verify the uploaded artifact using the included attestation: Verification failed: Certificate's OIDCIssuerV2 does not match (got https://accounts.google.com, expected https://token.actions.githubusercontent.com)" {
		t.Errorf("as a GitHub publisher's: %v", err)
	}
	// Ours does not verify against the public-good root.
	if err := attest.VerifySignature(a, tr); err == nil {
		t.Error("an emulator attestation verified against the public-good root")
	}
	// Re-encoding the real object gives back the same JSON.
	again, _ := json.Marshal(&ra)
	if shape(generic(t, again)) != shape(real) {
		t.Errorf("re-encoded PyPI attestation changed shape")
	}
}
