package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/plan"
)

// testRepo is a throwaway repository driven by the real git binary.
type testRepo struct {
	t   *testing.T
	dir string
}

// gitTestEnv isolates the child git from the developer's config.
func gitTestEnv(home string) []string {
	return append(os.Environ(),
		"HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+filepath.Join(home, ".gitconfig"),
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
}

func newRepo(t *testing.T) *testRepo {
	t.Helper()
	r := &testRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = gitTestEnv(r.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *testRepo) write(path, content string) {
	r.t.Helper()
	full := filepath.Join(r.dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// commit writes files (path -> content) and commits them with msg.
func (r *testRepo) commit(msg string, files ...string) string {
	r.t.Helper()
	for i := 0; i+1 < len(files); i += 2 {
		r.write(files[i], files[i+1])
	}
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func pkgs(ps ...config.Package) *config.Config {
	return &config.Config{File: "putitoutthere.toml", Version: 1, Packages: ps}
}

func pk(name, kind string, deps ...string) config.Package {
	return config.Package{Name: name, Kind: kind, Path: name, Paths: []string{name + "/**"}, DependsOn: deps,
		FirstVersion: "0.1.0", TagFormat: "{name}-v{version}"}
}

func mustPlan(t *testing.T, dir string, cfg *config.Config) string {
	t.Helper()
	p, err := PlanFor(context.Background(), dir, cfg)
	if err != nil {
		t.Fatalf("PlanFor: %v", err)
	}
	var parts []string
	for _, r := range p.Releases {
		s := r.Name + "@" + r.Version
		if r.Bump != "" {
			s += "(" + r.Bump + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestPlanFirstRelease(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("init\n\nrelease: minro", "a/x", "1") // old history never blocks adoption
	r.commit("more", "b/x", "1")
	if got := mustPlan(t, r.dir, pkgs(pk("a", "crates"), pk("b", "npm"))); got != "a@0.1.0 b@0.1.0" {
		t.Fatalf("plan = %q", got)
	}
}

func TestPlanTagsSemverOrderAndReachability(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("init", "a/x", "1")
	r.git("tag", "a-v1.10.0")
	r.commit("c2", "a/x", "2")
	r.git("tag", "-a", "a-v1.9.0", "-m", "older version tagged later") // out of date order
	r.git("tag", "a-v1.2")                                             // not semver x.y.z: ignored
	// A tag on an unmerged branch is not the last release, but it is a
	// release: the plan never proposes a version below it (SPEC §3
	// "Adoption").
	r.git("checkout", "-q", "-b", "side")
	r.commit("side", "a/side", "1")
	r.git("tag", "a-v5.0.0")
	r.git("checkout", "-q", "main")
	r.commit("fix", "a/y", "1")
	cfg := pkgs(pk("a", "crates"))
	if got := mustPlan(t, r.dir, cfg); got != "a@5.0.1(patch)" {
		t.Fatalf("plan = %q", got)
	}
	last, err := LastTags(context.Background(), r.dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if last["a"].Tag != "a-v1.10.0" || last["a"].Version != "1.10.0" {
		t.Fatalf("LastTags = %+v", last)
	}
}

func TestPlanTrailersOnMerges(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("init", "a/x", "1", "b/x", "1")
	r.git("tag", "a-v1.0.0")
	r.git("tag", "b-v1.0.0")
	r.git("checkout", "-q", "-b", "feat")
	r.commit("feat: new api\n\nrelease: minor", "a/api", "1")
	r.git("checkout", "-q", "main")
	r.commit("unrelated", "docs/x", "1")
	r.git("merge", "-q", "--no-ff", "feat", "-m", "Merge pull request #1 from feat")
	r.commit("docs", "docs/y", "1")
	if got := mustPlan(t, r.dir, pkgs(pk("a", "crates"), pk("b", "pypi"))); got != "a@1.1.0(minor)" {
		t.Fatalf("plan = %q", got)
	}
	// A merge's own trailer wins over its tip's.
	r.git("checkout", "-q", "-b", "feat2")
	r.commit("feat2\n\nrelease: minor", "b/y", "1")
	r.git("checkout", "-q", "main")
	r.git("merge", "-q", "--no-ff", "feat2", "-m", "Merge feat2\n\nrelease: major")
	if got := mustPlan(t, r.dir, pkgs(pk("a", "crates"), pk("b", "pypi"))); got != "a@1.1.0(minor) b@2.0.0(major)" {
		t.Fatalf("plan = %q", got)
	}
}

func TestPlanScopedTrailerAndSkips(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("init", "a/x", "1", "b/x", "1", "c/x", "1")
	for _, n := range []string{"a", "b", "c"} {
		r.git("tag", n+"-v1.0.0")
	}
	cfg := pkgs(pk("a", "crates"), pk("b", "npm"), pk("c", "pypi"))
	r.commit("bump b\n\nrelease: minor [b]", "docs/x", "1")
	if got := mustPlan(t, r.dir, cfg); got != "b@1.1.0(minor)" {
		t.Fatalf("force-include: plan = %q", got)
	}
	r.commit("touch all", "a/y", "1", "c/y", "1")
	r.commit("hold c\n\nrelease: skip [c]")
	if got := mustPlan(t, r.dir, cfg); got != "a@1.0.1(patch) b@1.1.0(minor)" {
		t.Fatalf("skip [c]: plan = %q", got)
	}
	r.commit("hold all\n\nRelease: SKIP")
	if got := mustPlan(t, r.dir, cfg); got != "" {
		t.Fatalf("skip: plan = %q", got)
	}
	r.commit("go")
	if got := mustPlan(t, r.dir, cfg); got != "a@1.0.1(patch) b@1.1.0(minor) c@1.0.1(patch)" {
		t.Fatalf("older skip: plan = %q", got)
	}
}

func TestPlanTransitiveAcrossKindsAndTagFormat(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("init", "core/x", "1", "py/x", "1", "js/x", "1")
	r.git("tag", "core-v0.3.0")
	r.git("tag", "py-v1.0.0")
	r.git("tag", "v2.0.0")
	js := pk("js", "npm", "py")
	js.TagFormat = "v{version}"
	cfg := pkgs(pk("core", "crates"), pk("py", "pypi", "core"), js)
	r.commit("fix core", "core/src.rs", "1")
	if got := mustPlan(t, r.dir, cfg); got != "core@0.3.1(patch) py@1.0.1(patch) js@2.0.1(patch)" {
		t.Fatalf("plan = %q", got)
	}
	// A partial publish: core released alone; py and js still see the change
	// in their own windows.
	r.git("tag", "core-v0.3.1")
	if got := mustPlan(t, r.dir, cfg); got != "py@1.0.1(patch) js@2.0.1(patch)" {
		t.Fatalf("after partial: plan = %q", got)
	}
}

func TestPlanRenameOutOfPackage(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("init", "a/moved.txt", "content that is long enough to be detected as a rename\n", "b/x", "1")
	r.git("tag", "a-v1.0.0")
	r.git("tag", "b-v1.0.0")
	if err := os.MkdirAll(filepath.Join(r.dir, "shared"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.git("mv", "a/moved.txt", "shared/moved.txt")
	r.commit("move a file out of a")
	if got := mustPlan(t, r.dir, pkgs(pk("a", "crates"), pk("b", "crates"))); got != "a@1.0.1(patch)" {
		t.Fatalf("plan = %q", got)
	}
}

func TestPlanTagOffFirstParentLine(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("init", "a/x", "1")
	r.commit("old\n\nrelease: major", "a/x", "2") // before the tag's branch point? no: reachable from tag
	r.git("checkout", "-q", "-b", "rel")
	r.commit("prep", "a/x", "3")
	r.git("tag", "a-v1.0.0")
	r.git("checkout", "-q", "main")
	r.commit("main work\n\nrelease: minor", "a/y", "1")
	r.git("merge", "-q", "--no-ff", "rel", "-m", "merge rel")
	r.commit("fix", "a/z", "1")
	// Window: fix, merge rel, main work (the merge's tip "prep" is the tag).
	if got := mustPlan(t, r.dir, pkgs(pk("a", "crates"))); got != "a@1.1.0(minor)" {
		t.Fatalf("plan = %q", got)
	}
}

// TestPlanTagOffFirstParentLineEarlyCheck is the same with the log told to
// ask git for unmet tags' windows after two commits instead of reading to
// the root. Not parallel: it changes a package variable.
func TestPlanTagOffFirstParentLineEarlyCheck(t *testing.T) {
	old := offLineCheckAt
	offLineCheckAt = 2
	t.Cleanup(func() { offLineCheckAt = old })
	r := newRepo(t)
	r.commit("init", "a/x", "1")
	r.commit("old\n\nrelease: major", "a/x", "2")
	r.git("checkout", "-q", "-b", "rel")
	r.commit("prep", "a/x", "3")
	r.git("tag", "a-v1.0.0")
	r.git("checkout", "-q", "main")
	r.commit("main work\n\nrelease: minor", "a/y", "1")
	r.git("merge", "-q", "--no-ff", "rel", "-m", "merge rel")
	r.commit("fix", "a/z", "1")
	r.commit("more", "a/w", "1")
	f, err := ReadFacts(context.Background(), r.dir, pkgs(pk("a", "crates")))
	if err != nil {
		t.Fatal(err)
	}
	if w := f.Windows[f.LastTags["a"].Commit]; w != 4 || len(f.Commits) != 4 {
		t.Fatalf("window %d, %d commits read; want 4, 4", w, len(f.Commits))
	}
	if got := mustPlan(t, r.dir, pkgs(pk("a", "crates"))); got != "a@1.1.0(minor)" {
		t.Fatalf("plan = %q", got)
	}
}

func TestPlanShallowCloneRefused(t *testing.T) {
	t.Parallel()
	src := newRepo(t)
	src.commit("init", "a/x", "1")
	src.git("tag", "a-v1.0.0")
	src.commit("two", "a/x", "2")
	dst := filepath.Join(t.TempDir(), "clone")
	cmd := exec.Command("git", "clone", "-q", "--depth", "1", "file://"+src.dir, dst)
	cmd.Env = gitTestEnv(src.dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	_, err := PlanFor(context.Background(), dst, pkgs(pk("a", "crates")))
	if diag.CodeOf(err) != CodeShallowClone {
		t.Fatalf("err = %v (code %s), want %s", err, diag.CodeOf(err), CodeShallowClone)
	}
	if !strings.Contains(diag.HintOf(err), "fetch-depth: 0") {
		t.Errorf("hint = %q", diag.HintOf(err))
	}
	if _, err := LastTags(context.Background(), dst, pkgs(pk("a", "crates"))); diag.CodeOf(err) != CodeShallowClone {
		t.Errorf("LastTags err = %v", err)
	}
}

func TestPlanMalformedTrailer(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("init", "a/x", "1")
	r.git("tag", "a-v1.0.0")
	sha := r.commit("feat: thing\n\nrelease: minor [a b]", "a/y", "1")
	r.commit("fix", "a/z", "1")
	_, err := PlanFor(context.Background(), r.dir, pkgs(pk("a", "crates")))
	if diag.CodeOf(err) != plan.CodeTrailerInvalid {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{sha[:7], "feat: thing", "line 3", "release: minor [a b]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestPlanNonUTF8Message(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("init", "a/x", "1")
	r.git("tag", "a-v1.0.0")
	r.write("a/y", "1")
	r.git("add", "-A")
	msgFile := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(msgFile, []byte("caf\xe9 \xff\xfe latin-1\n\nrelease: minor\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.git("-c", "i18n.commitEncoding=latin1", "commit", "-q", "-F", msgFile)
	r.write("a/\xe9t\xe9.txt", "odd name")
	r.git("add", "-A")
	r.git("commit", "-q", "-F", msgFile)
	if got := mustPlan(t, r.dir, pkgs(pk("a", "crates"))); got != "a@1.1.0(minor)" {
		t.Fatalf("plan = %q", got)
	}
}

func TestPlanErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, err := PlanFor(ctx, t.TempDir(), pkgs(pk("a", "crates")))
	if diag.CodeOf(err) != CodeNotARepo {
		t.Errorf("not a repo: %v (%s)", err, diag.CodeOf(err))
	}
	r := newRepo(t)
	_, err = PlanFor(ctx, r.dir, pkgs(pk("a", "crates")))
	if diag.CodeOf(err) != CodeNoCommits {
		t.Errorf("no commits: %v (%s)", err, diag.CodeOf(err))
	}
	r.commit("init", "a/x", "1")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := PlanFor(cctx, r.dir, pkgs(pk("a", "crates"))); err == nil {
		t.Error("cancelled context: no error")
	}
	var ge *GitError
	_, err = git(ctx, r.dir, "rev-parse", "--verify", "nope")
	if !errors.As(err, &ge) || ge.ExitCode == 0 || ge.Args[0] != "rev-parse" {
		t.Errorf("GitError = %#v", err)
	}
}

func TestRepoOps(t *testing.T) {
	ctx := context.Background()
	remote := newRepo(t)
	remote.git("config", "receive.denyCurrentBranch", "ignore")
	r := newRepo(t)
	first := r.commit("first", "a/x", "1")
	r.git("tag", "a-v1.0.0")
	r.commit("second subject\n\nbody", "a/x", "2")
	head := r.commit("third", "a/y", "1")
	r.git("remote", "add", "origin", remote.dir)

	if got, err := HeadCommit(ctx, r.dir); err != nil || got != head {
		t.Errorf("HeadCommit = %s, %v", got, err)
	}
	if got, err := OriginURL(ctx, r.dir); err != nil || got != remote.dir {
		t.Errorf("OriginURL = %q, %v", got, err)
	}
	if got, err := OriginURL(ctx, remote.dir); err != nil || got != "" {
		t.Errorf("OriginURL without origin = %q, %v", got, err)
	}
	subs, err := SubjectsBetween(ctx, r.dir, "a-v1.0.0", "HEAD")
	if err != nil || strings.Join(subs, "|") != "third|second subject" {
		t.Errorf("SubjectsBetween = %q, %v", subs, err)
	}
	if subs, _ := SubjectsBetween(ctx, r.dir, "", "HEAD"); len(subs) != 3 {
		t.Errorf("SubjectsBetween all = %q", subs)
	}
	if c, ok, err := TagExists(ctx, r.dir, "a-v1.0.0"); err != nil || !ok || c != first {
		t.Errorf("TagExists = %s %v %v", c, ok, err)
	}
	if _, ok, err := TagExists(ctx, r.dir, "nope"); err != nil || ok {
		t.Errorf("TagExists(nope) = %v %v", ok, err)
	}

	// Dirty: modified, untracked, staged; ignore list.
	if d, err := IsDirty(ctx, r.dir, nil); err != nil || len(d) != 0 {
		t.Errorf("clean IsDirty = %q, %v", d, err)
	}
	r.write("a/x", "changed")
	r.write("new file.txt", "1")
	r.write("a/Cargo.toml", "[package]")
	d, err := IsDirty(ctx, r.dir, []string{"a/Cargo.toml"})
	if err != nil || strings.Join(d, ",") != "a/x,new file.txt" {
		t.Errorf("IsDirty = %q, %v", d, err)
	}
	if d, _ := IsDirty(ctx, r.dir, []string{"**"}); len(d) != 0 {
		t.Errorf("IsDirty(**) = %q", d)
	}
	// A staged rename reports both sides.
	r.git("mv", "a/y", "a/renamed")
	if d, _ := IsDirty(ctx, r.dir, []string{"a/Cargo.toml", "new file.txt", "a/x"}); strings.Join(d, ",") != "a/renamed,a/y" {
		t.Errorf("IsDirty after rename = %q", d)
	}
	r.git("mv", "a/renamed", "a/y")

	// Tag without a committer identity: falls back to the bot.
	t.Setenv("HOME", t.TempDir())
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	cfgFile := filepath.Join(t.TempDir(), "gitconfig")
	if err := os.WriteFile(cfgFile, []byte("[user]\n\tuseConfigOnly = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_CONFIG_GLOBAL", cfgFile)
	for _, v := range []string{"GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "EMAIL"} {
		if old, ok := os.LookupEnv(v); ok {
			os.Unsetenv(v)
			t.Cleanup(func() { os.Setenv(v, old) })
		}
	}
	if err := CreateAnnotatedTag(ctx, r.dir, "a-v1.1.0", "a 1.1.0", head); err != nil {
		t.Fatalf("CreateAnnotatedTag: %v", err)
	}
	if got := r.git("for-each-ref", "--format=%(taggername) %(taggeremail) %(*objectname)", "refs/tags/a-v1.1.0"); got != BotName+" <"+BotEmail+"> "+head {
		t.Errorf("tag = %q", got)
	}
	if err := CreateAnnotatedTag(ctx, r.dir, "a-v1.1.0", "again", head); err == nil {
		t.Error("duplicate tag: no error")
	}

	if _, ok, err := RemoteTagExists(ctx, r.dir, "origin", "a-v1.1.0"); err != nil || ok {
		t.Errorf("RemoteTagExists before push = %v %v", ok, err)
	}
	if err := PushTag(ctx, r.dir, "origin", "a-v1.1.0"); err != nil {
		t.Fatalf("PushTag: %v", err)
	}
	if c, ok, err := RemoteTagExists(ctx, r.dir, "origin", "a-v1.1.0"); err != nil || !ok || c != head {
		t.Errorf("RemoteTagExists = %s %v %v", c, ok, err)
	}
	if err := PushTag(ctx, r.dir, "nowhere", "a-v1.1.0"); err == nil {
		t.Error("push to a missing remote: no error")
	}
	if err := CreateAnnotatedTag(ctx, r.dir, "--delete", "x", head); err == nil || !strings.Contains(err.Error(), "invalid tag name") {
		t.Errorf("option-like tag name: %v", err)
	}
	if err := PushTag(ctx, r.dir, "--mirror", "a-v1.1.0"); err == nil {
		t.Error("option-like remote accepted")
	}
}

var update = flag.Bool("update", false, "rewrite golden files")

// TestPlanGolden pins the whole plan (releases with reasons, and rows) for a
// repository exercising cascade, merged-tip trailers, a scoped trailer and
// every row shape. Commit dates and identities are fixed, so shas are too.
func TestPlanGolden(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("init", "core/x", "1", "py/x", "1", "napi/x", "1", "docs/x", "1")
	for _, tag := range []string{"core-v1.0.0", "py-v0.9.0", "napi-v3.1.4", "docs-v0.1.0"} {
		r.git("tag", "-a", tag, "-m", tag)
	}
	r.git("checkout", "-q", "-b", "feat")
	r.commit("feat: core api\n\nrelease: minor", "core/api.rs", "1")
	r.git("checkout", "-q", "main")
	r.git("merge", "-q", "--no-ff", "feat", "-m", "Merge pull request #1")
	r.commit("docs: bump\n\nrelease: major [docs]")
	r.commit("new package", "fresh/x", "1")

	py := pk("py", "pypi", "core")
	py.Build = "maturin"
	py.Targets = []config.Target{{Triple: "x86_64-unknown-linux-gnu"}, {Triple: "x86_64-pc-windows-msvc"}}
	py.BundleCLI = &config.BundleCLI{Bin: "core", StageTo: "py/bin", CratePath: "core"}
	napi := pk("napi", "npm", "py")
	napi.Build = "napi"
	napi.Targets = []config.Target{{Triple: "aarch64-unknown-linux-gnu"}, {Triple: "aarch64-apple-darwin", Runner: "macos-14"}}
	napi.BuildWorkflow = "napi.yml"
	docs := pk("docs", "pypi")
	docs.Build = "hatch"
	cfg := pkgs(pk("core", "crates"), py, napi, docs, pk("fresh", "npm"))

	p, err := PlanFor(context.Background(), r.dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", t.Name()+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("plan differs from %s:\n%s", path, got)
	}
	// Byte-identical on a second run.
	p2, err := PlanFor(context.Background(), r.dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got2, _ := json.MarshalIndent(p2, "", "  ")
	if !bytes.Equal(got[:len(got)-1], got2) {
		t.Error("second run differs")
	}
}
