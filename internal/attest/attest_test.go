package attest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/attest"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	"github.com/putitoutthere/putitoutthere/internal/emulator/sigstore"
)

type env struct {
	oidc *oidc.Issuer
	sig  *sigstore.Server
}

func start(t *testing.T) *env {
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
	return &env{is, s}
}

func (e *env) signer() *attest.Signer {
	return &attest.Signer{FulcioURL: e.sig.URL(), RekorURL: e.sig.URL(),
		IDToken: func(context.Context) (string, error) { return e.oidc.Mint(sigstore.Audience) }}
}

var pub = attest.Publisher{Repository: "octo-org/octo-repo", Workflow: "release.yml", Environment: "release"}

const file = "octo_pkg-1.2.0-py3-none-any.whl"

func digest(b string) string { s := sha256.Sum256([]byte(b)); return hex.EncodeToString(s[:]) }

func TestSignVerifyRoundTrip(t *testing.T) {
	e := start(t)
	a, err := e.signer().Sign(context.Background(), attest.PublishStatement(file, digest("wheel bytes")))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := attest.Verify(a, e.sig.TrustedRoot(), pub, file, digest("wheel bytes"), attest.Options{})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if pt != attest.PredicatePyPIPublish {
		t.Fatalf("predicate type %q", pt)
	}
	if e.sig.Entries() != 1 {
		t.Fatalf("log has %d entries, want 1", e.sig.Entries())
	}
	// The audience Fulcio needs.
	if got := e.oidc.Minted(); len(got) != 1 || got[0] != "sigstore" {
		t.Fatalf("minted %v", got)
	}
}

func TestRefusalsCarryPyPIText(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	good, err := e.signer().Sign(ctx, attest.PublishStatement(file, digest("wheel bytes")))
	if err != nil {
		t.Fatal(err)
	}
	otherPred := strings.Replace(string(attest.PublishStatement(file, digest("wheel bytes"))), attest.PredicatePyPIPublish, "https://example.com/predicate/v9", 1)
	odd, err := e.signer().Sign(ctx, []byte(otherPred))
	if err != nil {
		t.Fatal(err)
	}
	id := oidc.DefaultIdentity()
	id.Repository = "mallory/octo-repo"
	e.oidc.SetIdentity(id)
	foreign, err := e.signer().Sign(ctx, attest.PublishStatement(file, digest("wheel bytes")))
	if err != nil {
		t.Fatal(err)
	}
	id = oidc.DefaultIdentity()
	id.WorkflowFile = "other.yml"
	e.oidc.SetIdentity(id)
	otherWF, err := e.signer().Sign(ctx, attest.PublishStatement(file, digest("wheel bytes")))
	if err != nil {
		t.Fatal(err)
	}
	tampered := *good
	tampered.Envelope.Statement = attest.PublishStatement(file, digest("other bytes"))

	const pre = "Could not verify the uploaded artifact using the included attestation: Verification failed: "
	for _, c := range []struct {
		name   string
		a      *attest.Attestation
		file   string
		digest string
		want   string
	}{
		{"wrong digest (tampered file)", good, file, digest("tampered"), pre + "subject does not match distribution digest"},
		{"other file", good, "octo_pkg-1.2.0.tar.gz", digest("wheel bytes"), pre + "subject does not match distribution name: " + file + " != octo_pkg-1.2.0.tar.gz"},
		{"foreign identity", foreign, file, digest("wheel bytes"), pre + "Certificate's OIDCSourceRepositoryURI does not match (got https://github.com/mallory/octo-repo, expected https://github.com/octo-org/octo-repo)"},
		{"other workflow", otherWF, file, digest("wheel bytes"), pre + "Certificate's Build Config URI (https://github.com/octo-org/octo-repo/.github/workflows/other.yml@refs/heads/main) does not match expected Trusted Publisher (release.yml @ octo-org/octo-repo)"},
		{"unsupported predicate", odd, file, digest("wheel bytes"), pre + "unknown attestation type: https://example.com/predicate/v9"},
		{"statement swapped after signing", &tampered, file, digest("other bytes"), pre},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := attest.Verify(c.a, e.sig.TrustedRoot(), pub, c.file, c.digest, attest.Options{})
			if err == nil {
				t.Fatal("verified")
			}
			if !strings.HasPrefix(err.Error(), c.want) || (c.want != pre && err.Error() != c.want) {
				t.Fatalf("got  %q\nwant %q", err, c.want)
			}
		})
	}
	// Another Sigstore's trust root does not verify these certificates.
	other := start(t)
	if _, err := attest.Verify(good, other.sig.TrustedRoot(), pub, file, digest("wheel bytes"), attest.Options{}); err == nil {
		t.Fatal("verified against a foreign trust root")
	}
}

func TestFulcioRefusesOtherAudience(t *testing.T) {
	e := start(t)
	s := &attest.Signer{FulcioURL: e.sig.URL(), RekorURL: e.sig.URL(),
		IDToken: func(context.Context) (string, error) { return e.oidc.Mint("pypi") }}
	_, err := s.Sign(context.Background(), attest.PublishStatement(file, digest("x")))
	if err == nil || !strings.Contains(err.Error(), "There was an error processing the identity token") {
		t.Fatalf("err = %v", err)
	}
}
