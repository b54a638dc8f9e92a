package publish

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

// CodeLocked: another publish of the same version holds the lock.
const CodeLocked = "PIOT_PUBLISH_LOCKED"

// LockRefPrefix is where release locks live on the remote. Two runs of the
// same plan (two pushes to main in quick succession) race for
// refs/putitoutthere/locks/<tag>; the push that creates it wins, the other
// stops before uploading anything.
const LockRefPrefix = "refs/putitoutthere/locks/"

// LockTTL is how old a lock must be before a later run may take it over: a
// run killed between taking the lock and releasing it (a cancelled job)
// must not block releases forever.
var LockTTL = 30 * time.Minute

// Locker is implemented by Git implementations that can take a remote lock
// (GitCLI). Fakes without it publish unlocked.
type Locker interface {
	// Lock creates ref on remote atomically; it fails with *LockHeldError
	// when another run holds it. release deletes it.
	Lock(ctx context.Context, dir, remote, ref, note string) (release func(context.Context) error, err error)
}

// LockHeldError says who holds a lock.
type LockHeldError struct {
	Ref   string
	Owner string // the holder's note (run id, time)
	Since time.Time
}

func (e *LockHeldError) Error() string {
	return fmt.Sprintf("%s is held by %s (since %s)", e.Ref, e.Owner, e.Since.UTC().Format(time.RFC3339))
}

// lockNote identifies this run in the lock object.
func lockNote(e interface{ Value(string) string }, now time.Time) string {
	run := e.Value("GITHUB_RUN_ID")
	if run == "" {
		run = "local"
	}
	if a := e.Value("GITHUB_RUN_ATTEMPT"); a != "" {
		run += "/" + a
	}
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	host, _ := os.Hostname()
	return fmt.Sprintf("run %s\ntime %d\nnonce %s\nhost %s\npid %d\n", run, now.Unix(), hex.EncodeToString(nonce), strings.ReplaceAll(host, " ", "_"), os.Getpid())
}

// lockHolder reads the host and process id a lock note names (0 when the
// note predates them).
func lockHolder(body string) (host string, pid int) {
	for _, l := range strings.Split(body, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(l), " ")
		switch k {
		case "host":
			host = v
		case "pid":
			pid, _ = strconv.Atoi(v)
		}
	}
	return host, pid
}

// processAlive reports whether pid runs on this machine. Where that cannot
// be told cheaply (Windows) it says true, and only LockTTL frees the lock.
func processAlive(pid int) bool {
	if runtime.GOOS == "windows" {
		return true
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, os.ErrPermission)
}

func parseLockNote(body string) (runID string, since time.Time) {
	for _, l := range strings.Split(body, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(l), " ")
		switch k {
		case "run":
			runID = v
		case "time":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				since = time.Unix(n, 0)
			}
		}
	}
	return runID, since
}

// Lock implements Locker with a unique annotated tag object pushed to ref
// with --force-with-lease=ref: (create only). A stale lock (older than
// LockTTL, or left by an earlier attempt of this same workflow run) is taken
// over with a lease on its exact value, so two runs cannot both take it.
func (g *GitCLI) Lock(ctx context.Context, dir, remote, ref, note string) (func(context.Context) error, error) {
	head, err := g.HeadCommit(ctx, dir)
	if err != nil {
		return nil, err
	}
	obj, err := g.mktag(ctx, dir, head, note)
	if err != nil {
		return nil, fmt.Errorf("creating the lock object: %w", err)
	}
	release := func(ctx context.Context) error {
		_, err := g.git(ctx, dir, "push", "--porcelain", "--force-with-lease="+ref+":"+obj, remote, ":"+ref)
		return err
	}
	_, err = g.git(ctx, dir, "push", "--porcelain", "--force-with-lease="+ref+":", remote, obj+":"+ref)
	if err == nil {
		return release, nil
	}
	// Who holds it?
	held, herr := g.remoteLock(ctx, dir, remote, ref)
	if herr != nil || held == nil {
		return nil, err // not a lease failure we can explain: report git's own words
	}
	if !lockStale(held.note, note) {
		return nil, &LockHeldError{Ref: ref, Owner: "run " + held.run, Since: held.since}
	}
	if _, err := g.git(ctx, dir, "push", "--porcelain", "--force-with-lease="+ref+":"+held.obj, remote, obj+":"+ref); err != nil {
		return nil, &LockHeldError{Ref: ref, Owner: "another run (it took over a stale lock first)", Since: time.Now()}
	}
	return release, nil
}

// lockStale: a lock may be taken over when it is older than LockTTL, when
// its holder was a process of this machine that no longer runs (a run
// killed here, re-run here), or when an earlier attempt of this same
// workflow run holds it (GitHub runs attempts one after another). A lock of
// this run's own attempt held by a live process, or by another machine, is
// another job running now: held, so this run does not upload beside it and
// then report the other's upload as its own.
func lockStale(heldNote, note string) bool {
	heldRun, since := parseLockNote(heldNote)
	myRun, _ := parseLockNote(note)
	if time.Since(since) > LockTTL {
		return true
	}
	hHost, hPid := lockHolder(heldNote)
	myHost, _ := lockHolder(note)
	if hPid != 0 && hHost == myHost && hPid != os.Getpid() && !processAlive(hPid) {
		return true
	}
	runBase := func(s string) string { b, _, _ := strings.Cut(s, "/"); return b }
	if myRun == "local" || runBase(heldRun) != runBase(myRun) {
		return false
	}
	if hPid == 0 {
		return true // a note without a holder: as before, the same run's
	}
	return heldRun != myRun
}

// LocalLocker is implemented by Git implementations that can lock in the
// local repository (GitCLI): with no origin remote, two publishes from the
// same repository must not both upload.
type LocalLocker interface {
	LockLocal(ctx context.Context, dir, ref, note string) (release func(context.Context) error, err error)
}

// LockLocal creates ref in the local repository (shared by its worktrees)
// with `git update-ref REF NEW ""`, which fails when the ref exists: the
// local counterpart of the create-only push.
func (g *GitCLI) LockLocal(ctx context.Context, dir, ref, note string) (func(context.Context) error, error) {
	head, err := g.HeadCommit(ctx, dir)
	if err != nil {
		return nil, err
	}
	obj, err := g.mktag(ctx, dir, head, note)
	if err != nil {
		return nil, fmt.Errorf("creating the lock object: %w", err)
	}
	release := func(ctx context.Context) error {
		_, err := g.git(ctx, dir, "update-ref", "-d", ref, obj)
		return err
	}
	if _, err := g.git(ctx, dir, "update-ref", ref, obj, ""); err == nil {
		return release, nil
	}
	cur, err := g.git(ctx, dir, "rev-parse", "--verify", "--quiet", ref)
	cur = strings.TrimSpace(cur)
	if err != nil || cur == "" {
		return nil, fmt.Errorf("taking the local release lock %s failed", ref)
	}
	body, err := g.git(ctx, dir, "cat-file", "tag", cur)
	if err != nil {
		return nil, err
	}
	_, msg, _ := strings.Cut(body, "\n\n")
	heldRun, since := parseLockNote(msg)
	if !lockStale(msg, note) {
		return nil, &LockHeldError{Ref: ref, Owner: "run " + heldRun + " (in this repository)", Since: since}
	}
	if _, err := g.git(ctx, dir, "update-ref", ref, obj, cur); err != nil {
		return nil, &LockHeldError{Ref: ref, Owner: "another run (it took over a stale lock first)", Since: time.Now()}
	}
	return release, nil
}

// ClearLock deletes ref on remote when it exists, with a lease on the value
// read, so only that lock is removed.
func (g *GitCLI) ClearLock(ctx context.Context, dir, remote, ref string) error {
	held, err := g.remoteLock(ctx, dir, remote, ref)
	if err != nil || held == nil {
		return err
	}
	_, err = g.git(ctx, dir, "push", "--porcelain", "--force-with-lease="+ref+":"+held.obj, remote, ":"+ref)
	return err
}

// LockClearer is implemented by Git implementations that can remove a lock
// left on the remote (GitCLI).
type LockClearer interface {
	ClearLock(ctx context.Context, dir, remote, ref string) error
	ListLocks(ctx context.Context, dir, remote string) ([]string, error)
}

type remoteLockInfo struct {
	note  string
	obj   string
	run   string
	since time.Time
}

func (g *GitCLI) remoteLock(ctx context.Context, dir, remote, ref string) (*remoteLockInfo, error) {
	out, err := g.git(ctx, dir, "ls-remote", remote, ref)
	if err != nil {
		return nil, err
	}
	obj, _, _ := strings.Cut(strings.TrimSpace(out), "\t")
	if obj == "" {
		return nil, nil
	}
	local := "refs/putitoutthere/seen-locks/" + strings.TrimPrefix(ref, LockRefPrefix)
	if _, err := g.git(ctx, dir, "fetch", "--no-tags", "--quiet", remote, "+"+ref+":"+local); err != nil {
		return nil, err
	}
	body, err := g.git(ctx, dir, "cat-file", "tag", obj)
	if err != nil {
		return nil, err
	}
	_, msg, _ := strings.Cut(body, "\n\n")
	runID, since := parseLockNote(msg)
	_, _ = g.git(ctx, dir, "update-ref", "-d", local)
	return &remoteLockInfo{obj: obj, run: runID, since: since, note: msg}, nil
}

// mktag writes an annotated tag object for commit with note as its message.
func (g *GitCLI) mktag(ctx context.Context, dir, commit, note string) (string, error) {
	ident := BotName + " <" + BotEmail + ">"
	if out, err := g.git(ctx, dir, "var", "GIT_COMMITTER_IDENT"); err == nil {
		// "Name <email> 1700000000 +0000": keep name and email.
		if i := strings.LastIndex(strings.TrimSpace(out), ">"); i > 0 {
			ident = strings.TrimSpace(out)[:i+1]
		}
	}
	body := fmt.Sprintf("object %s\ntype commit\ntag putitoutthere-lock\ntagger %s %d +0000\n\n%s", commit, ident, time.Now().Unix(), note)
	res, err := g.Runner.Run(ctx, run.Cmd{Dir: dir, Name: "git", Args: []string{"mktag"}, Stdin: strings.NewReader(body)})
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(res.Stdout), nil
}

// lockAll takes the lock for every package this run will upload. On any
// failure it releases what it took and says who holds the lock.
func (r *flow) lockAll(ctx context.Context, published map[string]bool) error {
	l, ok := r.o.Git.(Locker)
	if !ok {
		return nil
	}
	lock := func(ctx context.Context, ref, note string) (func(context.Context) error, error) {
		return l.Lock(ctx, r.o.Root, "origin", ref, note)
	}
	if has, err := r.o.Git.HasRemote(ctx, r.o.Root, "origin"); err != nil || !has {
		// No remote: two publishes from this repository still race for
		// the registries; lock in the repository itself.
		ll, ok := r.o.Git.(LocalLocker)
		if !ok {
			return nil
		}
		lock = func(ctx context.Context, ref, note string) (func(context.Context) error, error) {
			return ll.LockLocal(ctx, r.o.Root, ref, note)
		}
	}
	note := lockNote(r.o.Env, time.Now())
	for _, j := range r.jobs {
		if published[j.Package.Name] {
			continue
		}
		ref := LockRefPrefix + j.Release.Tag
		release, err := lock(ctx, ref, note)
		if err != nil {
			r.unlockAll(context.WithoutCancel(ctx))
			var held *LockHeldError
			if errors.As(err, &held) {
				return diag.New(CodeLocked, "another publish of %s %s is in progress (%s); nothing was published by this run", j.Package.Name, j.Version(), held.Error()).
					WithHint("let that run finish: it publishes and tags this version. If it died, re-run after %s, or delete the lock: git push origin :%s", LockTTL, ref)
			}
			r.warn("could not take the release lock %s on origin (%v); publishing without it", ref, err)
			return nil
		}
		r.locks = append(r.locks, release)
	}
	return nil
}

// clearStaleLocks: after a successful run, a release lock on origin whose
// version is now released (its tag is on origin) guards nothing: a killed
// earlier run left it, and the re-run skipped that package and never took
// it. Such locks are removed, each with a lease on the value read.
func (r *flow) clearStaleLocks(ctx context.Context) error {
	if r.o.DryRun {
		return nil
	}
	c, ok := r.o.Git.(LockClearer)
	if !ok {
		return nil
	}
	if has, err := r.o.Git.HasRemote(ctx, r.o.Root, "origin"); err != nil || !has {
		return nil
	}
	r.unlockAll(ctx) // this run's own locks first, by their lease
	refs, err := c.ListLocks(ctx, r.o.Root, "origin")
	if err != nil {
		r.warn("could not list the release locks on origin: %v", err)
		return nil
	}
	rt, _ := r.o.Git.(RemoteTagger)
	for _, ref := range refs {
		tag := strings.TrimPrefix(ref, LockRefPrefix)
		if rt == nil {
			continue
		}
		if _, ok, err := rt.RemoteTag(ctx, r.o.Root, "origin", tag); err != nil || !ok {
			continue // not released yet: a live run may hold it
		}
		if err := c.ClearLock(ctx, r.o.Root, "origin", ref); err != nil {
			r.warn("could not remove the stale release lock %s on origin: %v", ref, err)
		}
	}
	return nil
}

// ListLocks lists the release-lock refs on remote.
func (g *GitCLI) ListLocks(ctx context.Context, dir, remote string) ([]string, error) {
	out, err := g.git(ctx, dir, "ls-remote", remote, LockRefPrefix+"*")
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if _, ref, ok := strings.Cut(l, "\t"); ok && strings.HasPrefix(ref, LockRefPrefix) {
			refs = append(refs, ref)
		}
	}
	return refs, nil
}

func (r *flow) unlockAll(ctx context.Context) {
	for _, release := range r.locks {
		if err := release(ctx); err != nil {
			r.warn("could not release a release lock on origin: %v", err)
		}
	}
	r.locks = nil
}

// RemoteTagger is implemented by Git implementations that can read a tag on
// a remote (GitCLI).
type RemoteTagger interface {
	// RemoteTag returns the commit tag names on remote.
	RemoteTag(ctx context.Context, dir, remote, tag string) (commit string, ok bool, err error)
}

// RemoteTag implements RemoteTagger with `git ls-remote`, peeling annotated tags.
func (g *GitCLI) RemoteTag(ctx context.Context, dir, remote, tag string) (string, bool, error) {
	ref := "refs/tags/" + tag
	out, err := g.git(ctx, dir, "ls-remote", remote, ref, ref+"^{}")
	if err != nil {
		return "", false, err
	}
	commit := ""
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		obj, name, ok := strings.Cut(l, "\t")
		if !ok {
			continue
		}
		switch name {
		case ref + "^{}":
			commit = obj // the peeled commit wins
		case ref:
			if commit == "" {
				commit = obj
			}
		}
	}
	return commit, commit != "", nil
}
