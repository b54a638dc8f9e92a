package crates

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	emucrates "github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/registry/cratesio"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

// The exchange lands but its answer is lost; the HTTP retry re-sends the same
// ID token, which crates.io refuses as reused. Authorize settles it with one
// more exchange on a fresh ID token.
func TestExchangeAnswerLostIsSettled(t *testing.T) {
	is, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	srv, err := emucrates.Start(emucrates.Options{Verifier: is})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	id := is.Identity()
	owner, repo, _ := strings.Cut(id.Repository, "/")
	srv.SetGitHubOwnerID(owner, 65)
	srv.CreateCrate("core", owner)
	srv.AddGitHubConfig("core", emucrates.GitHubConfig{Owner: owner, Repo: repo, OwnerID: 65, Workflow: id.WorkflowFile})

	e := env.Env(is.Env())
	e["PUTITOUTTHERE_CRATES_IO_URL"] = srv.URL()
	hc := httpx.New()
	hc.Policy = httpx.Policy{Attempts: 3, BaseDelay: time.Millisecond}
	hc.Sleep = func(context.Context, time.Duration) error { return nil }
	h := &Handler{Client: cratesio.New(e, hc), Runner: &run.Fake{}, HTTP: hc,
		IDToken: func(ctx context.Context, aud string) (string, error) { return auth.FetchIDToken(ctx, nil, e, aud) }}

	srv.Faults.Add(fault.Rule{Method: "POST", PathPrefix: "/api/v1/trusted_publishing/tokens", Kind: fault.LandThenDrop})
	c, err := h.Authorize(t.Context(), job(e))
	if err != nil {
		t.Fatalf("a lost exchange answer must be settled by a fresh exchange: %v", err)
	}
	if !strings.HasPrefix(c.Token, "cio_tp_") {
		t.Fatalf("token = %q", c.Token)
	}
	if n := len(is.Minted()); n != 2 {
		t.Fatalf("ID tokens minted = %d, want 2 (the first was used by the lost exchange)", n)
	}
}
