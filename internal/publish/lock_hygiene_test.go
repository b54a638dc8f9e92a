package publish

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

// With no origin remote, the lock lives in the repository: a second publish
// from it finds the lock held; released, it can be taken; a stale one is
// taken over.
func TestLocalLockWithoutOrigin(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"-c", "user.name=a", "-c", "user.email=a@example.com", "commit", "-q", "--allow-empty", "-m", "x"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
	}
	ctx := context.Background()
	g := &GitCLI{Runner: run.Exec{Base: env.FromOS()}, Env: env.Env{}}
	ref := LockRefPrefix + "core-v1.0.0"
	release, err := g.LockLocal(ctx, dir, ref, lockNote(env.Env{}, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.LockLocal(ctx, dir, ref, lockNote(env.Env{}, time.Now()))
	var held *LockHeldError
	if !errors.As(err, &held) {
		t.Fatalf("a second local publish took the lock: %v", err)
	}
	if err := release(ctx); err != nil {
		t.Fatal(err)
	}
	r2, err := g.LockLocal(ctx, dir, ref, lockNote(env.Env{}, time.Now()))
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	_ = r2
	old := LockTTL
	LockTTL = -time.Second
	defer func() { LockTTL = old }()
	if _, err := g.LockLocal(ctx, dir, ref, lockNote(env.Env{}, time.Now())); err != nil {
		t.Fatalf("a stale local lock must be taken over: %v", err)
	}
}

// A lock left on origin by a killed run is removed by ClearLock (what a
// successful re-run does for every version it finished).
func TestClearLockRemovesLeftover(t *testing.T) {
	a, b := lockRepo(t)
	ctx := context.Background()
	g := &GitCLI{Runner: run.Exec{Base: env.FromOS()}, Env: env.Env{}}
	ref := LockRefPrefix + "core-v1.0.0"
	if _, err := g.Lock(ctx, a, "origin", ref, lockNote(env.Env{"GITHUB_RUN_ID": "1"}, time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := g.ClearLock(ctx, b, "origin", ref); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("git", "-C", b, "ls-remote", "origin", "refs/putitoutthere/*").CombinedOutput()
	if strings.Contains(string(out), "locks/") {
		t.Fatalf("lock still on origin: %s", out)
	}
	if err := g.ClearLock(ctx, b, "origin", ref); err != nil {
		t.Fatalf("clearing an absent lock: %v", err)
	}
}
