package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/cratefile"
	"github.com/putitoutthere/putitoutthere/internal/emulator"
	"github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/pydist/pydisttest"
)

// The polyglot monorepo's shape (a Rust core under a Cargo workspace, npm
// and Python packages beside it), with a sibling that requires the core in
// each ecosystem and declares no depends_on. The cores go 0.1.0 → 1.0.0:
// plan releases every dependent with the requirement as its reason, the
// build job's prepare stamps versions and requirements, publish ships
// everything with the real cargo and npm and PyPI's upload API, and the
// dependents install against the new cores from the emulators with the real
// cargo, npm and pip.
const monoConfig = `[putitoutthere]
version = 1

[[package]]
name = "core"
kind = "crates"
path = "crates/core"
paths = ["crates/core/**"]
crate = "mono-core"

[[package]]
name = "app"
kind = "crates"
path = "crates/app"
paths = ["crates/app/**"]
crate = "mono-app"

[[package]]
name = "core-js"
kind = "npm"
path = "npm/core"
paths = ["npm/core/**"]
npm = "mono-core-js"

[[package]]
name = "cli"
kind = "npm"
path = "npm/cli"
paths = ["npm/cli/**"]
npm = "mono-cli"

[[package]]
name = "core-py"
kind = "pypi"
path = "python/core"
paths = ["python/core/**"]
pypi = "mono-core"

[[package]]
name = "utils"
kind = "pypi"
path = "python/utils"
paths = ["python/utils/**"]
pypi = "mono-utils"
`

var monoFiles = map[string]string{
	"putitoutthere.toml": monoConfig,
	".gitignore":         "artifacts/\ntarget/\nCargo.lock\nnode_modules/\n",
	"Cargo.toml":         "[workspace]\nresolver = \"2\"\nmembers = [\"crates/core\", \"crates/app\"]\n\n[workspace.package]\nlicense = \"MIT\"\nedition = \"2021\"\n",
	"crates/core/Cargo.toml": `[package]
name = "mono-core"
version = "0.1.0"
edition.workspace = true
license.workspace = true
description = "the core"
`,
	"crates/core/src/lib.rs": "pub fn answer() -> u32 { 42 }\n",
	"crates/app/Cargo.toml": `[package]
name = "mono-app"
version = "0.1.0"
edition.workspace = true
license.workspace = true
description = "uses the core"

[dependencies]
mono-core = { path = "../core", version = "0.1.0" } # the sibling
`,
	"crates/app/src/lib.rs":      "pub fn twice() -> u32 { mono_core::answer() * 2 }\n",
	"npm/core/package.json":      "{\n  \"name\": \"mono-core-js\",\n  \"version\": \"0.1.0\",\n  \"main\": \"index.js\",\n  \"license\": \"MIT\"\n}\n",
	"npm/core/index.js":          "module.exports = 42\n",
	"npm/cli/package.json":       "{\n  \"name\": \"mono-cli\",\n  \"version\": \"0.1.0\",\n  \"main\": \"index.js\",\n  \"license\": \"MIT\",\n  \"dependencies\": {\n    \"mono-core-js\": \"^0.1.0\"\n  }\n}\n",
	"npm/cli/index.js":           "module.exports = require('mono-core-js') * 2\n",
	"python/core/pyproject.toml": "[project]\nname = \"mono-core\"\nversion = \"0.1.0\"\n",
	"python/utils/pyproject.toml": `[project]
name = "mono-utils"
version = "0.1.0"
dependencies = [
    "mono-core==0.1.0",  # the sibling, pinned
]
`,
}

func TestE2EMonorepoSiblingsRealClients(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real cargo, npm and pip")
	}
	for _, tool := range []string{"git", "cargo", "npm", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	if exec.Command("python3", "-m", "pip", "--version").Run() != nil {
		t.Skip("pip not installed")
	}
	set, err := emulator.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Close)
	cargoTok := crates.NewAPITokenString()
	set.Crates.AddAPIToken(cargoTok)
	npmTok := "npm_" + strings.Repeat("M", 36)
	set.NPM.AddUser("octocat", npmTok)
	pyTok, err := set.PyPI.APIToken("octocat")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	e := env.Env{
		"PATH": os.Getenv("PATH"), "HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": filepath.Join(home, "gitconfig"),
		"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
		"PUTITOUTTHERE_CRATES_IO_URL": set.Crates.URL(), "PUTITOUTTHERE_NPM_REGISTRY": set.NPM.URL(),
		"CARGO_REGISTRY_TOKEN": cargoTok, "NODE_AUTH_TOKEN": npmTok, "PYPI_API_TOKEN": pyTok,
	}
	if rh := os.Getenv("RUSTUP_HOME"); rh != "" {
		e["RUSTUP_HOME"] = rh
	} else if h, err := os.UserHomeDir(); err == nil {
		e["RUSTUP_HOME"] = filepath.Join(h, ".rustup")
	}
	for k, v := range set.PyPI.Env() {
		e[k] = v
	}
	// The 0.1.0 releases are already on the registries.
	set.Crates.CreateCrate("mono-core", crates.DefaultUser)
	set.Crates.AddVersion("mono-core", "0.1.0")
	set.Crates.CreateCrate("mono-app", crates.DefaultUser)
	set.Crates.AddVersion("mono-app", "0.1.0")
	for _, n := range []string{"mono-core-js", "mono-cli"} {
		if err := set.NPM.CreatePackageVersion(n, "octocat", "0.1.0"); err != nil {
			t.Fatal(err)
		}
	}

	dir, origin := t.TempDir(), t.TempDir()
	for rel, body := range monoFiles {
		writeFile(t, filepath.Join(dir, rel), body)
	}
	gitRun(t, origin, e, "init", "-q", "--bare")
	gitRun(t, dir, e, "init", "-q", "-b", "main")
	gitRun(t, dir, e, "add", ".")
	gitRun(t, dir, e, "commit", "-q", "-m", "initial")
	for _, tag := range []string{"core-v0.1.0", "app-v0.1.0", "core-js-v0.1.0", "cli-v0.1.0", "core-py-v0.1.0", "utils-v0.1.0"} {
		gitRun(t, dir, e, "tag", tag)
	}
	gitRun(t, dir, e, "commit", "-q", "--allow-empty", "-m", "stable apis", "-m", "release: major [core, core-js, core-py]")
	gitRun(t, dir, e, "remote", "add", "origin", origin)
	gitRun(t, dir, e, "push", "-q", "origin", "main", "--tags")

	run := func(cwd string, args ...string) (string, string, int) {
		cliMu.Lock()
		defer cliMu.Unlock()
		var out, errb bytes.Buffer
		code := MainEnv(t.Context(), append([]string{"--cwd", cwd}, args...), Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, e)
		return out.String(), errb.String(), code
	}

	// plan: every dependent is released, with the requirement as the reason.
	out, stderr, code := run(dir, "plan")
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		`app      crates  0.1.1`, `requires core "0.1.0", which does not accept 1.0.0: rewritten to "1.0.0"`,
		`requires core-js "^0.1.0", which does not accept 1.0.0: rewritten to "^1.0.0"`,
		`requires core-py "==0.1.0", which does not accept 1.0.0: rewritten to "==1.0.0"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}

	// The build job: a fresh checkout stamped by prepare, then built.
	build := t.TempDir()
	gitRun(t, build, e, "clone", "-q", "-b", "main", origin, ".")
	if out, stderr, code := run(build, "prepare", "--package", "app"); code != 0 {
		t.Fatalf("prepare: exit %d\n%s\n%s", code, out, stderr)
	}
	art := filepath.Join(dir, "artifacts")
	for _, c := range []struct{ name, crate, path, version string }{{"core", "mono-core", "crates/core", "1.0.0"}, {"app", "mono-app", "crates/app", "0.1.1"}} {
		cargo, err := manifest.PackagedCargoToml(filepath.Join(build, c.path), c.version)
		if err != nil {
			t.Fatal(err)
		}
		src, _ := os.ReadFile(filepath.Join(build, c.path, "src", "lib.rs"))
		writeFile(t, filepath.Join(art, c.name+"-crate", c.crate+"-"+c.version+".crate"),
			string(cratefile.Build(c.crate, c.version, map[string]string{"Cargo.toml": string(cargo), "src/lib.rs": string(src)})))
	}
	for _, c := range []struct{ name, path string }{{"core-js", "npm/core"}, {"cli", "npm/cli"}} {
		for _, f := range []string{"package.json", "index.js"} {
			b, _ := os.ReadFile(filepath.Join(build, c.path, f))
			writeFile(t, filepath.Join(art, c.name+"-pkg", f), string(b))
		}
	}
	for _, c := range []struct{ name, dist, path, version string }{{"core-py", "mono-core", "python/core", "1.0.0"}, {"utils", "mono-utils", "python/utils", "0.1.1"}} {
		// The build backend writes the stamped requirements as Requires-Dist.
		data, _ := os.ReadFile(filepath.Join(build, c.path, "pyproject.toml"))
		deps, err := manifest.PythonDeps(data)
		if err != nil {
			t.Fatal(err)
		}
		spec := pydisttest.Spec{Name: c.dist, Version: c.version}
		for _, d := range deps {
			spec.Extra = append(spec.Extra, [2]string{"Requires-Dist", d.Name + d.Req})
		}
		if err := os.MkdirAll(filepath.Join(art, c.name+"-sdist"), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, _, err := pydisttest.WriteBoth(filepath.Join(art, c.name+"-sdist"), spec); err != nil {
			t.Fatal(err)
		}
	}

	// publish, with the real cargo and npm.
	out, stderr, code = run(dir, "publish", "--json")
	var doc publishDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("publish: exit %d %v\n%s\n%s", code, err, out, stderr)
	}
	if got := statusesOf(doc); got != "core=published app=published core-js=published cli=published core-py=published utils=published" {
		t.Fatalf("statuses = %s\n%s", got, stderr)
	}
	if !strings.Contains(stderr, `app: requirement on core in crates/app/Cargo.toml [dependencies] rewritten: "0.1.0" → "1.0.0"`) {
		t.Errorf("publish did not say it rewrote app's requirement:\n%s", stderr)
	}

	// cargo: a consumer of mono-app 0.1.1 resolves mono-core 1.0.0 from the emulator.
	consumer := t.TempDir()
	writeFile(t, filepath.Join(consumer, "Cargo.toml"), "[package]\nname = \"consumer\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[dependencies]\nmono-app = \"=0.1.1\"\n")
	writeFile(t, filepath.Join(consumer, "src", "lib.rs"), "")
	cargo := exec.Command("cargo", "generate-lockfile", "--config", `source.crates-io.replace-with="piot"`)
	cargo.Dir = consumer
	cargo.Env = append(e.List(), "CARGO_HOME="+filepath.Join(home, ".cargo-consumer"), "CARGO_REGISTRIES_PIOT_INDEX="+set.Crates.IndexURL(),
		"CARGO_REGISTRIES_PIOT_TOKEN="+cargoTok, "CARGO_REGISTRY_GLOBAL_CREDENTIAL_PROVIDERS=cargo:token", "CARGO_NET_RETRY=0")
	if b, err := cargo.CombinedOutput(); err != nil {
		t.Fatalf("cargo generate-lockfile: %v\n%s", err, b)
	}
	lock, _ := os.ReadFile(filepath.Join(consumer, "Cargo.lock"))
	if !strings.Contains(string(lock), "name = \"mono-core\"\nversion = \"1.0.0\"") {
		t.Errorf("cargo did not resolve mono-core 1.0.0 for mono-app 0.1.1:\n%s", lock)
	}

	// npm: installing mono-cli 0.1.1 brings mono-core-js 1.0.0.
	npmDir := t.TempDir()
	writeFile(t, filepath.Join(npmDir, "package.json"), `{"name":"consumer","version":"0.0.0","private":true}`)
	npm := exec.Command("npm", "install", "mono-cli@0.1.1", "--registry", set.NPM.URL(), "--no-audit", "--no-fund", "--fetch-retries=0")
	npm.Dir = npmDir
	npm.Env = append(e.List(), "npm_config_cache="+filepath.Join(home, ".npm-consumer"), "npm_config_userconfig="+filepath.Join(home, ".npmrc-none"))
	if b, err := npm.CombinedOutput(); err != nil {
		t.Fatalf("npm install: %v\n%s", err, b)
	}
	pj, _ := os.ReadFile(filepath.Join(npmDir, "node_modules", "mono-core-js", "package.json"))
	if !strings.Contains(string(pj), `"version": "1.0.0"`) && !strings.Contains(string(pj), `"version":"1.0.0"`) {
		t.Errorf("npm installed mono-core-js:\n%s", pj)
	}
	node := exec.Command("node", "-e", "process.stdout.write(String(require('mono-cli')))")
	node.Dir = npmDir
	if b, err := node.Output(); err != nil || string(b) != "84" {
		t.Errorf("require('mono-cli') = %q, %v", b, err)
	}

	// pip: installing mono-utils 0.1.1 brings mono-core 1.0.0.
	target := t.TempDir()
	pip := exec.Command("python3", "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check", "--index-url", set.PyPI.URL()+"/simple/",
		"--target", target, "mono-utils==0.1.1")
	pip.Env = append(e.List(), "PIP_CONFIG_FILE=/dev/null")
	if b, err := pip.CombinedOutput(); err != nil {
		t.Fatalf("pip install: %v\n%s", err, b)
	}
	for _, want := range []string{"mono_core-1.0.0.dist-info", "mono_utils-0.1.1.dist-info"} {
		if _, err := os.Stat(filepath.Join(target, want)); err != nil {
			entries, _ := os.ReadDir(target)
			var names []string
			for _, en := range entries {
				names = append(names, en.Name())
			}
			t.Errorf("pip did not install %s: %v", want, names)
		}
	}
}
