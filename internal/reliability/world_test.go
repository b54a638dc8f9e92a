package reliability

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/putitoutthere/putitoutthere/internal/emulator"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/cratefile"
	"github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	ghemu "github.com/putitoutthere/putitoutthere/internal/emulator/github"
	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	pypiemu "github.com/putitoutthere/putitoutthere/internal/emulator/pypi"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/pydist/pydisttest"
)

// bin is the putitoutthere binary built once for the whole test process;
// cargoHome is shared by every real cargo run so the toolchain's caches are
// warm after the first scenario.
var (
	bin       string
	cargoHome string
	shims     string // holds shim-dump/ and shim-npm/
	buildErr  error
)

func TestMain(m *testing.M) {
	if code, ok := runShim(); ok {
		os.Exit(code)
	}
	dir, err := os.MkdirTemp("", "piot-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	bin = filepath.Join(dir, "putitoutthere")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", bin, "github.com/putitoutthere/putitoutthere/cmd/putitoutthere")
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("building putitoutthere: %v\n%s", err, out)
	}
	shims = dir
	if err := installShims(dir); err != nil && buildErr == nil {
		buildErr = err
	}
	cargoHome = filepath.Join(dir, "cargo-home")
	_ = os.MkdirAll(cargoHome, 0o755)
	// Scenarios spend much of their time waiting (Retry-After, hangs bounded by
	// --timeout), so run more of them at once than there are cores.
	flag.Parse()
	if f := flag.Lookup("test.parallel"); f != nil && f.Value.String() == f.DefValue {
		_ = flag.Set("test.parallel", "16")
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// Registry names of the fixture's three packages: a crate, a PyPI project
// depending on it and an npm package depending on that (order matters).
const (
	crateName = "rel-core"
	pyName    = "rel-py"
	npmName   = "rel-js"
	planned   = "0.1.0"
	repoSlug  = "octo-org/octo-repo"
)

const fixtureConfig = `[putitoutthere]
version = 1

[[package]]
name = "core"
kind = "crates"
crate = "rel-core"
path = "core"
paths = ["core/**"]

[[package]]
name = "py"
kind = "pypi"
pypi = "rel-py"
path = "py"
paths = ["py/**"]
depends_on = ["core"]

[[package]]
name = "js"
kind = "npm"
npm = "rel-js"
path = "js"
paths = ["js/**"]
depends_on = ["py"]
`

var wantTags = []string{"core-v" + planned, "js-v" + planned, "py-v" + planned}

// world is one isolated universe: the emulators, a repository with a bare
// origin, the build job's artifacts, and the environment publish runs with.
type world struct {
	t      testing.TB
	dir    string // the repository
	origin string // its bare origin
	home   string
	tmp    string // TMPDIR of the subprocesses
	env    env.Env

	is     *oidc.Issuer
	crates *crates.Server
	pypi   *pypiemu.Server
	npm    *npmemu.Server
	gh     *ghemu.Server
}

func needTools(t testing.TB, tools ...string) {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	for _, tool := range append([]string{"git"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
}

// newWorld builds a world whose registries know the three packages and trust
// octo-org/octo-repo's release.yml (the OIDC issuer's default identity).
// Publishing uses OIDC for every registry; GITHUB_ACTIONS is left unset so
// npm does not ask for Sigstore provenance (there is no Sigstore here).
func newWorld(t testing.TB) *world {
	t.Helper()
	needTools(t)
	w := &world{t: t, dir: t.TempDir(), origin: t.TempDir(), home: t.TempDir(), tmp: t.TempDir()}
	set, err := emulator.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Close)
	w.is, w.crates, w.pypi, w.npm, w.gh = set.OIDC, set.Crates, set.PyPI, set.NPM, set.GitHub
	for _, f := range w.faults() {
		f.Record(true)
	}

	w.crates.CreateCrate(crateName, crates.DefaultUser)
	w.crates.AddVersion(crateName, "0.0.1")
	w.crates.AddGitHubConfig(crateName, crates.GitHubConfig{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "release.yml"})
	if err := w.pypi.AddPendingPublisher(pyName, pypiemu.Publisher{Owner: "octo-org", Repo: "octo-repo", OwnerID: "65", Workflow: "release.yml"}); err != nil {
		t.Fatal(err)
	}
	if err := w.npm.CreatePackageVersion(npmName, "octocat", "0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := w.npm.AddTrustedPublisher(npmName, npmemu.TrustedPublisher{Owner: "octo-org", Repo: "octo-repo", Workflow: "release.yml"}); err != nil {
		t.Fatal(err)
	}
	w.gh.AddRepo(repoSlug)

	e := env.Env{
		"PATH": os.Getenv("PATH"), "HOME": w.home, "TMPDIR": w.tmp, "LANG": "C.UTF-8",
		"CARGO_HOME": cargoHome, "NO_COLOR": "1", "CI": "true",
		"GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME":     "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
		"PUTITOUTTHERE_CRATES_IO_URL": w.crates.URL(), "PUTITOUTTHERE_NPM_REGISTRY": w.npm.URL(),
		"GITHUB_TOKEN": w.gh.IssueInstallationToken(repoSlug),
	}
	if rh := os.Getenv("RUSTUP_HOME"); rh != "" {
		e["RUSTUP_HOME"] = rh
	} else if h, err := os.UserHomeDir(); err == nil {
		e["RUSTUP_HOME"] = filepath.Join(h, ".rustup")
	}
	for _, m := range []map[string]string{w.is.Env(), w.pypi.Env(), w.gh.Env()} {
		for k, v := range m {
			e[k] = v
		}
	}
	delete(e, "GITHUB_ACTIONS")
	w.env = e
	// cargo reads git identity from HOME's gitconfig when the allowlist drops GIT_*.
	writeFile(t, filepath.Join(w.home, ".gitconfig"), "[user]\n\tname = Dev\n\temail = dev@example.com\n")

	w.git(w.origin, "init", "-q", "--bare")
	w.git(w.dir, "init", "-q", "-b", "main")
	writeFile(t, filepath.Join(w.dir, "putitoutthere.toml"), fixtureConfig)
	writeFile(t, filepath.Join(w.dir, "core/Cargo.toml"), "[package]\nname = \"rel-core\"\nversion = \"0.0.0\"\nedition = \"2021\"\ndescription = \"core\"\nlicense = \"MIT\"\n")
	writeFile(t, filepath.Join(w.dir, "core/src/lib.rs"), "pub fn f() -> u32 { 1 }\n")
	writeFile(t, filepath.Join(w.dir, "py/pyproject.toml"), "[project]\nname = \"rel-py\"\nversion = \"0.0.0\"\n")
	writeFile(t, filepath.Join(w.dir, "js/package.json"), "{\n  \"name\": \"rel-js\",\n  \"version\": \"0.0.0\",\n  \"repository\": {\"type\": \"git\", \"url\": \"git+https://github.com/octo-org/octo-repo.git\"}\n}\n")
	writeFile(t, filepath.Join(w.dir, ".gitignore"), "artifacts/\ntarget/\nCargo.lock\n")
	w.git(w.dir, "add", ".")
	w.git(w.dir, "commit", "-q", "-m", "initial")
	w.git(w.dir, "remote", "add", "origin", w.origin)
	w.git(w.dir, "push", "-q", "origin", "main")
	w.artifacts(planned)
	return w
}

func (w *world) faults() []*fault.Injector {
	return []*fault.Injector{&w.crates.Faults, &w.pypi.Faults, &w.npm.Faults, &w.gh.Faults, &w.is.Faults}
}

// clearFaults drops pending faults and lets hung requests finish.
func (w *world) clearFaults() {
	for _, f := range w.faults() {
		f.Clear()
	}
}

func writeFile(t testing.TB, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (w *world) git(dir string, args ...string) string {
	w.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = w.env.List()
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// artifacts writes what the build job would download into artifacts/.
func (w *world) artifacts(version string) {
	a := filepath.Join(w.dir, "artifacts")
	_ = os.RemoveAll(a)
	crate := cratefile.Build(crateName, version, map[string]string{
		"Cargo.toml": cratefile.Manifest(crateName, version, "core", "MIT"),
		"src/lib.rs": "pub fn f() -> u32 { 1 }\n",
	})
	writeFile(w.t, filepath.Join(a, "core-crate", crateName+"-"+version+".crate"), string(crate))
	if err := os.MkdirAll(filepath.Join(a, "py-sdist"), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if _, _, err := pydisttest.WriteBoth(filepath.Join(a, "py-sdist"), pydisttest.Spec{Name: pyName, Version: version}); err != nil {
		w.t.Fatal(err)
	}
	writeFile(w.t, filepath.Join(a, "js-pkg", "package.json"), `{"name":"rel-js","version":"0.0.0","main":"index.js","repository":{"type":"git","url":"git+https://github.com/octo-org/octo-repo.git"}}`+"\n")
	writeFile(w.t, filepath.Join(a, "js-pkg", "index.js"), "module.exports = 1\n")
}

// freshCheckout moves the world to a new clone of origin (all history and
// tags, as `fetch-depth: 0` gives) with the artifacts downloaded again: what
// a re-run of the publish job starts from.
func (w *world) freshCheckout() {
	w.t.Helper()
	dir := w.t.TempDir()
	w.git(dir, "clone", "-q", "-b", "main", w.origin, ".")
	w.dir = dir
	w.artifacts(planned)
}

// proc is a running putitoutthere.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	err            error
}

// start runs putitoutthere in the repository in its own process group, so a
// kill takes its children (cargo, npm, git) with it, as a cancelled CI job does.
func (w *world) start(e env.Env, args ...string) *proc {
	w.t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"--cwd", w.dir}, args...)...)
	p.cmd.Env = e.List()
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	return p
}

func (p *proc) signal(sig syscall.Signal, group bool) {
	if group {
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
		return
	}
	_ = p.cmd.Process.Signal(sig)
}

// wait returns the exit code (-1 when killed by a signal), giving up after d.
func (p *proc) wait(d time.Duration) (int, bool) {
	select {
	case <-p.done:
	case <-time.After(d):
		p.signal(syscall.SIGKILL, true)
		<-p.done
		return -1, false
	}
	return p.cmd.ProcessState.ExitCode(), true
}

// result is one finished run.
type result struct {
	Args           []string
	Code           int
	Stdout, Stderr string
	Doc            *publishDoc
}

type publishDoc struct {
	Outcome  string `json:"outcome"`
	Packages []struct {
		Name, Status, Tag, Code, Error string
	} `json:"packages"`
	Error *struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Hint     string `json:"hint"`
		ExitCode int    `json:"exit_code"`
	} `json:"error"`
}

// run runs putitoutthere to completion (bounded by limit).
func (w *world) run(e env.Env, limit time.Duration, args ...string) result {
	w.t.Helper()
	p := w.start(e, args...)
	code, ok := p.wait(limit)
	r := result{Args: args, Code: code, Stdout: p.stdout.String(), Stderr: p.stderr.String()}
	if !ok {
		w.t.Errorf("putitoutthere %v did not finish within %s\nstdout:\n%s\nstderr:\n%s", args, limit, r.Stdout, r.Stderr)
	}
	if strings.Contains(strings.Join(args, " "), "--json") && strings.TrimSpace(r.Stdout) != "" {
		var d publishDoc
		if err := json.Unmarshal([]byte(r.Stdout), &d); err == nil {
			r.Doc = &d
		}
	}
	return r
}

func (w *world) publish(limit time.Duration, extra ...string) result {
	w.t.Helper()
	return w.run(w.env, limit, append([]string{"publish", "--json"}, extra...)...)
}

// statuses is "name=status ..." of a publish --json document.
func (r result) statuses() string {
	if r.Doc == nil {
		return "(no JSON document)"
	}
	var s []string
	for _, p := range r.Doc.Packages {
		s = append(s, p.Name+"="+p.Status)
	}
	return strings.Join(s, " ")
}

// problems checks the converged end state: every package published exactly
// once at the planned version, no upload attempt for a file the registry
// already had, every tag on origin at the released commit, one GitHub
// Release per tag.
func (w *world) problems(head string) []string {
	var out []string
	// crates.io: the upload handler saw exactly one attempt for the version.
	var crateAttempts []string
	for _, a := range w.crates.Attempts() {
		if a.Name == crateName && a.Version == planned {
			crateAttempts = append(crateAttempts, fmt.Sprintf("%d %s", a.Status, a.Detail))
		}
	}
	if !contains(w.crates.Versions(crateName), planned) {
		out = append(out, "crates.io lacks "+crateName+" "+planned)
	}
	if len(crateAttempts) != 1 {
		out = append(out, fmt.Sprintf("crates.io saw %d upload attempts for %s %s: %v", len(crateAttempts), crateName, planned, crateAttempts))
	}
	files := w.pypi.Files(pyName, planned)
	if len(files) != 2 {
		out = append(out, fmt.Sprintf("PyPI has %d files for %s %s, want 2 (sdist + wheel): %v", len(files), pyName, planned, files))
	}
	for _, f := range files {
		if n := w.pypi.UploadAttempts(f); n != 1 {
			out = append(out, fmt.Sprintf("PyPI saw %d upload attempts for %s", n, f))
		}
	}
	var npmAttempts []string
	for _, a := range w.npm.Attempts() {
		if a.Name == npmName && a.Version == planned {
			npmAttempts = append(npmAttempts, fmt.Sprintf("%d %s", a.Status, a.Error))
		}
	}
	if !contains(w.npm.Versions(npmName), planned) {
		out = append(out, "npm lacks "+npmName+" "+planned)
	}
	if len(npmAttempts) != 1 {
		out = append(out, fmt.Sprintf("npm saw %d publish attempts for %s %s: %v", len(npmAttempts), npmName, planned, npmAttempts))
	}
	// No release lock stays on origin once the release is complete (a killed
	// run's locks are removed by the successful re-run).
	if locks := strings.TrimSpace(w.git(w.origin, "for-each-ref", "--format=%(refname)", "refs/putitoutthere/locks/")); locks != "" {
		out = append(out, "release locks left on origin: "+strings.ReplaceAll(locks, "\n", ", "))
	}
	// Tags on origin, at the released commit.
	tags := strings.Fields(w.git(w.origin, "tag", "--list"))
	sort.Strings(tags)
	if strings.Join(tags, " ") != strings.Join(wantTags, " ") {
		out = append(out, fmt.Sprintf("origin tags = %v, want %v", tags, wantTags))
	}
	for _, tag := range tags {
		if c := w.git(w.origin, "rev-parse", tag+"^{commit}"); c != head {
			out = append(out, fmt.Sprintf("tag %s points at %.12s, want HEAD %.12s", tag, c, head))
		}
	}
	rels := map[string]int{}
	for _, r := range w.gh.Releases(repoSlug) {
		rels[r.TagName]++
	}
	for _, tag := range wantTags {
		if rels[tag] != 1 {
			out = append(out, fmt.Sprintf("%d GitHub Releases for %s", rels[tag], tag))
		}
	}
	if len(rels) != len(wantTags) {
		out = append(out, fmt.Sprintf("GitHub Releases for %v, want one per tag", rels))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

// useShim puts a stand-in directory first on the subprocesses' PATH.
func (w *world) useShim(kind string) {
	w.env["PATH"] = filepath.Join(shims, kind) + string(os.PathListSeparator) + os.Getenv("PATH")
}
