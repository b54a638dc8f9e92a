package pypi_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/putitoutthere/putitoutthere/internal/attest"
	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/emulator"
	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	pypiemu "github.com/putitoutthere/putitoutthere/internal/emulator/pypi"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	pypih "github.com/putitoutthere/putitoutthere/internal/publish/pypi"
	"github.com/putitoutthere/putitoutthere/internal/pydist/pydisttest"
	pypireg "github.com/putitoutthere/putitoutthere/internal/registry/pypi"
)

type fixture struct {
	set  *emulator.Set
	h    *pypih.Handler
	job  publish.Job
	dist string // artifact folder
}

func setup(t *testing.T, attestations bool) *fixture {
	t.Helper()
	set, err := emulator.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Close)
	if err := set.PyPI.CreateProject("demo-pkg", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := set.PyPI.AddTrustedPublisher("demo-pkg", pypiemu.Publisher{Owner: "octo-org", Repo: "octo-repo", OwnerID: "65", Workflow: "release.yml", Environment: "release"}); err != nil {
		t.Fatal(err)
	}
	e := env.Env{}
	for _, m := range []map[string]string{set.OIDC.Env(), set.PyPI.Env(), set.Sigstore.Env()} {
		for k, v := range m {
			e[k] = v
		}
	}
	dir := t.TempDir()
	dist := filepath.Join(dir, "artifacts", "demo-sdist")
	spec := pydisttest.Spec{Name: "demo-pkg", Version: "1.0.0"}
	if err := os.MkdirAll(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pydisttest.WriteBoth(dist, spec); err != nil {
		t.Fatal(err)
	}
	rows := []plan.Row{{Name: "demo", Kind: "pypi", Target: "sdist", ArtifactName: "demo-sdist"}}
	j := publish.Job{Package: &config.Package{Name: "demo", Kind: "pypi", Path: "py", PyPI: "demo-pkg", NoAttestations: !attestations},
		Release: plan.Release{Name: "demo", Version: "1.0.0"}, Rows: rows, Root: dir, Env: e, Auth: auth.Resolve("pypi", e)}
	fulcio, rekor := attest.Endpoints(e)
	h := &pypih.Handler{Client: pypireg.New(e, nil), BaseURL: set.PyPI.URL(),
		IDToken: func(ctx context.Context, aud string) (string, error) { return auth.FetchIDToken(ctx, nil, e, aud) },
		Sigstore: &pypih.Sigstore{FulcioURL: fulcio, RekorURL: rekor, TrustedRoot: func(ctx context.Context) (root.TrustedMaterial, error) {
			return attest.TrustedRoot(ctx, e, nil)
		}}}
	return &fixture{set: set, h: h, job: j, dist: dist}
}

func (f *fixture) authorize(t *testing.T) *publish.Credential {
	t.Helper()
	c, err := f.h.Authorize(context.Background(), f.job)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPublishWithAttestations(t *testing.T) {
	f := setup(t, true)
	c := f.authorize(t)
	notes, err := f.h.Attest(context.Background(), f.job, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "2 PEP 740 attestation(s) signed for release.yml @ octo-org/octo-repo") {
		t.Fatalf("notes %q", notes)
	}
	if err := f.h.Publish(context.Background(), f.job, c); err != nil {
		t.Fatal(err)
	}
	for _, fn := range f.set.PyPI.Files("demo-pkg", "1.0.0") {
		file := f.set.PyPI.File("demo-pkg", fn)
		if file == nil || len(file.Attestations) != 1 || file.AttestedBy == nil {
			t.Errorf("%s arrived without a verified attestation", fn)
		}
	}
}

// A file changed after it was attested is refused before it is sent, in
// PyPI's words.
func TestTamperedFileRefusedBeforeUpload(t *testing.T) {
	f := setup(t, true)
	c := f.authorize(t)
	if _, err := f.h.Attest(context.Background(), f.job, c); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(f.dist)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".whl") {
			p := filepath.Join(f.dist, e.Name())
			spec := pydisttest.Spec{Name: "demo-pkg", Version: "1.0.0", Salt: "tampered"}
			_, b := pydisttest.Wheel(spec)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	err := f.h.Publish(context.Background(), f.job, c)
	if diag.CodeOf(err) != pypireg.CodeAttestationRefused || !strings.Contains(err.Error(), "Invalid attestations supplied during upload: Could not verify the uploaded artifact using the included attestation: Verification failed: subject does not match distribution digest") {
		t.Fatalf("err = %v", err)
	}
	if n := f.set.PyPI.Files("demo-pkg", "1.0.0"); len(n) != 0 {
		t.Fatalf("uploaded %v", n)
	}
}

// PyPI matches the publisher on the called (reusable) workflow but verifies
// attestations against the top-level one: the tool knows before uploading.
func TestReusableWorkflowIdentityRefusedBeforeUpload(t *testing.T) {
	f := setup(t, true)
	id := oidc.DefaultIdentity()
	id.WorkflowFile = "ci.yml"
	id.JobWorkflowFile = "release.yml"
	f.set.OIDC.SetIdentity(id)
	c := f.authorize(t)
	_, err := f.h.Attest(context.Background(), f.job, c)
	want := "Invalid attestations supplied during upload: Could not verify the uploaded artifact using the included attestation: Verification failed: Certificate's Build Config URI (https://github.com/octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main) does not match expected Trusted Publisher (release.yml @ octo-org/octo-repo)"
	if diag.CodeOf(err) != pypireg.CodeAttestationRefused || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v", err)
	}
}

func TestNoAttestationsWhenOffOrToken(t *testing.T) {
	f := setup(t, false)
	c := f.authorize(t)
	notes, err := f.h.Attest(context.Background(), f.job, c)
	if err != nil || len(notes) != 1 || !strings.Contains(notes[0], "attestations = false") {
		t.Fatalf("%q %v", notes, err)
	}
	f = setup(t, true)
	notes, err = f.h.Attest(context.Background(), f.job, &publish.Credential{Method: auth.MethodToken, Token: "pypi-x"})
	if err != nil || len(notes) != 1 || !strings.Contains(notes[0], "no PEP 740 attestations") {
		t.Fatalf("%q %v", notes, err)
	}
	if f.set.Sigstore.Entries() != 0 {
		t.Fatal("signed anyway")
	}
}

// One handler serves every PyPI job of a run: attestations signed for the
// first job are still there when it uploads after the second was attested.
func TestTwoPackagesKeepTheirAttestations(t *testing.T) {
	f := setup(t, true)
	if err := f.set.PyPI.CreateProject("demo-two", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := f.set.PyPI.AddTrustedPublisher("demo-two", pypiemu.Publisher{Owner: "octo-org", Repo: "octo-repo", OwnerID: "65", Workflow: "release.yml", Environment: "release"}); err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(f.job.Root, "artifacts", "two-sdist")
	if err := os.MkdirAll(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pydisttest.WriteBoth(dist, pydisttest.Spec{Name: "demo-two", Version: "2.0.0"}); err != nil {
		t.Fatal(err)
	}
	two := f.job
	two.Package = &config.Package{Name: "two", Kind: "pypi", Path: "two", PyPI: "demo-two"}
	two.Release = plan.Release{Name: "two", Version: "2.0.0"}
	two.Rows = []plan.Row{{Name: "two", Kind: "pypi", Target: "sdist", ArtifactName: "two-sdist"}}

	ctx := context.Background()
	c1 := f.authorize(t)
	c2, err := f.h.Authorize(ctx, two)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		j publish.Job
		c *publish.Credential
	}{{f.job, c1}, {two, c2}} {
		if _, err := f.h.Attest(ctx, x.j, x.c); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range []struct {
		j publish.Job
		c *publish.Credential
	}{{f.job, c1}, {two, c2}} {
		if err := f.h.Publish(ctx, x.j, x.c); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []struct{ project, version string }{{"demo-pkg", "1.0.0"}, {"demo-two", "2.0.0"}} {
		files := f.set.PyPI.Files(p.project, p.version)
		if len(files) != 2 {
			t.Fatalf("%s: files %v", p.project, files)
		}
		for _, fn := range files {
			if file := f.set.PyPI.File(p.project, fn); file == nil || len(file.Attestations) != 1 {
				t.Errorf("%s arrived without its attestation", fn)
			}
		}
	}
}

// Sigstore failing for a moment is retried; failing for good stops the
// run before anything is uploaded, saying how to publish without it.
func TestSigstoreOutage(t *testing.T) {
	f := setup(t, true)
	c := f.authorize(t)
	f.set.Sigstore.Faults.Add(fault.Rule{Method: "POST", PathPrefix: "/api/v1/log/entries", Kind: fault.Status, Status: 503})
	if _, err := f.h.Attest(context.Background(), f.job, c); err != nil {
		t.Fatalf("one 503 from the log: %v", err)
	}
	f.set.Sigstore.Faults.Add(fault.Rule{Method: "POST", PathPrefix: "/api/v2/signingCert", Kind: fault.Status, Status: 503, Count: 100})
	_, err := f.h.Attest(context.Background(), f.job, c)
	if diag.CodeOf(err) != pypih.CodeAttestationFailed || !strings.Contains(diag.HintOf(err), "attestations = false") {
		t.Fatalf("err = %v", err)
	}
	if n := f.set.PyPI.Files("demo-pkg", "1.0.0"); len(n) != 0 {
		t.Fatalf("uploaded %v", n)
	}
}
