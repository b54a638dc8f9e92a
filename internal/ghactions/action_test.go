package ghactions_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.yaml.in/yaml/v3"
)

// These tests run the action's install script (scripts/action-install.sh,
// the first step of action.yml) the way the runner does, against a local
// server standing in for the GitHub Releases of the binary source.

type release struct {
	files map[string][]byte // name -> bytes, under /releases/download/v<version>/
}

type fakeReleases struct {
	srv      *httptest.Server
	mu       sync.Mutex         // releases is written by tests while the server reads it
	releases map[string]release // version -> files
	latest   string
	hits     atomic.Int32
}

func newFakeReleases(t *testing.T) *fakeReleases {
	f := &fakeReleases{releases: map[string]release{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		const pre = "/org/tool/releases/download/v"
		f.mu.Lock()
		latest := f.latest
		f.mu.Unlock()
		if r.URL.Path == "/org/tool/releases/latest" && latest != "" {
			http.Redirect(w, r, "/org/tool/releases/tag/v"+latest, http.StatusFound)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/org/tool/releases/tag/") {
			fmt.Fprintln(w, "release page")
			return
		}
		if rest, ok := strings.CutPrefix(r.URL.Path, pre); ok {
			v, name, _ := strings.Cut(rest, "/")
			f.mu.Lock()
			b, ok := f.releases[v].files[name]
			f.mu.Unlock()
			if ok {
				w.Write(b)
				return
			}
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// edit changes the releases (or latest) while the server may be reading them.
func (f *fakeReleases) edit(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// publish adds a release whose Linux x64 binary is a script printing its version.
func (f *fakeReleases) publish(version string, tamper bool) {
	bin := []byte("#!/bin/sh\necho putitoutthere " + version + "\n")
	sum := sha256.Sum256(bin)
	if tamper {
		bin = append(bin, '#')
	}
	name := "putitoutthere-x86_64-unknown-linux"
	f.mu.Lock()
	defer f.mu.Unlock()
	f.releases[version] = release{files: map[string][]byte{
		name:         bin,
		"SHA256SUMS": []byte(hex.EncodeToString(sum[:]) + "  " + name + "\n"),
	}}
}

type runner struct {
	t        *testing.T
	toolDir  string
	ghDir    string
	env      map[string]string
	out      string
	exitCode int
}

func script(t *testing.T) string {
	p, err := filepath.Abs(filepath.Join("..", "..", "scripts", "action-install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newRunner(t *testing.T, f *fakeReleases) *runner {
	if runtime.GOOS == "windows" {
		t.Skip("the install script runs under bash")
	}
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	r := &runner{t: t, toolDir: t.TempDir(), ghDir: t.TempDir()}
	r.env = map[string]string{
		"PIOT_RUNNER_OS": "Linux", "PIOT_RUNNER_ARCH": "X64",
		"PIOT_BINARY_SOURCE":     f.srv.URL + "/org/tool",
		"PIOT_VERIFY_PROVENANCE": "false",
		"RUNNER_TOOL_CACHE":      r.toolDir,
		"RUNNER_TEMP":            t.TempDir(),
		"GITHUB_PATH":            filepath.Join(r.ghDir, "path"),
		"GITHUB_OUTPUT":          filepath.Join(r.ghDir, "output"),
	}
	return r
}

func (r *runner) run(extra map[string]string) {
	r.t.Helper()
	cmd := exec.Command("bash", script(r.t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + r.t.TempDir()}
	for k, v := range r.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range extra {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	r.out, r.exitCode = string(out), 0
	if ee, ok := err.(*exec.ExitError); ok {
		r.exitCode = ee.ExitCode()
	} else if err != nil {
		r.t.Fatal(err)
	}
}

// installed runs the binary the script put on GITHUB_PATH (last line).
func (r *runner) installed() string {
	r.t.Helper()
	b, err := os.ReadFile(r.env["GITHUB_PATH"])
	if err != nil {
		r.t.Fatalf("nothing added to GITHUB_PATH: %v\n%s", err, r.out)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	out, err := exec.Command(filepath.Join(lines[len(lines)-1], "putitoutthere")).Output()
	if err != nil {
		r.t.Fatalf("installed binary does not run: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestActionInstallPinnedByTagSHAAndMajor(t *testing.T) {
	f := newFakeReleases(t)
	f.publish("1.4.0", false)
	f.publish("1.5.0", false)
	f.edit(func() { f.latest = "1.5.0" }) // a newer release exists: pinning must not drift to it

	for _, tc := range []struct{ name, ref, recorded, want string }{
		{"release tag", "v1.4.0", "1.4.0", "putitoutthere 1.4.0"},
		{"commit SHA", "0123456789abcdef0123456789abcdef01234567", "1.4.0", "putitoutthere 1.4.0"},
		{"major tag", "v1", "1.4.0", "putitoutthere 1.4.0"},
		{"tag wins over an older record", "v1.5.0", "1.4.0", "putitoutthere 1.5.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRunner(t, f)
			r.run(map[string]string{"PIOT_ACTION_REF": tc.ref, "PIOT_RECORDED_VERSION": tc.recorded})
			if r.exitCode != 0 {
				t.Fatalf("exit %d\n%s", r.exitCode, r.out)
			}
			if got := r.installed(); got != tc.want {
				t.Errorf("installed %q, want %q\n%s", got, tc.want, r.out)
			}
			outs, _ := os.ReadFile(r.env["GITHUB_OUTPUT"])
			if !strings.Contains(string(outs), "version="+strings.TrimPrefix(tc.want, "putitoutthere ")) {
				t.Errorf("version output missing: %s", outs)
			}
		})
	}
}

func TestActionInstallCachesPerVersion(t *testing.T) {
	f := newFakeReleases(t)
	f.publish("1.4.0", false)
	r := newRunner(t, f)
	env := map[string]string{"PIOT_ACTION_REF": "v1.4.0"}
	r.run(env)
	if r.exitCode != 0 {
		t.Fatalf("exit %d\n%s", r.exitCode, r.out)
	}
	before := f.hits.Load()
	r.run(env) // second use in the same job
	if r.exitCode != 0 || f.hits.Load() != before {
		t.Fatalf("second install downloaded again (exit %d, %d requests)\n%s", r.exitCode, f.hits.Load()-before, r.out)
	}
	if !strings.Contains(r.out, "from the runner's tool cache") {
		t.Errorf("no cache line:\n%s", r.out)
	}
	if _, err := os.Stat(filepath.Join(r.toolDir, "putitoutthere", "1.4.0", "x86_64-unknown-linux", "putitoutthere")); err != nil {
		t.Error(err)
	}
	// A binary changed in the cache is not trusted: it is downloaded again.
	os.WriteFile(filepath.Join(r.toolDir, "putitoutthere", "1.4.0", "x86_64-unknown-linux", "putitoutthere"), []byte("#!/bin/sh\necho evil\n"), 0o755)
	r.run(env)
	if r.exitCode != 0 || r.installed() != "putitoutthere 1.4.0" {
		t.Errorf("tampered cache was used: exit %d\n%s", r.exitCode, r.out)
	}
}

var errorLine = regexp.MustCompile(`(?m)^::error title=putitoutthere install::`)

func TestActionInstallFailuresAreAnnotations(t *testing.T) {
	f := newFakeReleases(t)
	f.publish("1.4.0", false)
	f.publish("1.6.0", true)
	f.edit(func() { f.releases["1.5.0"] = release{files: map[string][]byte{}} }) // created, binaries not attached yet
	f.edit(func() { f.latest = "1.4.0" })
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"binaries not attached yet", map[string]string{"PIOT_VERSION": "1.5.0"}, "answered 404: release v1.5.0 has no SHA256SUMS (yet). If v1.5.0 was released minutes ago its binaries may still be uploading: re-run the job"},
		{"checksum mismatch", map[string]string{"PIOT_VERSION": "1.6.0"}, "checksum mismatch for putitoutthere-x86_64-unknown-linux of v1.6.0"},
		{"no version known", map[string]string{"PIOT_ACTION_REF": "main", "PIOT_RECORDED_VERSION": "0.0.0"}, "cannot tell which putitoutthere to install"},
		{"bad version input", map[string]string{"PIOT_VERSION": "one"}, "input version 'one' is not a version"},
		{"unsupported runner", map[string]string{"PIOT_VERSION": "1.4.0", "PIOT_RUNNER_OS": "Linux", "PIOT_RUNNER_ARCH": "ARM"}, "no binary for runner Linux/ARM"},
		{"unreachable source", map[string]string{"PIOT_VERSION": "1.4.0", "PIOT_BINARY_SOURCE": "http://127.0.0.1:1/org/tool", "PIOT_CURL_RETRIES": "0"}, "binary-source input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRunner(t, f)
			r.run(tc.env)
			if r.exitCode == 0 {
				t.Fatalf("install succeeded:\n%s", r.out)
			}
			if !errorLine.MatchString(r.out) || !strings.Contains(r.out, tc.want) {
				t.Errorf("want an ::error annotation containing %q, got:\n%s", tc.want, r.out)
			}
			if strings.Contains(r.out, "curl: (22)") {
				t.Errorf("bare curl error:\n%s", r.out)
			}
			if b, _ := os.ReadFile(r.env["GITHUB_PATH"]); len(b) > 0 {
				t.Errorf("failed install added to PATH: %s", b)
			}
		})
	}
}

// `version: latest` is honoured only when asked for, and says what it got.
func TestActionInstallLatestOnlyByName(t *testing.T) {
	f := newFakeReleases(t)
	f.publish("1.4.0", false)
	f.edit(func() { f.latest = "1.4.0" })
	r := newRunner(t, f)
	r.run(map[string]string{"PIOT_VERSION": "latest"})
	if r.exitCode != 0 || r.installed() != "putitoutthere 1.4.0" {
		t.Fatalf("exit %d\n%s", r.exitCode, r.out)
	}
	if !strings.Contains(r.out, "::notice title=putitoutthere install::version: latest resolved to putitoutthere 1.4.0") {
		t.Errorf("no notice:\n%s", r.out)
	}
}

// actionYML is the part of action.yml a composite run needs.
type actionYML struct {
	Inputs map[string]struct {
		Default string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID               string            `yaml:"id"`
			Shell            string            `yaml:"shell"`
			Run              string            `yaml:"run"`
			Uses             string            `yaml:"uses"`
			WorkingDirectory string            `yaml:"working-directory"`
			Env              map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

var expr = regexp.MustCompile(`\$\{\{\s*([a-z_.-]+)\s*\}\}`)

// runAction runs action.yml's steps the way the runner runs a composite
// action: expressions over inputs, github and runner replaced, each step's
// run: under bash with GITHUB_ACTION_PATH, GITHUB_PATH entries added to
// PATH for the next steps. It returns the combined log and the step
// outputs, keyed by step id.
func runAction(t *testing.T, data []byte, inputs, ctx map[string]string, baseEnv []string, workDir string) (log string, outputs map[string]map[string]string, failed bool) {
	t.Helper()
	root, _ := filepath.Abs(filepath.Join("..", "..")) // GITHUB_ACTION_PATH
	var a actionYML
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if a.Runs.Using != "composite" {
		t.Fatalf("action.yml runs.using = %q", a.Runs.Using)
	}
	in := map[string]string{}
	for k, v := range a.Inputs {
		in[k] = v.Default
	}
	for k, v := range inputs {
		if _, ok := a.Inputs[k]; !ok {
			t.Fatalf("action.yml has no input %q", k)
		}
		in[k] = v
	}
	eval := func(s string) string {
		return expr.ReplaceAllStringFunc(s, func(m string) string {
			name := expr.FindStringSubmatch(m)[1]
			if v, ok := strings.CutPrefix(name, "inputs."); ok {
				return eval1(in[v], ctx)
			}
			return ctx[name]
		})
	}
	outputs = map[string]map[string]string{}
	pathFile := filepath.Join(t.TempDir(), "path")
	var logb strings.Builder
	for _, st := range a.Runs.Steps {
		if st.Uses != "" {
			t.Fatalf("step %q uses %s: the simulation runs only run: steps", st.ID, st.Uses)
		}
		outFile := filepath.Join(t.TempDir(), "out")
		env := append([]string{}, baseEnv...)
		env = append(env, "GITHUB_ACTION_PATH="+root, "GITHUB_PATH="+pathFile, "GITHUB_OUTPUT="+outFile)
		if b, err := os.ReadFile(pathFile); err == nil {
			p := strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", ":")
			env = append(env, "PATH="+p+":"+os.Getenv("PATH"))
		} else {
			env = append(env, "PATH="+os.Getenv("PATH"))
		}
		for k, v := range st.Env {
			env = append(env, k+"="+eval(v))
		}
		cmd := exec.Command("bash", "-e", "-c", eval(st.Run))
		cmd.Env = env
		cmd.Dir = workDir
		if wd := eval(st.WorkingDirectory); wd != "" {
			cmd.Dir = filepath.Join(workDir, wd)
		}
		out, err := cmd.CombinedOutput()
		logb.Write(out)
		o := map[string]string{}
		if b, err := os.ReadFile(outFile); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if k, v, ok := strings.Cut(l, "="); ok {
					o[k] = v
				}
			}
		}
		outputs[st.ID] = o
		if err != nil {
			return logb.String(), outputs, true
		}
	}
	return logb.String(), outputs, false
}

// eval1 resolves an input's default that is itself an expression
// (github-token defaults to ${{ github.token }}).
func eval1(v string, ctx map[string]string) string {
	return expr.ReplaceAllStringFunc(v, func(m string) string { return ctx[expr.FindStringSubmatch(m)[1]] })
}

// The whole action, pinned by SHA and by v1, as a workflow step would run
// it: the binary of the recorded version is installed once per job and the
// command gets the inputs as flags, in working-directory, with github.token.
func TestActionRunsCommandWithInputs(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("bash")
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`PIOT_RECORDED_VERSION: "([^"]+)"`).FindSubmatch(data)
	if m == nil {
		t.Fatal(`action.yml records no version (PIOT_RECORDED_VERSION: "X.Y.Z")`)
	}
	recorded := string(m[1])
	if recorded == "0.0.0" {
		recorded = "1.4.0" // not released yet: simulate the release rewriting the line
		data = regexp.MustCompile(`PIOT_RECORDED_VERSION: "0.0.0"`).ReplaceAll(data, []byte(`PIOT_RECORDED_VERSION: "1.4.0"`))
	}
	f := newFakeReleases(t)
	// The released "binary" records how it was called.
	bin := []byte(`#!/bin/sh
{ echo "args=$*"; echo "pwd=$(pwd)"; echo "token=${GITHUB_TOKEN:-}"; } >> "$CALLS"
[ "$1" = publish ] && echo 'published=[]' >> "$GITHUB_OUTPUT"
exit 0
`)
	sum := sha256.Sum256(bin)
	name := "putitoutthere-x86_64-unknown-linux"
	f.edit(func() {
		f.releases[recorded] = release{files: map[string][]byte{name: bin, "SHA256SUMS": []byte(hex.EncodeToString(sum[:]) + "  " + name + "\n")}}
	})
	f.edit(func() { f.releases["9.9.9"] = f.releases[recorded] })
	f.edit(func() { f.latest = "9.9.9" })

	for _, ref := range []string{"0123456789abcdef0123456789abcdef01234567", "v1"} {
		t.Run(ref, func(t *testing.T) {
			work := t.TempDir()
			os.MkdirAll(filepath.Join(work, "pkgs", "core"), 0o755)
			calls := filepath.Join(t.TempDir(), "calls")
			ctx := map[string]string{"github.action_ref": ref, "github.token": "ghs_fromthejob", "runner.os": "Linux", "runner.arch": "X64"}
			base := []string{"HOME=" + t.TempDir(), "CALLS=" + calls, "RUNNER_TOOL_CACHE=" + t.TempDir(), "RUNNER_TEMP=" + t.TempDir()}
			inputs := map[string]string{"command": "publish", "dry_run": "true", "working-directory": "pkgs/core", "config": "../../release.toml", "timeout": "20m", "args": "--json", "binary-source": f.srv.URL + "/org/tool", "verify-provenance": "false"}
			log, outs, failed := runAction(t, data, inputs, ctx, base, work)
			if failed {
				t.Fatalf("action failed:\n%s", log)
			}
			got, _ := os.ReadFile(calls)
			want := "args=publish --config ../../release.toml --timeout 20m --dry-run --json\npwd=" + filepath.Join(work, "pkgs", "core") + "\ntoken=ghs_fromthejob\n"
			if string(got) != want {
				t.Errorf("the binary was called as\n%s\nwant\n%s\nlog:\n%s", got, want, log)
			}
			if outs["install"]["version"] != recorded {
				t.Errorf("installed %q, want the recorded %s (never latest)", outs["install"]["version"], recorded)
			}
			if outs["run"]["published"] != "[]" {
				t.Errorf("publish outputs not passed through: %v", outs["run"])
			}
		})
	}

	// An unknown command is refused by the action before running anything.
	work := t.TempDir()
	log, _, failed := runAction(t, data, map[string]string{"command": "frobnicate", "binary-source": f.srv.URL + "/org/tool", "verify-provenance": "false"},
		map[string]string{"github.action_ref": "v1", "runner.os": "Linux", "runner.arch": "X64"},
		[]string{"HOME=" + t.TempDir(), "RUNNER_TOOL_CACHE=" + t.TempDir(), "RUNNER_TEMP=" + t.TempDir()}, work)
	if !failed || !strings.Contains(log, "::error title=putitoutthere::input command must be one of") {
		t.Errorf("unknown command: failed=%v\n%s", failed, log)
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// The release moves the major tag only after every binary is attached and
// matches SHA256SUMS, to a commit whose action.yml records the version, and
// never backwards.
func TestReleaseActionMovesMajorTagAfterVerifying(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	f := newFakeReleases(t)
	origin := t.TempDir()
	git(t, origin, "init", "-q", "--bare")
	repo := t.TempDir()
	git(t, repo, "init", "-q", "-b", "main")
	action, _ := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	os.WriteFile(filepath.Join(repo, "action.yml"), action, 0o644)
	git(t, repo, "add", "-A")
	git(t, repo, "commit", "-qm", "init")
	git(t, repo, "remote", "add", "origin", origin)
	git(t, repo, "tag", "v1.4.0")
	git(t, repo, "push", "-q", "origin", "main", "v1.4.0")

	dist := filepath.Join(t.TempDir(), "dist")
	os.MkdirAll(dist, 0o755)
	writeDist := func(version string, attach bool, tamper bool) {
		bins := map[string][]byte{"putitoutthere-x86_64-unknown-linux": []byte("linux " + version), "putitoutthere-x86_64-pc-windows-msvc.exe": []byte("windows " + version)}
		var sums strings.Builder
		files := map[string][]byte{}
		for _, name := range []string{"putitoutthere-x86_64-pc-windows-msvc.exe", "putitoutthere-x86_64-unknown-linux"} {
			s := sha256.Sum256(bins[name])
			fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(s[:]), name)
			files[name] = bins[name]
		}
		os.WriteFile(filepath.Join(dist, "SHA256SUMS"), []byte(sums.String()), 0o644)
		files["SHA256SUMS"] = []byte(sums.String())
		if tamper {
			files["putitoutthere-x86_64-unknown-linux"] = []byte("evil")
		}
		if !attach {
			delete(files, "putitoutthere-x86_64-pc-windows-msvc.exe")
		}
		f.edit(func() { f.releases[version] = release{files: files} })
	}
	run := func(version string) (string, error) {
		cmd := exec.Command("bash", filepath.Join(mustAbs(t, "../../scripts"), "release-action.sh"), version, dist)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "PIOT_BINARY_SOURCE="+f.srv.URL+"/org/tool", "GITHUB_REPOSITORY=org/tool", "GITHUB_STEP_SUMMARY=", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	remoteTag := func(name string) string {
		out, _ := exec.Command("git", "-C", origin, "rev-parse", "-q", "--verify", "refs/tags/"+name+"^{commit}").Output()
		return strings.TrimSpace(string(out))
	}

	// A binary not attached yet: nothing moves.
	writeDist("1.4.0", false, false)
	if out, err := run("1.4.0"); err == nil || !strings.Contains(out, "::error title=release-action::putitoutthere-x86_64-pc-windows-msvc.exe is not attached to release v1.4.0") {
		t.Fatalf("missing binary: err=%v\n%s", err, out)
	}
	// A binary that does not match: nothing moves.
	writeDist("1.4.0", true, true)
	if out, err := run("1.4.0"); err == nil || !strings.Contains(out, "has SHA-256") {
		t.Fatalf("tampered binary: err=%v\n%s", err, out)
	}
	if remoteTag("v1") != "" {
		t.Fatal("v1 moved before the binaries were verified")
	}

	writeDist("1.4.0", true, false)
	out, err := run("1.4.0")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	v1 := remoteTag("v1")
	if v1 == "" || v1 != remoteTag("action-v1.4.0") {
		t.Fatalf("v1 = %q, action-v1.4.0 = %q\n%s", v1, remoteTag("action-v1.4.0"), out)
	}
	if parent := git(t, repo, "rev-parse", v1+"^"); parent != git(t, repo, "rev-parse", "v1.4.0^{commit}") {
		t.Errorf("the action commit is not on top of v1.4.0")
	}
	if yml := git(t, repo, "show", v1+":action.yml"); !strings.Contains(yml, `PIOT_RECORDED_VERSION: "1.4.0"`) {
		t.Errorf("action.yml at v1 does not record 1.4.0")
	}
	if !strings.Contains(out, "pin: uses: org/tool@"+v1+" # v1.4.0") {
		t.Errorf("no pin line:\n%s", out)
	}

	// A patch of an older line released later does not pull v1 back.
	git(t, repo, "tag", "v1.3.9", "v1.4.0^{commit}")
	writeDist("1.3.9", true, false)
	if out, err := run("1.3.9"); err != nil || !strings.Contains(out, "v1 stays: v1.4.0 is a higher release of v1") {
		t.Fatalf("older patch: err=%v\n%s", err, out)
	}
	if remoteTag("v1") != v1 {
		t.Error("v1 moved back to an older release")
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
