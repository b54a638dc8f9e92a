package selfdist

// The end-to-end test of putitoutthere shipping itself through npm: the
// repository's own putitoutthere.toml and npm/putitoutthere package, the
// release build of the binary, `putitoutthere publish` run as a subprocess
// against a registry on loopback (the npm emulator, and Verdaccio), then a
// user's `npm install putitoutthere` and `npx putitoutthere …` in a clean
// directory.
//
// Only the host's member carries a real binary, cross-compiled once with the
// release flags of scripts/dist.sh (the same build publishes). The other
// members get stand-ins with the right ELF/Mach-O/PE headers
// (family.StandIn): cross-compiling six more targets costs minutes on a small
// machine. PIOT_FULL_DIST=1 runs the whole scripts/dist.sh instead.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/config"
	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/family"
)

const (
	selfPkg = "putitoutthere"
	// The throwaway repository was released as v0.4.0 and changed since: a
	// patch release.
	lastVersion = "0.4.0"
	wantVersion = "0.4.1"
)

// hostBuild is the release build of the binary for this machine, shared by
// every registry variant.
var hostBuild struct {
	once sync.Once
	path string
	err  error
}

// buildHost cross-compiles the host's binary the way scripts/dist.sh does,
// with wantVersion embedded.
func buildHost(t *testing.T) string {
	t.Helper()
	hostBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "piot-npx-build-")
		if err != nil {
			hostBuild.err = err
			return
		}
		out := filepath.Join(dir, selfPkg)
		cmd := exec.Command("go", "build", "-trimpath",
			"-ldflags", "-s -w -buildid= -X github.com/putitoutthere/putitoutthere/internal/cli.Version="+wantVersion,
			"-o", out, "./cmd/putitoutthere")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
		if b, err := cmd.CombinedOutput(); err != nil {
			hostBuild.err = fmt.Errorf("go build: %v\n%s", err, b)
			return
		}
		hostBuild.path = out
	})
	if hostBuild.err != nil {
		t.Fatal(hostBuild.err)
	}
	return hostBuild.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if hostBuild.path != "" {
		os.RemoveAll(filepath.Dir(hostBuild.path))
	}
	os.Exit(code)
}

// hostTriple is the family member npm should pick on this machine.
func hostTriple(t *testing.T) string {
	t.Helper()
	switch runtime.GOOS + "/" + runtime.GOARCH {
	case "linux/amd64", "linux/arm64":
		cpu := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
		// One member per CPU: the static binary runs on glibc and musl.
		return cpu + "-unknown-linux"
	case "darwin/amd64":
		return "x86_64-apple-darwin"
	case "darwin/arm64":
		return "aarch64-apple-darwin"
	case "windows/amd64":
		return "x86_64-pc-windows-msvc"
	}
	t.Skipf("the family has no member for %s/%s", runtime.GOOS, runtime.GOARCH)
	return ""
}

// registry is where the family is published and installed from.
type registry struct {
	url   string
	token string
	// versions lists the versions the registry holds of a package.
	versions func(t *testing.T, name string) []string
}

func TestNpxEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the release binary and runs npm")
	}
	for _, tool := range []string{"node", "npm", "npx", "git", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed; the npx end-to-end test needs node, npm and git", tool)
		}
	}
	triple := hostTriple(t)

	t.Run("emulator", func(t *testing.T) {
		t.Parallel()
		emu, err := npmemu.Start(npmemu.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(emu.Close)
		tok := npmemu.NewToken()
		emu.AddUser("maintainer", tok)
		runNpxEndToEnd(t, triple, true, func() registry {
			return registry{url: emu.URL(), token: tok, versions: func(_ *testing.T, name string) []string { return emu.Versions(name) }}
		})
	})
	t.Run("verdaccio", func(t *testing.T) {
		t.Parallel()
		ready := startVerdaccio(t)
		runNpxEndToEnd(t, triple, false, func() registry {
			url, tok := ready()
			return registry{url: url, token: tok, versions: func(t *testing.T, name string) []string { return packumentVersions(t, url, name) }}
		})
	})
}

// runNpxEndToEnd publishes the family to reg and uses it as a user would;
// global adds `npm install -g` (one registry is enough for that layout).
func runNpxEndToEnd(t *testing.T, triple string, global bool, reg func() registry) {
	bin := buildHost(t)
	repo, origin := selfRepo(t)
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}

	// The plan of the throwaway repository: one patch release of the family.
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Release Bot", "GIT_AUTHOR_EMAIL=release@example.com",
		"GIT_COMMITTER_NAME=Release Bot", "GIT_COMMITTER_EMAIL=release@example.com"}
	stdout, stderr, code := run(t, repo, base, bin, "plan", "--json")
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", code, stdout, stderr)
	}
	var rows []struct{ Name, Version, Target string }
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, stdout)
	}
	targets := map[string]bool{}
	for _, r := range rows {
		if r.Name != selfPkg || r.Version != wantVersion {
			t.Fatalf("plan row %+v, want %s %s", r, selfPkg, wantVersion)
		}
		targets[r.Target] = true
	}
	if !targets["main"] || !targets[triple] {
		t.Fatalf("plan rows %+v lack the main row or %s", rows, triple)
	}

	members := stageArtifacts(t, repo, bin)

	// Publish with a token, no OIDC, no GitHub release.
	r := reg()
	pubEnv := append(slices.Clone(base), "PUTITOUTTHERE_NPM_REGISTRY="+r.url, "NODE_AUTH_TOKEN="+r.token, "CI=true")
	stdout, stderr, code = run(t, repo, pubEnv, bin, "publish")
	if code != 0 {
		t.Fatalf("publish: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("publish:\n%s%s", stdout, stderr)
	if strings.Contains(stdout+stderr, r.token) {
		t.Error("publish printed the token")
	}
	for _, m := range members {
		if got := r.versions(t, m.Name); !slices.Contains(got, wantVersion) {
			t.Errorf("%s on the registry: versions %v, want %s", m.Name, got, wantVersion)
		}
	}
	if got := r.versions(t, selfPkg); !slices.Equal(got, []string{wantVersion}) {
		t.Errorf("%s on the registry: versions %v, want [%s]", selfPkg, got, wantVersion)
	}
	if tags := gitOut(t, origin, "tag", "-l"); !strings.Contains(tags, "v"+wantVersion) {
		t.Errorf("tag v%s not pushed to origin; origin has %q", wantVersion, tags)
	}

	// A user's machine: its own HOME, npm cache and userconfig naming the registry.
	user := filepath.Join(tmp, "user")
	if err := os.MkdirAll(user, 0o755); err != nil {
		t.Fatal(err)
	}
	npmrc := filepath.Join(user, ".npmrc")
	if err := os.WriteFile(npmrc, []byte("registry="+r.url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	userEnv := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + user,
		"npm_config_userconfig=" + npmrc, "npm_config_cache=" + filepath.Join(user, ".npm"),
		"npm_config_update_notifier=false", "npm_config_fetch_retries=0"}

	app := filepath.Join(tmp, "app")
	install(t, app, userEnv)
	var installed []string
	for _, m := range members {
		if _, err := os.Stat(filepath.Join(app, "node_modules", m.Name)); err == nil {
			installed = append(installed, m.Name)
		}
	}
	if want := []string{selfPkg + "-" + triple}; !slices.Equal(installed, want) {
		t.Errorf("installed platform packages %v, want only %v", installed, want)
	}

	checkInstalled(t, app, triple, members)

	// npx runs the launcher, which runs the member's binary.
	stdout, stderr, code = run(t, app, userEnv, "npx", "--no-install", selfPkg, "version")
	if code != 0 || !strings.Contains(stdout, "putitoutthere "+wantVersion+" ") {
		t.Errorf("npx putitoutthere version: exit %d, want %q in\n%s%s", code, "putitoutthere "+wantVersion, stdout, stderr)
	}
	stdout, stderr, code = run(t, app, userEnv, "npx", "--no-install", selfPkg, "--version")
	if code != 0 || !strings.Contains(stdout, "putitoutthere "+wantVersion+" (") || !strings.Contains(stdout, "commit") {
		t.Errorf("npx putitoutthere --version: exit %d, want %q and the commit in\n%s%s", code, "putitoutthere "+wantVersion, stdout, stderr)
	}

	// doctor on the example repository, run from there with the installed package.
	example := filepath.Join(tmp, "example")
	if b, err := exec.Command("bash", filepath.Join(root, "examples", "make-example-repo.sh"), example).CombinedOutput(); err != nil {
		t.Fatalf("make-example-repo.sh: %v\n%s", err, b)
	}
	stdout, stderr, code = run(t, example, userEnv, "npx", "--prefix", app, "--no-install", selfPkg, "doctor")
	if code != 0 {
		t.Errorf("npx putitoutthere doctor: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, h := range []string{"config:", "auth:", "trust policy (local):", "putitoutthere.toml: 4 packages"} {
		if !strings.Contains(stdout, h) {
			t.Errorf("doctor output lacks %q:\n%s%s", h, stdout, stderr)
		}
	}

	// A failing command's exit code passes through the launcher and npx.
	_, stderr, code = run(t, app, userEnv, "npx", "--no-install", selfPkg, "plan", "--bogus")
	if code != 2 || !strings.Contains(stderr, "bogus") {
		t.Errorf("npx putitoutthere plan --bogus: exit %d, want 2 and the flag named\n%s", code, stderr)
	}

	// npx with nothing installed: it fetches the package into its own cache,
	// with only this platform's member.
	fresh := filepath.Join(tmp, "fresh")
	if err := os.MkdirAll(fresh, 0o755); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = run(t, fresh, userEnv, "npx", "--yes", selfPkg+"@"+wantVersion, "version")
	if code != 0 || !strings.Contains(stdout, "putitoutthere "+wantVersion+" ") {
		t.Errorf("npx --yes putitoutthere@%s version: exit %d\n%s%s", wantVersion, code, stdout, stderr)
	}
	cached, _ := filepath.Glob(filepath.Join(user, ".npm", "_npx", "*", "node_modules", selfPkg+"-*"))
	if len(cached) != 1 || filepath.Base(cached[0]) != selfPkg+"-"+triple {
		t.Errorf("npx installed platform packages %v, want only %s", cached, selfPkg+"-"+triple)
	}

	// A global install nests the member under the top-level package; the
	// launcher resolves it from there.
	if global {
		prefix := filepath.Join(tmp, "global")
		if stdout, stderr, code := run(t, tmp, userEnv, "npm", "install", "-g", "--prefix", prefix, selfPkg+"@"+wantVersion, "--no-audit", "--no-fund"); code != 0 {
			t.Fatalf("npm install -g: exit %d\n%s%s", code, stdout, stderr)
		}
		stdout, stderr, code = run(t, tmp, userEnv, filepath.Join(prefix, "bin", selfPkg), "version")
		if code != 0 || !strings.Contains(stdout, "putitoutthere "+wantVersion+" ") {
			t.Errorf("global putitoutthere version: exit %d\n%s%s", code, stdout, stderr)
		}
	}

	// Without optional dependencies the launcher names the package it lacks.
	bare := filepath.Join(tmp, "bare")
	install(t, bare, userEnv, "--omit=optional")
	stdout, stderr, code = run(t, bare, userEnv, filepath.Join(bare, "node_modules", ".bin", selfPkg), "version")
	want := "the platform package " + selfPkg + "-" + triple + " is not installed"
	if code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("putitoutthere version without optional deps: exit %d, want 1 and %q in\n%s%s", code, want, stdout, stderr)
	}
}

// checkInstalled reads what npm installed: the top-level package at the
// version with every member as an optional dependency and the generated
// launcher, and the host's member with its platform fields and binary.
func checkInstalled(t *testing.T, app, triple string, members []family.Member) {
	t.Helper()
	read := func(name string) map[string]any {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(app, "node_modules", name, "package.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	top := read(selfPkg)
	if top["version"] != wantVersion {
		t.Errorf("installed %s version %v, want %s", selfPkg, top["version"], wantVersion)
	}
	opt, _ := top["optionalDependencies"].(map[string]any)
	if len(opt) != len(members) {
		t.Errorf("optionalDependencies %v, want the %d members", opt, len(members))
	}
	for _, m := range members {
		if opt[m.Name] != wantVersion {
			t.Errorf("optionalDependencies[%s] = %v, want %s", m.Name, opt[m.Name], wantVersion)
		}
	}
	fi, err := os.Stat(filepath.Join(app, "node_modules", selfPkg, "bin", "putitoutthere.js"))
	if err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("launcher bin/putitoutthere.js: %v, %v", fi, err)
	}
	for _, m := range members {
		if m.Triple != triple {
			continue
		}
		got := read(m.Name)
		want := map[string]any{"name": m.Name, "version": wantVersion, "os": []any{m.OS}, "cpu": []any{m.CPU}}
		if m.Libc != "" {
			want["libc"] = []any{m.Libc}
		}
		for k, v := range want {
			if fmt.Sprint(got[k]) != fmt.Sprint(v) {
				t.Errorf("%s package.json %s = %v, want %v", m.Name, k, got[k], v)
			}
		}
		fi, err := os.Stat(filepath.Join(app, "node_modules", m.Name, selfPkg))
		if err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("%s binary: %v, %v", m.Name, fi, err)
		}
	}
}

// install runs `npm install putitoutthere@wantVersion` in a new project dir.
func install(t *testing.T, dir string, env []string, extra ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"npx-e2e-user","version":"1.0.0","private":true}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"install", selfPkg + "@" + wantVersion, "--no-audit", "--no-fund"}, extra...)
	if stdout, stderr, code := run(t, dir, env, "npm", args...); code != 0 {
		t.Fatalf("npm %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
	}
}

// selfRepo is a throwaway repository holding this repository's
// putitoutthere.toml and npm/putitoutthere, released as v0.4.0 and changed
// since, with a bare origin to push tags to.
func selfRepo(t *testing.T) (dir, origin string) {
	t.Helper()
	dir, origin = t.TempDir(), t.TempDir()
	copyTree(t, filepath.Join(root, "putitoutthere.toml"), filepath.Join(dir, "putitoutthere.toml"))
	copyTree(t, filepath.Join(root, "npm", selfPkg), filepath.Join(dir, "npm", selfPkg))
	// As in the release workflow, artifacts/ is downloaded into the checkout
	// and left untracked.
	copyTree(t, filepath.Join(root, ".gitignore"), filepath.Join(dir, ".gitignore"))
	gitOut(t, origin, "init", "-q", "--bare")
	gitOut(t, dir, "init", "-q", "-b", "main")
	gitOut(t, dir, "add", "-A")
	gitOut(t, dir, "commit", "-q", "-m", "putitoutthere "+lastVersion)
	gitOut(t, dir, "tag", "-a", "v"+lastVersion, "-m", "v"+lastVersion)
	readme := filepath.Join(dir, "npm", selfPkg, "README.md")
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, readme, string(b)+"\nInstall with `npm install putitoutthere`.\n")
	gitOut(t, dir, "commit", "-q", "-am", "npm: say how to install")
	gitOut(t, dir, "remote", "add", "origin", origin)
	gitOut(t, dir, "push", "-q", "origin", "main", "v"+lastVersion)
	return dir, origin
}

// stageArtifacts fills artifacts/ the way the build job would: the host's
// member gets the release binary, the others stand-ins (or, with
// PIOT_FULL_DIST=1, scripts/dist.sh builds them all). It returns the family.
func stageArtifacts(t *testing.T, repo, hostBin string) []family.Member {
	t.Helper()
	cfg, err := config.Load(filepath.Join(repo, "putitoutthere.toml"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg *config.Package
	for i := range cfg.Packages {
		if cfg.Packages[i].Name == selfPkg {
			pkg = &cfg.Packages[i]
		}
	}
	if pkg == nil {
		t.Fatalf("putitoutthere.toml declares no package %s", selfPkg)
	}
	members, err := family.Members(pkg)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("PIOT_FULL_DIST") == "1" {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "dist.sh"), wantVersion, repo)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("scripts/dist.sh: %v\n%s", err, b)
		}
		return members
	}
	host := hostTriple(t)
	for _, m := range members {
		dir := filepath.Join(repo, "artifacts", m.Artifact)
		name := selfPkg
		if m.OS == "win32" {
			name += ".exe"
		}
		if m.Triple == host {
			copyTree(t, hostBin, filepath.Join(dir, name))
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), family.StandIn(m, pkg.Build), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyTree(t, filepath.Join(root, "npm", selfPkg), filepath.Join(repo, "artifacts", selfPkg+"-main"))
	return members
}

// run runs name with exactly env (nothing inherited) and returns its output
// and exit code; it fails the test only when name cannot run at all.
func run(t *testing.T, dir string, env []string, name string, args ...string) (string, string, int) {
	t.Helper()
	start := time.Now()
	defer func() {
		t.Logf("%s %s: %s", name, strings.Join(args, " "), time.Since(start).Round(10*time.Millisecond))
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return o.String(), e.String(), 0
	case errors.As(err, &ee) && ctx.Err() == nil:
		return o.String(), e.String(), ee.ExitCode()
	}
	t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, o.String(), e.String())
	return "", "", -1
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies a file or a directory, keeping modes.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, fi.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}

// packumentVersions reads a package's versions from a registry over HTTP.
func packumentVersions(t *testing.T, reg, name string) []string {
	t.Helper()
	res, err := http.Get(reg + name)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return nil
	}
	var doc struct {
		Versions map[string]json.RawMessage `json:"versions"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s%s: %d %v", reg, name, res.StatusCode, err)
	}
	var out []string
	for v := range doc.Versions {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// verdaccioBin finds Verdaccio: $PIOT_VERDACCIO, else the pinned install in
// .ci/verdaccio (`npm ci --prefix .ci/verdaccio`), else one on PATH.
func verdaccioBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PIOT_VERDACCIO"); p != "" {
		return p
	}
	if p := filepath.Join(root, ".ci", "verdaccio", "node_modules", ".bin", "verdaccio"); fileExists(p) {
		return p
	}
	if p, err := exec.LookPath("verdaccio"); err == nil {
		return p
	}
	t.Skip("Verdaccio is not installed: run `npm ci --prefix .ci/verdaccio` or set PIOT_VERDACCIO")
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// startVerdaccio runs Verdaccio on a free loopback port with storage in a
// temp dir and no uplinks (it never reaches the network), handing out JWT
// API tokens (the legacy ones re-check the bcrypt password on every
// request, a second each on a busy machine). The returned
// function waits until it answers and gives its URL and a new user's token,
// so the caller builds meanwhile.
func startVerdaccio(t *testing.T) func() (string, string) {
	t.Helper()
	bin := verdaccioBin(t)
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// The release binary's tarball, base64 in a JSON body, is over
	// Verdaccio's default 10mb request limit; npm's registry takes it.
	cfg := fmt.Sprintf(`storage: %s
max_body_size: 100mb
auth:
  htpasswd:
    file: %s
    max_users: 100
uplinks: {}
packages:
  '**':
    access: $all
    publish: $authenticated
security:
  api:
    jwt:
      sign:
        expiresIn: 60m
web:
  enable: false
log: { type: stdout, format: pretty, level: warn }
`, filepath.Join(dir, "storage"), filepath.Join(dir, "htpasswd"))
	cfgPath := filepath.Join(dir, "config.yaml")
	writeFile(t, cfgPath, cfg)
	cmd := exec.Command(bin, "--config", cfgPath, "--listen", addr)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	var logs bytes.Buffer
	var mu sync.Mutex
	cmd.Stdout, cmd.Stderr = lockedWriter{&logs, &mu}, lockedWriter{&logs, &mu}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting verdaccio: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr + "/"
	return func() (string, string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			res, err := http.Get(base + "-/ping")
			if err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("verdaccio did not come up on %s:\n%s", base, logs.String())
			}
			time.Sleep(100 * time.Millisecond) // waiting on an external process
		}
		body, _ := json.Marshal(map[string]string{"name": "maintainer", "password": "correct-horse-battery", "email": "m@example.com"})
		req, _ := http.NewRequest(http.MethodPut, base+"-/user/org.couchdb.user:maintainer", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out struct {
			Token string `json:"token"`
		}
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusCreated || out.Token == "" {
			t.Fatalf("creating the verdaccio user: %d %v", res.StatusCode, err)
		}
		return base, out.Token
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// scripts/dist.sh with a stand-in `go` that records how it was called: every
// target is built with the release flags into OUT, and a relative OUT is
// taken from the caller's directory (not the repository root).
func TestDistScriptLayout(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("sha256sum is not installed")
	}
	fake := t.TempDir()
	writeFile(t, filepath.Join(fake, "go"), `#!/usr/bin/env bash
out=""
prev=""
for a in "$@"; do
  [ "$prev" = "-o" ] && out="$a"
  prev="$a"
done
printf '%s\n' "CGO_ENABLED=$CGO_ENABLED GOOS=$GOOS GOARCH=$GOARCH" "$@" > "$out"
`)
	if err := os.Chmod(filepath.Join(fake, "go"), 0o755); err != nil {
		t.Fatal(err)
	}
	caller := t.TempDir()
	script, err := filepath.Abs(filepath.Join(root, "scripts", "dist.sh"))
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + fake + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + caller}
	if stdout, stderr, code := run(t, caller, env, "bash", script, "1.2.3", "rel"); code != 0 {
		t.Fatalf("dist.sh: exit %d\n%s%s", code, stdout, stderr)
	}
	out := filepath.Join(caller, "rel")
	want := map[string]string{
		"x86_64-unknown-linux":   "GOOS=linux GOARCH=amd64",
		"aarch64-unknown-linux":  "GOOS=linux GOARCH=arm64",
		"x86_64-apple-darwin":    "GOOS=darwin GOARCH=amd64",
		"aarch64-apple-darwin":   "GOOS=darwin GOARCH=arm64",
		"x86_64-pc-windows-msvc": "GOOS=windows GOARCH=amd64",
	}
	sums, err := os.ReadFile(filepath.Join(out, "dist", "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	for triple, goenv := range want {
		name := selfPkg
		if strings.Contains(triple, "windows") {
			name += ".exe"
		}
		b, err := os.ReadFile(filepath.Join(out, "artifacts", selfPkg+"-"+triple, name))
		if err != nil {
			t.Errorf("%s: %v", triple, err)
			continue
		}
		got := string(b)
		for _, w := range []string{"CGO_ENABLED=0 " + goenv, "-trimpath", "-s -w -buildid= -X github.com/putitoutthere/putitoutthere/internal/cli.Version=1.2.3", "./cmd/putitoutthere"} {
			if !strings.Contains(got, w) {
				t.Errorf("%s built with %q, want %q", triple, got, w)
			}
		}
		if !strings.Contains(string(sums), "  "+selfPkg+"-"+triple+strings.TrimPrefix(name, selfPkg)+"\n") {
			t.Errorf("SHA256SUMS lacks %s:\n%s", triple, sums)
		}
	}
	if !fileExists(filepath.Join(out, "artifacts", selfPkg+"-main", "package.json")) {
		t.Error("artifacts/putitoutthere-main/package.json is missing")
	}
	if fileExists(filepath.Join(root, "rel")) {
		t.Error("dist.sh wrote a relative OUT under the repository root")
	}
}

// npm would "auto-correct" a package.json it finds wrong on every publish of
// the family (the members inherit repository); `npm pkg fix` must find nothing
// to change.
func TestNpmPackageNeedsNoFix(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs npm")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed")
	}
	dir := t.TempDir()
	src := filepath.Join(root, "npm", selfPkg, "package.json")
	copyTree(t, src, filepath.Join(dir, "package.json"))
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "npm_config_update_notifier=false"}
	if stdout, stderr, code := run(t, dir, env, "npm", "pkg", "fix"); code != 0 {
		t.Fatalf("npm pkg fix: exit %d\n%s%s", code, stdout, stderr)
	}
	var before, after map[string]any
	for p, m := range map[string]*map[string]any{src: &before, filepath.Join(dir, "package.json"): &after} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	if a, b := fmt.Sprint(before), fmt.Sprint(after); a != b {
		t.Errorf("npm pkg fix changes npm/putitoutthere/package.json:\n was %s\n now %s", a, b)
	}
}
