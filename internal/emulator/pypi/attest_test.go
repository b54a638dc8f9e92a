package pypi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/attest"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	"github.com/putitoutthere/putitoutthere/internal/emulator/sigstore"
	"github.com/putitoutthere/putitoutthere/internal/pydist/pydisttest"
)

// Attestations are verified as Warehouse verifies them: against the file's
// name and digest and the trusted publisher the token was minted for; a
// refusal carries Warehouse's status and text and stores nothing.
func TestAttestationsVerifiedAgainstPublisher(t *testing.T) {
	iss, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	sig, err := sigstore.Start(sigstore.Options{Verifier: iss})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sig.Close)
	e := startWith(t, iss, func(o *Options) { o.Sigstore = sig.TrustedRoot() })
	if err := e.srv.AddTrustedPublisher("demo-pkg", defaultPublisher); err != nil {
		t.Fatal(err)
	}
	signer := &attest.Signer{FulcioURL: sig.URL(), RekorURL: sig.URL(),
		IDToken: func(context.Context) (string, error) { return iss.Mint(sigstore.Audience) }}
	attFor := func(name string, data []byte) string {
		t.Helper()
		sum := sha256.Sum256(data)
		a, err := signer.Sign(context.Background(), attest.PublishStatement(name, hex.EncodeToString(sum[:])))
		if err != nil {
			t.Fatal(err)
		}
		s, _ := attest.Marshal([]*attest.Attestation{a})
		return s
	}
	wn, wb := pydisttest.Wheel(spec)
	sn, sb := pydisttest.Sdist(spec)
	good := attFor(wn, wb)
	other := spec
	other.Salt = "tampered"
	_, tampered := pydisttest.Wheel(other)

	foreignID := oidc.DefaultIdentity()
	foreignID.Repository = "mallory/octo-repo"
	iss.SetIdentity(foreignID)
	foreign := attFor(wn, wb)
	iss.SetIdentity(oidc.DefaultIdentity())

	const pre = "Invalid attestations supplied during upload: Could not verify the uploaded artifact using the included attestation: Verification failed: "
	tok := e.tpToken()
	for _, c := range []struct {
		name string
		f    *form
		want string
	}{
		{"tampered file", distForm(wn, tampered).set("attestations", good), pre + "subject does not match distribution digest"},
		{"attestation of another file", distForm(sn, sb).set("attestations", good), pre + "subject does not match distribution name: " + wn + " != " + sn},
		{"foreign identity", distForm(wn, wb).set("attestations", foreign), pre + "Certificate's OIDCSourceRepositoryURI does not match (got https://github.com/mallory/octo-repo, expected https://github.com/octo-org/octo-repo)"},
		{"two of one predicate type", distForm(wn, wb).set("attestations", "["+strings.Trim(good, "[]")+","+strings.Trim(good, "[]")+"]"),
			"Invalid attestations supplied during upload: Multiple attestations for the same file with the same predicate type (" + attest.PredicatePyPIPublish + ") are not supported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.upload(c.f, basic(tok))
			if r.status != 400 || r.reason != c.want {
				t.Fatalf("got %d %q\nwant 400 %q", r.status, r.reason, c.want)
			}
		})
	}
	if got := e.srv.Files("demo-pkg", "1.0.0"); len(got) != 0 {
		t.Fatalf("a refused upload stored %v", got)
	}

	// The genuine one is accepted and served by the integrity API.
	if r := e.upload(distForm(wn, wb).set("attestations", good), basic(tok)); r.status != 200 {
		t.Fatalf("upload: %d %q", r.status, r.reason)
	}
	p := e.do("GET", "/integrity/demo-pkg/1.0.0/"+wn+"/provenance", "", nil, nil)
	var prov struct {
		Version            int `json:"version"`
		AttestationBundles []struct {
			Publisher    map[string]any       `json:"publisher"`
			Attestations []attest.Attestation `json:"attestations"`
		} `json:"attestation_bundles"`
	}
	if err := json.Unmarshal([]byte(p.body), &prov); err != nil || p.status != 200 {
		t.Fatalf("provenance: %d %v %s", p.status, err, p.body)
	}
	if prov.Version != 1 || len(prov.AttestationBundles) != 1 || prov.AttestationBundles[0].Publisher["repository"] != "octo-org/octo-repo" ||
		prov.AttestationBundles[0].Publisher["kind"] != "GitHub" || len(prov.AttestationBundles[0].Attestations) != 1 {
		t.Fatalf("provenance: %s", p.body)
	}
	// The simple page links it (PEP 740 data-provenance).
	if sp := e.do("GET", "/simple/demo-pkg/", "", nil, nil); !strings.Contains(sp.body, `data-provenance="`+e.srv.URL()+"/integrity/demo-pkg/1.0.0/"+wn+`/provenance"`) {
		t.Errorf("simple page: %s", sp.body)
	}
	if p := e.do("GET", "/integrity/demo-pkg/1.0.0/"+sn+"/provenance", "", nil, nil); p.status != 404 {
		t.Fatalf("no file: %d", p.status)
	}
}
