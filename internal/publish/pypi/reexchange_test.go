package pypi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	emupypi "github.com/putitoutthere/putitoutthere/internal/emulator/pypi"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	pypireg "github.com/putitoutthere/putitoutthere/internal/registry/pypi"
)

// The mint lands but its answer is lost; the retried request re-sends the
// same ID token, which PyPI refuses (invalid-reuse-token). Authorize settles
// it with one more mint on a fresh ID token.
func TestMintAnswerLostIsSettled(t *testing.T) {
	is, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	srv, err := emupypi.Start(emupypi.Options{Verifier: is})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	id := is.Identity()
	owner, repo, _ := strings.Cut(id.Repository, "/")
	if err := srv.AddTrustedPublisher("demo", emupypi.Publisher{Owner: owner, Repo: repo, OwnerID: id.RepositoryOwnerID, Workflow: id.WorkflowFile}); err != nil {
		t.Fatal(err)
	}
	e := env.Env(is.Env())
	for k, v := range srv.Env() {
		e[k] = v
	}
	hc := httpx.New()
	hc.Policy = httpx.Policy{Attempts: 3, BaseDelay: time.Millisecond}
	hc.Sleep = func(context.Context, time.Duration) error { return nil }
	h := &Handler{Client: pypireg.New(e, hc), BaseURL: srv.URL(), HTTP: hc,
		IDToken: func(ctx context.Context, aud string) (string, error) { return auth.FetchIDToken(ctx, nil, e, aud) }}
	pkg := &config.Package{Name: "demo", Kind: config.KindPyPI, Path: "py"}
	j := publish.Job{Package: pkg, Release: plan.Release{Name: "demo", Version: "1.0.0"}, Auth: auth.Resolve(config.KindPyPI, e), Env: e}

	srv.Faults.Add(fault.Rule{Method: "POST", PathPrefix: "/_/oidc/mint-token", Kind: fault.LandThenDrop})
	c, err := h.Authorize(t.Context(), j)
	if err != nil {
		t.Fatalf("a lost mint answer must be settled by a fresh mint: %v", err)
	}
	if !strings.HasPrefix(c.Token, "pypi-") {
		t.Fatal("want a PyPI token")
	}
}
