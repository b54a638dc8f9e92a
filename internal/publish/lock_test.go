package publish

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

func lockRepo(t *testing.T) (clone1, clone2 string) {
	t.Helper()
	base := t.TempDir()
	g := func(dir string, args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@example.com", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	g(base, "init", "-q", "--bare", "origin.git")
	g(base, "init", "-q", "-b", "main", "w")
	w := filepath.Join(base, "w")
	g(w, "commit", "-q", "--allow-empty", "-m", "x")
	g(w, "remote", "add", "origin", "../origin.git")
	g(w, "push", "-q", "origin", "main")
	g(base, "clone", "-q", "-b", "main", "origin.git", "c2")
	return w, filepath.Join(base, "c2")
}

func TestLockIsExclusiveAndReleased(t *testing.T) {
	a, b := lockRepo(t)
	ctx := context.Background()
	ga := &GitCLI{Runner: run.Exec{Base: env.FromOS()}, Env: env.Env{}}
	gb := &GitCLI{Runner: run.Exec{Base: env.FromOS()}, Env: env.Env{}}
	ref := LockRefPrefix + "core-v1.0.0"
	noteA := lockNote(env.Env{"GITHUB_RUN_ID": "100"}, time.Now())
	noteB := lockNote(env.Env{"GITHUB_RUN_ID": "200"}, time.Now())

	releaseA, err := ga.Lock(ctx, a, "origin", ref, noteA)
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	_, err = gb.Lock(ctx, b, "origin", ref, noteB)
	var held *LockHeldError
	if !errors.As(err, &held) || !strings.Contains(held.Owner, "run 100") {
		t.Fatalf("second run must see the lock held by run 100, got %v", err)
	}
	// The same run's own re-attempt (run 100, attempt 2) takes over at once.
	releaseA2, err := gb.Lock(ctx, b, "origin", ref, lockNote(env.Env{"GITHUB_RUN_ID": "100", "GITHUB_RUN_ATTEMPT": "2"}, time.Now()))
	if err != nil {
		t.Fatalf("a re-attempt of the same run must take over its own lock: %v", err)
	}
	if err := releaseA(ctx); err == nil {
		t.Fatal("a lock taken over must not be released by its old holder")
	}
	if err := releaseA2(ctx); err != nil {
		t.Fatalf("release: %v", err)
	}
	// Released: another run takes it.
	releaseB, err := gb.Lock(ctx, b, "origin", ref, noteB)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	// A stale lock (older than LockTTL) is taken over.
	old := LockTTL
	LockTTL = -time.Second
	defer func() { LockTTL = old }()
	if _, err := ga.Lock(ctx, a, "origin", ref, lockNote(env.Env{"GITHUB_RUN_ID": "300"}, time.Now())); err != nil {
		t.Fatalf("stale lock must be taken over: %v", err)
	}
	_ = releaseB
}

func TestLockNoteRoundTrip(t *testing.T) {
	n := lockNote(env.Env{"GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "3"}, time.Unix(1700000000, 0))
	run, since := parseLockNote(n)
	if run != "42/3" || since.Unix() != 1700000000 {
		t.Fatalf("got %q %v from %q", run, since, n)
	}
}

// A tag publish created but could not push is pushed by the next run in the
// same checkout, although the plan is empty there.
func TestRepairUnpushedTag(t *testing.T) {
	w, _ := lockRepo(t)
	ctx := context.Background()
	g := &GitCLI{Runner: run.Exec{Base: env.FromOS()}, Env: env.Env{}}
	os.WriteFile(filepath.Join(w, "putitoutthere.toml"), []byte("x"), 0o644)
	head, _ := g.HeadCommit(ctx, w)
	if err := g.CreateAnnotatedTag(ctx, w, "core-v1.0.0", "core 1.0.0", head); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := g.RemoteTag(ctx, w, "origin", "core-v1.0.0"); found {
		t.Fatal("setup: the tag must not be on origin yet")
	}
	cfg := &config.Config{Packages: []config.Package{{Name: "core", Kind: "crates", TagFormat: config.DefaultTagFormat}}}
	_, err := Run(ctx, Options{Root: w, Config: cfg, Env: env.Env{}, Git: g,
		Plan:   func(context.Context, string, *config.Config) (*plan.Plan, error) { return &plan.Plan{}, nil },
		Tagged: TaggedFromGit,
	})
	if err != nil {
		t.Fatal(err)
	}
	commit, found, err := g.RemoteTag(ctx, w, "origin", "core-v1.0.0")
	if err != nil || !found || commit != head {
		t.Fatalf("tag on origin: %q %v %v", commit, found, err)
	}
}
