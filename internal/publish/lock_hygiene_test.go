package publish

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
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

// Two jobs of the same workflow run attempt (same GITHUB_RUN_ID) running at
// once: the second finds the lock held, so it cannot upload beside the first
// and report the first's upload as its own. The same run re-run after a
// kill on this machine (the holder's process is gone) takes it over.
func TestSameRunLockHeldWhileItsHolderLives(t *testing.T) {
	e := env.Env{"GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "1"}
	mine := lockNote(e, time.Now())
	host, _ := lockHolder(mine)
	held := func(pid int, h string) string {
		return strings.Replace(strings.Replace(mine, "pid "+strconv.Itoa(os.Getpid()), "pid "+strconv.Itoa(pid), 1), "host "+host, "host "+h, 1)
	}
	dead := exec.Command("true")
	dead.Run()
	if lockStale(held(os.Getppid(), host), mine) {
		t.Error("a live process of the same run attempt lost its lock")
	}
	if lockStale(held(dead.Process.Pid, "another-machine"), mine) {
		t.Error("a job of the same run attempt on another machine lost its lock")
	}
	if !lockStale(held(dead.Process.Pid, host), mine) {
		t.Error("the lock of a killed process of this machine was not taken over")
	}
	next := lockNote(env.Env{"GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "2"}, time.Now())
	if !lockStale(held(os.Getppid(), "another-machine"), next) {
		t.Error("the next attempt of the run must take over the earlier attempt's lock")
	}
}
