package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	"github.com/putitoutthere/putitoutthere/internal/env"
)

const upstreamConfig = `[putitoutthere]
version = 1

[[package]]
name = "app"
kind = "crates"
crate = "acme-app"
path = "crates/app"
paths = ["crates/app/**"]

[package.trust_policy]
workflow = "release.yml"
environment = "release"
repository = "acme/mono"
`

// rehearse of a crate with a dependency the emulator does not hold: the
// crates.io emulator passes through to an upstream registry (a second
// emulator standing in for crates.io), so the real cargo resolves, builds
// and publishes it. With the upstream unreachable, the rehearsal names the
// dependency it could not resolve.
func TestRehearseCrateWithUpstreamDependencies(t *testing.T) {
	if _, err := exec.LookPath("cargo"); err != nil {
		t.Skip("cargo is not installed")
	}
	up, err := crates.Start(crates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	up.AddVersion("piot-updep", "1.4.0")

	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"putitoutthere.toml":            upstreamConfig,
		".github/workflows/release.yml": rehearseWorkflow,
		"crates/app/Cargo.toml":         "[package]\nname = \"acme-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\ndescription = \"app\"\nlicense = \"MIT\"\n\n[dependencies]\npiot-updep = \"1\"\n",
		"crates/app/src/lib.rs":         "pub fn f() {}\n",
	})
	gitIn(t, dir, "init", "-q", "-b", "main")
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-qm", "initial")
	gitIn(t, dir, "remote", "add", "origin", "https://github.com/acme/mono.git")

	run := func(upstream string) (int, string) {
		home := t.TempDir()
		e := env.Env{"PATH": os.Getenv("PATH"), "HOME": home, "CARGO_REGISTRY_TOKEN": "placeholder",
			EnvRehearseCratesUpstream: upstream, "CARGO_TARGET_DIR": filepath.Join(home, "target")}
		if rh := os.Getenv("RUSTUP_HOME"); rh != "" {
			e["RUSTUP_HOME"] = rh
		} else if h, err := os.UserHomeDir(); err == nil {
			if _, err := os.Stat(filepath.Join(h, ".rustup")); err == nil {
				e["RUSTUP_HOME"] = filepath.Join(h, ".rustup")
			}
		}
		var out, errb bytes.Buffer
		code := MainEnv(context.Background(), []string{"--cwd", dir, "rehearse"}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, e)
		return code, out.String() + errb.String()
	}

	code, out := run(up.IndexURL())
	if code != 0 || !strings.Contains(out, "rehearsal passed") {
		t.Fatalf("rehearse with an upstream: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "every other crate (dependencies) is read from "+up.IndexURL()) {
		t.Errorf("the upstream is not named:\n%s", out)
	}

	code, out = run("sparse+http://127.0.0.1:1/index/")
	if code != 1 || !strings.Contains(out, "PIOT_REHEARSE_DEPENDENCIES_UNRESOLVED") || !strings.Contains(out, "piot-updep (upstream http://127.0.0.1:1/index/ unreachable") {
		t.Fatalf("rehearse offline: exit %d\n%s", code, out)
	}
}

// Without artifacts, rehearse's PyPI stand-ins carry pyproject.toml's
// metadata, so a refusal PyPI would give (here an invalid classifier) is
// reproduced, named by its rule, before anything is uploaded.
func TestRehearsePyPIMetadataRefusal(t *testing.T) {
	dir := rehearsalRepo(t, rehearseWorkflow, false)
	writeFiles(t, dir, map[string]string{"py/utils/pyproject.toml": "[project]\nname = \"rehearse-utils\"\nversion = \"0.1.0\"\nlicense = \"MIT\"\nclassifiers = [\"Programming Language :: Python :: 3\", \"Framework :: Nope\"]\n"})
	gitIn(t, dir, "commit", "-qam", "utils: classifiers")
	code, out, _ := rehearseIn(t, dir)
	if code != 1 || !strings.Contains(out, "PIOT_REGISTRY_RULE") || !strings.Contains(out, "rule pypi/classifier-invalid") || !strings.Contains(out, "'Framework :: Nope' is not a valid classifier.") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if strings.Contains(out, `"path": "/legacy/"`) {
		t.Fatal("uploaded despite the refusal")
	}
}
