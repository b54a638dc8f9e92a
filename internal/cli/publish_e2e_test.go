package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/putitoutthere/putitoutthere/internal/emulator"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	ghemu "github.com/putitoutthere/putitoutthere/internal/emulator/github"
	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	pypiemu "github.com/putitoutthere/putitoutthere/internal/emulator/pypi"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/pydist/pydisttest"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

// world is a polyglot repository (crate + PyPI + npm) with a bare origin,
// its artifacts, and every registry emulated on loopback.
type world struct {
	t      *testing.T
	dir    string
	origin string
	env    env.Env
	is     *oidc.Issuer
	crates *crates.Server
	pypi   *pypiemu.Server
	npm    *npmemu.Server
	gh     *ghemu.Server
	runner *run.Fake
	// afterCargo, when set, runs after the fake cargo's upload and may change its result.
	afterCargo func(run.Result) run.Result
}

const e2eConfig = `[putitoutthere]
version = 1

[[package]]
name = "core"
kind = "crates"
crate = "piot-core"
path = "core"
paths = ["core/**"]

[[package]]
name = "py-core"
kind = "pypi"
path = "py"
paths = ["py/**"]
depends_on = ["core"]

[[package]]
name = "js-core"
kind = "npm"
path = "js"
paths = ["js/**"]
depends_on = ["core"]
`

func gitRun(t *testing.T, dir string, e env.Env, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = e.List()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func writeFile(t *testing.T, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func crateTarball(t *testing.T, name, version string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	files := map[string]string{
		"Cargo.toml": fmt.Sprintf("[package]\nname = %q\nversion = %q\nedition = \"2021\"\ndescription = \"core\"\nlicense = \"MIT\"\n", name, version),
		"src/lib.rs": "pub fn f() {}\n",
	}
	for _, f := range []string{"Cargo.toml", "src/lib.rs"} {
		body := files[f]
		tw.WriteHeader(&tar.Header{Name: name + "-" + version + "/" + f, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)})
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func newWorld(t *testing.T) *world {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	w := &world{t: t, dir: t.TempDir(), origin: t.TempDir()}
	set, err := emulator.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Close)
	w.is, w.crates, w.pypi, w.npm, w.gh = set.OIDC, set.Crates, set.PyPI, set.NPM, set.GitHub

	// Trusted publishers for octo-org/octo-repo, release.yml (the issuer's default identity).
	w.crates.CreateCrate("piot-core", crates.DefaultUser)
	w.crates.AddVersion("piot-core", "0.0.1")
	w.crates.AddGitHubConfig("piot-core", crates.GitHubConfig{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "release.yml"})
	if err := w.pypi.AddPendingPublisher("py-core", pypiemu.Publisher{Owner: "octo-org", Repo: "octo-repo", OwnerID: "65", Workflow: "release.yml"}); err != nil {
		t.Fatal(err)
	}
	if err := w.npm.CreatePackageVersion("js-core", "octocat", "0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := w.npm.AddTrustedPublisher("js-core", npmemu.TrustedPublisher{Owner: "octo-org", Repo: "octo-repo", Workflow: "release.yml"}); err != nil {
		t.Fatal(err)
	}
	w.gh.AddRepo("octo-org/octo-repo")
	ghTok := w.gh.IssueInstallationToken("octo-org/octo-repo")

	home := t.TempDir()
	e := env.Env{
		"PATH": os.Getenv("PATH"), "HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": filepath.Join(home, "gitconfig"),
		"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
		"PUTITOUTTHERE_CRATES_IO_URL": w.crates.URL(), "PUTITOUTTHERE_NPM_REGISTRY": w.npm.URL(), "GITHUB_TOKEN": ghTok,
	}
	for _, m := range []map[string]string{w.is.Env(), w.pypi.Env(), w.gh.Env()} {
		for k, v := range m {
			e[k] = v
		}
	}
	w.env = e

	gitRun(t, w.origin, e, "init", "-q", "--bare")
	gitRun(t, w.dir, e, "init", "-q", "-b", "main")
	writeFile(t, filepath.Join(w.dir, "putitoutthere.toml"), e2eConfig)
	writeFile(t, filepath.Join(w.dir, "core/Cargo.toml"), "[package]\nname = \"piot-core\"\nversion = \"0.0.0\" # managed\nedition = \"2021\"\ndescription = \"core\"\nlicense = \"MIT\"\n")
	writeFile(t, filepath.Join(w.dir, "core/src/lib.rs"), "pub fn f() {}\n")
	writeFile(t, filepath.Join(w.dir, "py/pyproject.toml"), "[project]\nname = \"py-core\"\nversion = \"0.0.0\"\n")
	writeFile(t, filepath.Join(w.dir, "js/package.json"), "{\n  \"name\": \"js-core\",\n  \"version\": \"0.0.0\",\n  \"repository\": {\"type\": \"git\", \"url\": \"git+https://github.com/octo-org/octo-repo.git\"}\n}\n")
	writeFile(t, filepath.Join(w.dir, ".gitignore"), "artifacts/\n")
	gitRun(t, w.dir, e, "add", ".")
	gitRun(t, w.dir, e, "commit", "-q", "-m", "initial")
	gitRun(t, w.dir, e, "remote", "add", "origin", w.origin)
	gitRun(t, w.dir, e, "push", "-q", "origin", "main")
	w.artifacts("0.1.0")

	w.runner = &run.Fake{Base: e, Handler: w.fakeTools}
	oldRunner, oldHTTP, oldMask := newRunner, newHTTP, maskOut
	newRunner = func(env.Env, io.Writer) run.Runner { return w.runner }
	newHTTP = func() *httpx.Client {
		c := httpx.New()
		c.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
		return c
	}
	maskOut = io.Discard
	t.Cleanup(func() { newRunner, newHTTP, maskOut = oldRunner, oldHTTP, oldMask })
	return w
}

// artifacts writes what the build job would upload for version.
func (w *world) artifacts(version string) {
	a := filepath.Join(w.dir, "artifacts")
	os.RemoveAll(a)
	writeFile(w.t, filepath.Join(a, "core-crate", "piot-core-"+version+".crate"), string(crateTarball(w.t, "piot-core", version)))
	if err := os.MkdirAll(filepath.Join(a, "py-core-sdist"), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if _, _, err := pydisttest.WriteBoth(filepath.Join(a, "py-core-sdist"), pydisttest.Spec{Name: "py-core", Version: version}); err != nil {
		w.t.Fatal(err)
	}
	writeFile(w.t, filepath.Join(a, "js-core-pkg", "package.json"), "{\"name\":\"js-core\",\"version\":\"0.0.0\",\"main\":\"index.js\",\"repository\":{\"url\":\"git+https://github.com/octo-org/octo-repo.git\"}}\n")
	writeFile(w.t, filepath.Join(a, "js-core-pkg", "index.js"), "module.exports = 1\n")
}

// fakeTools stands in for cargo and npm: it speaks the registries' publish
// protocols with the credentials found in its (recorded) environment, so the
// emulators judge the tokens exactly as they would judge the real tools.
func (w *world) fakeTools(c run.Cmd) (run.Result, error) {
	envOf := func(k string) string {
		for _, kv := range c.Env {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	}
	dry := false
	for _, a := range c.Args {
		dry = dry || a == "--dry-run"
	}
	switch c.Name {
	case "cargo":
		if dry {
			return run.Result{}, nil
		}
		data, _ := os.ReadFile(filepath.Join(c.Dir, "Cargo.toml"))
		version := between(string(data), "version = \"", "\"")
		res, err := w.cargoPublish("piot-core", version, envOf("CARGO_REGISTRIES_PIOT_TOKEN"))
		if w.afterCargo != nil {
			res = w.afterCargo(res)
		}
		return res, err
	case "npm":
		if dry {
			return run.Result{}, nil
		}
		rc, _ := os.ReadFile(envOf("NPM_CONFIG_USERCONFIG"))
		tok := between(string(rc), ":_authToken=", "\n")
		if ref, ok := strings.CutPrefix(tok, "${"); ok {
			tok = envOf(strings.TrimSuffix(ref, "}")) // npm expands ${VAR} in an npmrc
		}
		return w.npmPublish(c.Args[1], tok)
	}
	return run.Result{Stderr: "unexpected tool " + c.Name, ExitCode: 127}, nil
}

func between(s, a, b string) string {
	_, rest, ok := strings.Cut(s, a)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, b)
	return v
}

func (w *world) cargoPublish(name, version, token string) (run.Result, error) {
	crate := crateTarball(w.t, name, version)
	meta, _ := json.Marshal(map[string]any{"name": name, "vers": version, "deps": []any{}, "features": map[string]any{}, "authors": []string{}, "description": "core", "license": "MIT"})
	var body bytes.Buffer
	binary.Write(&body, binary.LittleEndian, uint32(len(meta)))
	body.Write(meta)
	binary.Write(&body, binary.LittleEndian, uint32(len(crate)))
	body.Write(crate)
	req, _ := http.NewRequest(http.MethodPut, w.crates.URL()+"/api/v1/crates/new", &body)
	req.Header.Set("Authorization", token)
	req.Header.Set("User-Agent", "cargo/1.95.0 (fake)")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return run.Result{Stderr: "error: failed to publish: " + err.Error(), ExitCode: 101}, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return run.Result{Stderr: fmt.Sprintf("error: failed to publish to registry\n\nCaused by:\n  the remote server responded with an error (status %d %s): %s", resp.StatusCode, http.StatusText(resp.StatusCode), b), ExitCode: 101}, nil
	}
	return run.Result{Stderr: "   Uploaded " + name + " v" + version}, nil
}

func (w *world) npmPublish(dir, token string) (run.Result, error) {
	var pj map[string]any
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return run.Result{Stderr: "npm error code ENOENT", ExitCode: 1}, nil
	}
	json.Unmarshal(data, &pj)
	name, version := pj["name"].(string), pj["version"].(string)
	var tgz bytes.Buffer
	gz := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "package/package.json", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
	tw.Write(data)
	tw.Close()
	gz.Close()
	sum := sha512.Sum512(tgz.Bytes())
	sha := sha1.Sum(tgz.Bytes())
	vm := map[string]any{}
	for k, v := range pj {
		vm[k] = v
	}
	vm["_id"] = name + "@" + version
	vm["dist"] = map[string]any{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(sum[:]), "shasum": hex.EncodeToString(sha[:]), "tarball": "http://x/" + name + "/-/" + name + "-" + version + ".tgz"}
	doc := map[string]any{"_id": name, "name": name, "dist-tags": map[string]string{"latest": version}, "versions": map[string]any{version: vm}, "access": "public",
		"_attachments": map[string]any{name + "-" + version + ".tgz": map[string]any{"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz.Bytes()), "length": tgz.Len()}}}
	body, _ := json.Marshal(doc)
	req, _ := http.NewRequest(http.MethodPut, w.npm.URL()+name, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("npm-command", "publish")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return run.Result{Stderr: "npm error code ECONNRESET\nnpm error network " + err.Error(), ExitCode: 1}, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(b, &e)
		return run.Result{Stderr: fmt.Sprintf("npm error code E%d\nnpm error %d %s - PUT %s%s - %s\n", resp.StatusCode, resp.StatusCode, http.StatusText(resp.StatusCode), w.npm.URL(), name, e.Error), ExitCode: 1}, nil
	}
	return run.Result{Stdout: "+ " + name + "@" + version}, nil
}

var cliMu sync.Mutex // MainEnv swaps package hooks; runs are serialised

// cli runs putitoutthere in-process in the world's repository.
func (w *world) cli(args ...string) (stdout, stderr string, code int) {
	cliMu.Lock()
	defer cliMu.Unlock()
	var out, errb bytes.Buffer
	code = MainEnv(w.t.Context(), append([]string{"--cwd", w.dir}, args...), Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, w.env)
	return out.String(), errb.String(), code
}

type publishDoc struct {
	Outcome  string `json:"outcome"`
	Packages []struct {
		Name, Status, Tag, Auth, URL, Release, Code, Error string
		TagState                                           string `json:"tag_state"`
	} `json:"packages"`
	Error *struct {
		Code, Message, Hint string
	} `json:"error"`
}

func (w *world) publishJSON(args ...string) (publishDoc, string, int) {
	w.t.Helper()
	out, errOut, code := w.cli(append([]string{"publish", "--json"}, args...)...)
	var doc publishDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		w.t.Fatalf("publish --json printed no single JSON document: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	return doc, errOut, code
}

func (w *world) remoteTags() string {
	return gitRun(w.t, w.origin, w.env, "tag", "--list")
}

func statusesOf(d publishDoc) string {
	var s []string
	for _, p := range d.Packages {
		s = append(s, p.Name+"="+p.Status)
	}
	return strings.Join(s, " ")
}

func TestE2EFirstReleaseOIDCThenCascade(t *testing.T) {
	w := newWorld(t)
	doc, stderr, code := w.publishJSON()
	if code != 0 || doc.Outcome != "ok" {
		t.Fatalf("exit %d, doc %+v\nstderr:\n%s", code, doc, stderr)
	}
	if got := statusesOf(doc); got != "core=published py-core=published js-core=published" {
		t.Errorf("statuses = %s", got)
	}
	for _, p := range doc.Packages {
		if p.Auth != "oidc" || p.TagState != "pushed" || p.Release == "" {
			t.Errorf("%s: %+v", p.Name, p)
		}
	}
	if tags := w.remoteTags(); tags != "core-v0.1.0\njs-core-v0.1.0\npy-core-v0.1.0" {
		t.Errorf("origin tags = %q", tags)
	}
	if v := w.crates.Versions("piot-core"); len(v) != 2 || v[1] != "0.1.0" {
		t.Errorf("crates versions = %v", v)
	}
	if f := w.pypi.Files("py-core", "0.1.0"); len(f) != 2 {
		t.Errorf("pypi files = %v", f)
	}
	if v := w.npm.Versions("js-core"); len(v) != 2 {
		t.Errorf("npm versions = %v", v)
	}
	// crates.io's short-lived token was revoked after the publish.
	for _, m := range w.crates.MintedTokens() {
		if !m.Revoked {
			t.Errorf("trusted-publishing token not revoked: %+v", m)
		}
	}
	if rels := w.gh.Releases("octo-org/octo-repo"); len(rels) != 3 || rels[0].Name == "" {
		t.Errorf("releases = %+v", rels)
	}
	// The manifests carry the version, formatting kept.
	if b, _ := os.ReadFile(filepath.Join(w.dir, "core/Cargo.toml")); !strings.Contains(string(b), "version = \"0.1.0\" # managed") {
		t.Errorf("Cargo.toml = %s", b)
	}

	// A re-run publishes nothing twice.
	doc, stderr, code = w.publishJSON()
	if code != 0 || doc.Outcome != "nothing-to-release" {
		t.Errorf("re-run: exit %d %+v\n%s", code, doc, stderr)
	}

	// A change to core cascades to both dependents.
	gitRun(t, w.dir, w.env, "checkout", "-q", "--", ".")
	writeFile(t, filepath.Join(w.dir, "core/src/lib.rs"), "pub fn f() {}\npub fn g() {}\n")
	gitRun(t, w.dir, w.env, "commit", "-q", "-am", "feat: g\n\nrelease: minor")
	w.artifacts("0.2.0")
	doc, stderr, code = w.publishJSON()
	if code != 0 || statusesOf(doc) != "core=published py-core=published js-core=published" {
		t.Fatalf("cascade: exit %d %s\n%s", code, statusesOf(doc), stderr)
	}
	if !strings.Contains(w.remoteTags(), "core-v0.2.0") || !strings.Contains(w.remoteTags(), "py-core-v0.2.0") {
		t.Errorf("tags = %s", w.remoteTags())
	}
}

func TestE2ETrustRefusalOnLastPackageUploadsNothing(t *testing.T) {
	w := newWorld(t)
	// npm's trusted publisher names another workflow: js-core is last in order.
	w.npm.AddTrustedPublisher("js-core", npmemu.TrustedPublisher{Owner: "octo-org", Repo: "octo-repo", Workflow: "patch-release.yml"})
	doc, stderr, code := w.publishJSON()
	if code != 1 || doc.Error == nil || doc.Error.Code != "PIOT_NPM_TRUST_REFUSED" {
		t.Fatalf("exit %d doc %+v\n%s", code, doc, stderr)
	}
	for _, want := range []string{"package not found", "presented workflow file (from workflow_ref): release.yml", "presented repository: octo-org/octo-repo", "nothing was published"} {
		if !strings.Contains(doc.Error.Message, want) {
			t.Errorf("error lacks %q:\n%s", want, doc.Error.Message)
		}
	}
	if n := len(w.crates.Attempts()); n != 0 {
		t.Errorf("crates.io got %d uploads", n)
	}
	if f := w.pypi.Files("py-core", "0.1.0"); len(f) != 0 {
		t.Errorf("pypi got %v", f)
	}
	if w.remoteTags() != "" {
		t.Errorf("tags pushed: %s", w.remoteTags())
	}
	minted := w.crates.MintedTokens()
	if len(minted) != 1 || !minted[0].Revoked {
		t.Errorf("the unused crates.io token must be revoked: %+v", minted)
	}
}

func TestE2EFailureAfterFirstUploadThenStatusAndRerun(t *testing.T) {
	w := newWorld(t)
	// core's upload lands but its answer is lost, and crates.io then
	// cannot be asked whether it landed: the run must stop before tagging.
	target, _ := url.Parse(w.crates.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	var once sync.Once
	front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			proxy.ServeHTTP(rw, r)
			return
		}
		landed := false
		once.Do(func() {
			proxy.ServeHTTP(httptest.NewRecorder(), r)
			w.crates.Faults.Add(fault.Rule{Method: http.MethodGet, PathPrefix: "/api/v1/crates/piot-core/0.1.0", Kind: fault.Status, Status: 503, Count: 100})
			landed = true
		})
		if !landed {
			proxy.ServeHTTP(rw, r)
			return
		}
		conn, _, _ := rw.(http.Hijacker).Hijack()
		conn.Close()
	}))
	defer front.Close()
	w.env["PUTITOUTTHERE_CRATES_IO_URL"] = front.URL
	doc, stderr, code := w.publishJSON()
	if code != 1 || doc.Error == nil {
		t.Fatalf("exit %d %+v\n%s", code, doc, stderr)
	}
	if statusesOf(doc) != "core=failed py-core=not-attempted js-core=not-attempted" {
		t.Errorf("statuses = %s", statusesOf(doc))
	}
	if !strings.Contains(stderr, "done: none; not done: core 0.1.0, py-core 0.1.0, js-core 0.1.0") {
		t.Errorf("stderr = %s", stderr)
	}
	w.crates.Faults.Clear()
	w.env["PUTITOUTTHERE_CRATES_IO_URL"] = w.crates.URL()
	for _, m := range w.crates.MintedTokens() {
		if !m.Revoked {
			t.Error("the exchanged crates.io token was not revoked after the failed publish")
		}
	}
	if v := w.crates.Versions("piot-core"); len(v) != 2 {
		t.Fatalf("the upload should have landed: %v", v)
	}
	// status shows the drift.
	out, serr, code := w.cli("status", "--json")
	if code != 0 {
		t.Fatalf("status exit %d\n%s%s", code, out, serr)
	}
	var st struct {
		Packages []struct {
			Name  string   `json:"name"`
			Drift []string `json:"drift"`
		} `json:"packages"`
	}
	json.Unmarshal([]byte(out), &st)
	if len(st.Packages) != 3 || len(st.Packages[0].Drift) != 1 || st.Packages[0].Drift[0] != "published-untagged" {
		t.Errorf("status = %s", out)
	}
	// The re-run publishes nothing twice, repairs core's tag and finishes.
	attempts := len(w.crates.Attempts())
	doc, stderr, code = w.publishJSON()
	if code != 0 || statusesOf(doc) != "core=already-published py-core=published js-core=published" {
		t.Fatalf("re-run: exit %d %s\n%s", code, statusesOf(doc), stderr)
	}
	if len(w.crates.Attempts()) != attempts {
		t.Error("core was uploaded again")
	}
	if tags := w.remoteTags(); tags != "core-v0.1.0\njs-core-v0.1.0\npy-core-v0.1.0" {
		t.Errorf("tags = %q", tags)
	}
	if rels := w.gh.Releases("octo-org/octo-repo"); len(rels) != 3 {
		t.Errorf("releases = %d", len(rels))
	}
}

func TestE2EHostileInputs(t *testing.T) {
	w := newWorld(t)
	// A tag_format that would do damage through a shell: refused before
	// anything happens, and never run.
	cfg := strings.Replace(e2eConfig, "path = \"core\"\n", "path = \"core\"\ntag_format = \"$(touch pwned) {name}-v{version}\"\n", 1)
	writeFile(t, filepath.Join(w.dir, "putitoutthere.toml"), cfg)
	out, stderr, code := w.cli("publish")
	if code != 2 || !strings.Contains(stderr, "PIOT_") || !strings.Contains(stderr, "tag") {
		t.Fatalf("hostile tag_format: exit %d\n%s\n%s", code, out, stderr)
	}
	t.Log(stderr)
	if _, err := os.Stat(filepath.Join(w.dir, "pwned")); err == nil {
		t.Fatal("a shell ran the tag name")
	}
	if len(w.crates.Attempts()) != 0 || len(w.runner.Calls()) != 0 {
		t.Errorf("side effects despite a bad tag: %v", w.runner.Calls())
	}

	// A package path escaping the repository through a symlink.
	writeFile(t, filepath.Join(w.dir, "putitoutthere.toml"), e2eConfig)
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "Cargo.toml"), "[package]\nname = \"piot-core\"\nversion = \"9.9.9\"\n")
	os.RemoveAll(filepath.Join(w.dir, "core"))
	if err := os.Symlink(outside, filepath.Join(w.dir, "core")); err != nil {
		t.Skip("no symlinks")
	}
	sout, serr, code := w.cli("publish")
	if code == 0 || !strings.Contains(sout+serr, "outside") {
		t.Errorf("symlinked path accepted: %d\n%s\n%s", code, sout, serr)
	}
	if len(w.crates.Attempts()) != 0 || len(w.runner.Calls()) != 0 {
		t.Error("side effects despite an escaping path")
	}
}

func TestE2EFaultsCompleteOrStopCleanly(t *testing.T) {
	w := newWorld(t)
	// 429 with Retry-After on crates.io reads, 503s on PyPI's upload, and an
	// upload that lands on PyPI but whose answer is lost.
	w.crates.Faults.Add(fault.Rule{Method: http.MethodGet, PathPrefix: "/api/v1/crates/piot-core", Kind: fault.Status, Status: 429, RetryAfter: "1", Count: 2})
	w.pypi.Faults.Add(fault.Rule{Method: http.MethodPost, PathPrefix: "/legacy/", Kind: fault.Status, Status: 503, Count: 2})
	w.pypi.Faults.Add(fault.Rule{Method: http.MethodPost, PathPrefix: "/legacy/", Kind: fault.LandThenDrop})
	// npm's PUT lands but the connection drops: settled by reading the packument.
	w.npm.Faults.Add(fault.Rule{Method: http.MethodPut, PathPrefix: "/js-core", Kind: fault.LandThenDrop})
	doc, stderr, code := w.publishJSON()
	if code != 0 || statusesOf(doc) != "core=published py-core=published js-core=published" {
		t.Fatalf("exit %d %s\n%s", code, statusesOf(doc), stderr)
	}
	if f := w.pypi.Files("py-core", "0.1.0"); len(f) != 2 {
		t.Errorf("pypi files = %v", f)
	}
	if v := w.npm.Versions("js-core"); len(v) != 2 {
		t.Errorf("npm versions = %v", v)
	}
	if w.crates.Faults.Hits() < 2 || w.pypi.Faults.Hits() < 3 || w.npm.Faults.Hits() != 1 {
		t.Errorf("faults not exercised: crates %d pypi %d npm %d", w.crates.Faults.Hits(), w.pypi.Faults.Hits(), w.npm.Faults.Hits())
	}
	if tags := w.remoteTags(); tags != "core-v0.1.0\njs-core-v0.1.0\npy-core-v0.1.0" {
		t.Errorf("tags = %q", tags)
	}

	// A registry that keeps failing: the run stops with a clear code and
	// nothing lost; a later run finishes.
	gitRun(t, w.dir, w.env, "checkout", "-q", "--", ".")
	writeFile(t, filepath.Join(w.dir, "py/mod.py"), "x = 1\n")
	gitRun(t, w.dir, w.env, "add", ".")
	gitRun(t, w.dir, w.env, "commit", "-q", "-m", "fix: py")
	w.artifacts("0.1.1")
	w.pypi.Faults.Add(fault.Rule{Method: http.MethodPost, PathPrefix: "/legacy/", Kind: fault.Status, Status: 503, Count: 100})
	doc, stderr, code = w.publishJSON()
	if code != 1 || doc.Error == nil || !strings.HasPrefix(doc.Error.Code, "PIOT_PYPI_") || statusesOf(doc) != "py-core=failed" {
		t.Fatalf("exit %d %s %+v\n%s", code, statusesOf(doc), doc.Error, stderr)
	}
	w.pypi.Faults.Clear()
	doc, stderr, code = w.publishJSON()
	if code != 0 || statusesOf(doc) != "py-core=published" {
		t.Fatalf("exit %d %s\n%s", code, statusesOf(doc), stderr)
	}
}

// TestE2ERealTools publishes with the real cargo and npm clients against the
// emulators (token auth: without a Sigstore service npm cannot sign
// provenance, which OIDC publishing turns on).
func TestE2ERealTools(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real cargo and npm")
	}
	for _, tool := range []string{"cargo", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	w := newWorld(t)
	newRunner = func(e env.Env, _ io.Writer) run.Runner { return run.Exec{Base: e} }
	delete(w.env, "ACTIONS_ID_TOKEN_REQUEST_URL")
	delete(w.env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if rh := os.Getenv("RUSTUP_HOME"); rh != "" {
		w.env["RUSTUP_HOME"] = rh
	} else if home, err := os.UserHomeDir(); err == nil {
		w.env["RUSTUP_HOME"] = filepath.Join(home, ".rustup")
	}
	cargoTok := crates.NewAPITokenString()
	w.crates.AddAPIToken(cargoTok)
	npmTok := "npm_" + strings.Repeat("R", 36)
	w.npm.AddUser("octocat", npmTok)
	pyTok, err := w.pypi.APIToken("octocat")
	if err != nil {
		t.Fatal(err)
	}
	w.env["CARGO_REGISTRY_TOKEN"], w.env["NODE_AUTH_TOKEN"], w.env["PYPI_API_TOKEN"] = cargoTok, npmTok, pyTok
	writeFile(t, filepath.Join(w.dir, ".gitignore"), "artifacts/\ntarget/\nCargo.lock\n")
	gitRun(t, w.dir, w.env, "commit", "-q", "-am", "chore: ignore build output")

	// The ecosystems' own dry runs accept the packages.
	doc, stderr, code := w.publishJSON("--dry-run")
	if code != 0 || statusesOf(doc) != "core=would-publish py-core=would-publish js-core=would-publish" {
		t.Fatalf("dry run: exit %d %s %+v\n%s", code, statusesOf(doc), doc.Error, stderr)
	}
	doc, stderr, code = w.publishJSON()
	if code != 0 || statusesOf(doc) != "core=published py-core=published js-core=published" {
		t.Fatalf("exit %d %s %+v\n%s", code, statusesOf(doc), doc.Error, stderr)
	}
	for _, p := range doc.Packages {
		if !strings.HasPrefix(p.Auth, "token (") {
			t.Errorf("%s auth = %s", p.Name, p.Auth)
		}
	}
	if v := w.crates.Versions("piot-core"); len(v) != 2 || v[1] != "0.1.0" {
		t.Errorf("crates.io versions = %v", v)
	}
	if v := w.npm.Versions("js-core"); len(v) != 2 {
		t.Errorf("npm versions = %v", v)
	}
	if strings.Contains(stderr, cargoTok) || strings.Contains(stderr, npmTok) {
		t.Error("token in output")
	}
}

func TestE2EDryRunAndPreflight(t *testing.T) {
	w := newWorld(t)
	doc, stderr, code := w.publishJSON("--dry-run")
	if code != 0 || statusesOf(doc) != "core=would-publish py-core=would-publish js-core=would-publish" {
		t.Fatalf("dry run: exit %d %s\n%s", code, statusesOf(doc), stderr)
	}
	for _, c := range w.runner.Calls() {
		if !strings.Contains(strings.Join(c.Args, " "), "--dry-run") {
			t.Errorf("a dry run ran %s %v", c.Name, c.Args)
		}
	}
	if len(w.crates.MintedTokens())+len(w.pypi.MintedTokens())+len(w.npm.MintedTokens()) != 0 || w.remoteTags() != "" {
		t.Error("the dry run had side effects")
	}
	if b, _ := os.ReadFile(filepath.Join(w.dir, "core/Cargo.toml")); !strings.Contains(string(b), "0.0.0") {
		t.Error("the dry run edited a manifest")
	}
	// Every problem is reported, not just the first.
	writeFile(t, filepath.Join(w.dir, "artifacts/js-core-pkg/package.json"), `{"name":"wrong","version":"0.0.0"}`)
	os.Remove(filepath.Join(w.dir, "artifacts/core-crate/piot-core-0.1.0.crate"))
	doc, _, code = w.publishJSON("--dry-run")
	if code != 1 || doc.Error == nil || doc.Error.Code != "PIOT_DRY_RUN_PROBLEMS" || !strings.Contains(doc.Error.Message, "core-crate") || !strings.Contains(doc.Error.Message, `"wrong"`) {
		t.Errorf("dry run problems: exit %d %+v", code, doc.Error)
	}
	// --preflight-check exchanges every token, then stops.
	w.artifacts("0.1.0")
	doc, stderr, code = w.publishJSON("--preflight-check")
	if code != 0 || statusesOf(doc) != "core=ready py-core=ready js-core=ready" {
		t.Fatalf("preflight: exit %d %s\n%s", code, statusesOf(doc), stderr)
	}
	if len(w.crates.Attempts()) != 0 || w.remoteTags() != "" {
		t.Error("preflight published")
	}
	if m := w.crates.MintedTokens(); len(m) != 1 || !m[0].Revoked {
		t.Errorf("preflight crates token: %+v", m)
	}
}

func TestE2EAuthPrecedence(t *testing.T) {
	w := newWorld(t)
	// Empty strings are unset: an unconfigured secret never shadows OIDC.
	w.env["CARGO_REGISTRY_TOKEN"], w.env["PYPI_API_TOKEN"], w.env["NODE_AUTH_TOKEN"] = "", "", ""
	doc, stderr, code := w.publishJSON("--preflight-check")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, p := range doc.Packages {
		if p.Auth != "oidc" {
			t.Errorf("empty tokens: %s auth = %s", p.Name, p.Auth)
		}
	}
	// Both present: crates.io takes CARGO_REGISTRY_TOKEN (no exchange); PyPI
	// and npm use OIDC.
	cargoTok := crates.NewAPITokenString()
	w.crates.AddAPIToken(cargoTok)
	w.env["CARGO_REGISTRY_TOKEN"], w.env["PYPI_API_TOKEN"], w.env["NPM_TOKEN"] = cargoTok, "pypi-unused-token-000000", "npm_unused_token_0000000000000000000000"
	minted := len(w.crates.MintedTokens())
	doc, stderr, code = w.publishJSON()
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := map[string]string{}
	for _, p := range doc.Packages {
		got[p.Name] = p.Auth
	}
	if got["core"] != "token (CARGO_REGISTRY_TOKEN)" || got["py-core"] != "oidc" || got["js-core"] != "oidc" {
		t.Errorf("auth = %v", got)
	}
	if len(w.crates.MintedTokens()) != minted {
		t.Error("crates.io exchange ran although CARGO_REGISTRY_TOKEN is set")
	}
	// No OIDC at all: the tokens are used (covered with real tools in
	// TestE2ERealTools); without tokens either, nothing happens.
	delete(w.env, "ACTIONS_ID_TOKEN_REQUEST_URL")
	w.env["CARGO_REGISTRY_TOKEN"], w.env["PYPI_API_TOKEN"], w.env["NPM_TOKEN"] = "", "", ""
	gitRun(t, w.dir, w.env, "checkout", "-q", "--", ".")
	writeFile(t, filepath.Join(w.dir, "core/src/lib.rs"), "pub fn z() {}\n")
	gitRun(t, w.dir, w.env, "commit", "-q", "-am", "fix: z")
	w.artifacts("0.1.1")
	doc, _, code = w.publishJSON()
	if code != 1 || doc.Error == nil || doc.Error.Code != "PIOT_AUTH_MISSING" {
		t.Errorf("no credentials: exit %d %+v", code, doc.Error)
	}
}

func TestE2ETimeoutStopsCleanly(t *testing.T) {
	w := newWorld(t)
	w.pypi.Faults.Add(fault.Rule{Method: http.MethodPost, PathPrefix: "/legacy/", Kind: fault.Hang, Count: 100})
	start := time.Now()
	doc, stderr, code := w.publishJSON("--timeout", "1500ms")
	if code != 1 || doc.Error == nil {
		t.Fatalf("exit %d %+v\n%s", code, doc, stderr)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
	if statusesOf(doc) != "core=published py-core=failed js-core=not-attempted" {
		t.Errorf("statuses = %s (%s)", statusesOf(doc), doc.Error.Message)
	}
	w.pypi.Faults.Clear()
	// The crates.io token exchanged for core was revoked despite the deadline.
	for _, m := range w.crates.MintedTokens() {
		if !m.Revoked {
			t.Error("token not revoked after the timeout")
		}
	}
	doc, stderr, code = w.publishJSON()
	// core was tagged before the deadline, so it is no longer in the plan.
	if code != 0 || statusesOf(doc) != "py-core=published js-core=published" {
		t.Fatalf("re-run: exit %d %s\n%s", code, statusesOf(doc), stderr)
	}
}

func TestE2EReleaseRepairAfterTagPushed(t *testing.T) {
	w := newWorld(t)
	// GitHub fails the release of the first package after its tag was pushed.
	w.gh.Faults.Add(fault.Rule{Method: http.MethodPost, PathPrefix: "/repos/octo-org/octo-repo/releases", Kind: fault.Status, Status: 503, Count: 100})
	doc, stderr, code := w.publishJSON()
	if code != 1 || doc.Error == nil || doc.Error.Code != "PIOT_RELEASE_FAILED" {
		t.Fatalf("exit %d %+v\n%s", code, doc.Error, stderr)
	}
	if w.remoteTags() != "core-v0.1.0" {
		t.Fatalf("tags = %q", w.remoteTags())
	}
	w.gh.Faults.Clear()
	// The re-run's plan no longer holds core (it is tagged), yet its release
	// is created, once.
	doc, stderr, code = w.publishJSON()
	if code != 0 || statusesOf(doc) != "py-core=published js-core=published" {
		t.Fatalf("re-run: exit %d %s\n%s", code, statusesOf(doc), stderr)
	}
	rels := map[string]int{}
	for _, r := range w.gh.Releases("octo-org/octo-repo") {
		rels[r.TagName]++
	}
	if len(rels) != 3 || rels["core-v0.1.0"] != 1 {
		t.Errorf("releases = %v", rels)
	}
	// Another run at the same commit changes nothing.
	doc, _, code = w.publishJSON()
	if code != 0 || doc.Outcome != "nothing-to-release" || len(w.gh.Releases("octo-org/octo-repo")) != 3 {
		t.Errorf("third run: %d %+v", code, doc)
	}
}
