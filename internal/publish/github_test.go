package publish

import (
	"net/http"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	ghemu "github.com/putitoutthere/putitoutthere/internal/emulator/github"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/registry/github"
)

func TestGitHubReleasesIdempotent(t *testing.T) {
	s, err := ghemu.Start(ghemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.AddRepo("o/r")
	tok := s.IssueInstallationToken("o/r")
	c := github.New(env.Env(s.Env()))
	g := &GitHubReleases{Client: c, Token: tok, Owner: "o", Repo: "r"}
	url, err := g.EnsureRelease(t.Context(), "core-v1.0.0", "core 1.0.0", "- feat: x\n", "abc")
	if err != nil || url == "" {
		t.Fatalf("url %q err %v", url, err)
	}
	again, err := g.EnsureRelease(t.Context(), "core-v1.0.0", "core 1.0.0", "other", "abc")
	if err != nil || again != url {
		t.Errorf("second call: %q %v", again, err)
	}
	rels := s.Releases("o/r")
	if len(rels) != 1 || rels[0].Name != "core 1.0.0" || rels[0].Body != "- feat: x\n" {
		t.Errorf("releases = %+v", rels)
	}
	// A refusal is an error naming the tag.
	s.Faults.Add(fault.Rule{Method: http.MethodPost, PathPrefix: "/repos/o/r/releases", Kind: fault.Status, Status: 403, Body: `{"message":"Resource not accessible by integration"}`})
	if _, err := g.EnsureRelease(t.Context(), "core-v1.0.1", "core 1.0.1", "", "abc"); err == nil {
		t.Error("403 not reported")
	}
}
