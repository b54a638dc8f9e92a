package sigstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	"github.com/putitoutthere/putitoutthere/internal/emulator/sigstore"
)

func start(t *testing.T) (*oidc.Issuer, *sigstore.Server) {
	t.Helper()
	is, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(is.Close)
	s, err := sigstore.Start(sigstore.Options{Verifier: is})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return is, s
}

// The same entry logged twice is a 409 naming the first; sigstore-go's
// client then reads it back (a retry whose first answer was lost).
func TestRekorConflictAndReadBack(t *testing.T) {
	is, s := start(t)
	tok, _ := is.Mint(sigstore.Audience)
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sign.Bundle(&sign.DSSEData{Data: []byte(`{"_type":"https://in-toto.io/Statement/v1"}`), PayloadType: "application/vnd.in-toto+json"}, kp, sign.BundleOptions{
		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: s.URL()}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: tok},
		TransparencyLogs:           []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: s.URL()})},
		TrustedRoot:                s.TrustedRoot(),
	})
	if err != nil {
		t.Fatal(err)
	}
	first := b.VerificationMaterial.TlogEntries[0]
	// Log it again from the same bundle: 409, then the entry is read back.
	cert := b.VerificationMaterial.GetCertificate().RawBytes
	b.VerificationMaterial.TlogEntries = nil
	if err := sign.NewRekor(&sign.RekorOptions{BaseURL: s.URL()}).GetTransparencyLogEntry(context.Background(), certPEM(cert), b); err != nil {
		t.Fatal(err)
	}
	again := b.VerificationMaterial.TlogEntries[0]
	if again.LogIndex != first.LogIndex || !bytes.Equal(again.CanonicalizedBody, first.CanonicalizedBody) {
		t.Fatalf("read back entry %d, logged %d", again.LogIndex, first.LogIndex)
	}
	if s.Entries() != 1 {
		t.Fatalf("%d entries", s.Entries())
	}
}

// Fulcio's refusals: a token for another audience, a bad proof of possession.
func TestFulcioRefusals(t *testing.T) {
	is, s := start(t)
	post := func(tok string, body any) (int, string) {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", s.URL()+"/api/v2/signingCert", bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct{ Message string }
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v.Message
	}
	kp, _ := sign.NewEphemeralKeypair(nil)
	pub, _ := kp.GetPublicKeyPem()
	req := map[string]any{"publicKeyRequest": map[string]any{"publicKey": map[string]any{"algorithm": "ECDSA", "content": pub}, "proofOfPossession": "MEUCIQ=="}}
	pypiTok, _ := is.Mint("pypi")
	if code, msg := post(pypiTok, req); code != 401 || msg != "There was an error processing the identity token" {
		t.Errorf("other audience: %d %q", code, msg)
	}
	tok, _ := is.Mint(sigstore.Audience)
	if code, msg := post(tok, req); code != 400 || !strings.Contains(msg, "could not be verified") {
		t.Errorf("bad proof of possession: %d %q", code, msg)
	}
	if len(s.Issued()) != 0 {
		t.Error("a certificate was issued")
	}
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
