package crates

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/cratefile"
	piotenv "github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/registry/cratesio"
)

// TestRealCargo proves the emulator speaks cargo's protocol: real `cargo
// publish` against the sparse index with token auth, a dependent crate
// resolved and downloaded from it, a duplicate publish, a bad token, a
// missing-license refusal and a trusted-publishing token from the exchange.
// cargo is pointed at the emulator exactly as the publish handler does it,
// through cratesio.Client.PublishArgs/PublishEnv.
func TestRealCargo(t *testing.T) {
	e := newEnv(t, Options{})
	apiToken := NewAPITokenString()
	e.s.AddAPIToken(apiToken)
	k := newCargoKit(t, e.s)
	client, writeCrate, run, publish := k.client, k.writeCrate, k.run, k.publish
	meta := "description = \"test crate\"\nlicense = \"MIT\"\n"

	// 1. first publish, with cargo's verify build
	alpha := writeCrate("alpha", "piot-alpha", "0.1.0", meta, "pub fn alpha() -> u32 { 1 }\n")
	if out, err := publish(alpha, apiToken); err != nil {
		t.Fatalf("cargo publish alpha: %v\n%s", err, out)
	}
	if got := e.s.Versions("piot-alpha"); len(got) != 1 || got[0] != "0.1.0" {
		t.Fatalf("versions after publish: %v", got)
	}
	if ok, err := client.VersionExists(context.Background(), "piot-alpha", "0.1.0"); err != nil || !ok {
		t.Fatalf("VersionExists = %v, %v", ok, err)
	}

	// 2. a dependent crate resolves and downloads alpha from the emulator
	beta := writeCrate("beta", "piot-beta", "0.1.0", meta+"\n[dependencies]\npiot-alpha = \"0.1.0\"\n", "pub fn beta() -> u32 { piot_alpha::alpha() + 1 }\n")
	if out, err := run(beta, apiToken, "generate-lockfile", "--config", `source.crates-io.replace-with="piot"`); err != nil {
		t.Fatalf("generate-lockfile: %v\n%s", err, out)
	}
	lock, _ := os.ReadFile(filepath.Join(beta, "Cargo.lock"))
	data, _ := e.s.CrateData("piot-alpha", "0.1.0")
	info, err := readCksum(data)
	if err != nil || !strings.Contains(string(lock), "name = \"piot-alpha\"") || !strings.Contains(string(lock), info) {
		t.Fatalf("Cargo.lock does not pin alpha with the index checksum %s:\n%s", info, lock)
	}
	if out, err := publish(beta, apiToken); err != nil {
		t.Fatalf("cargo publish beta: %v\n%s", err, out)
	} else if !strings.Contains(out, "Compiling piot-alpha v0.1.0") {
		t.Fatalf("beta's verify build did not use alpha from the emulator:\n%s", out)
	}

	// beta's index line names alpha as a dependency of this registry
	res, err := http.Get(e.s.URL() + "/index/pi/ot/piot-beta")
	if err != nil {
		t.Fatal(err)
	}
	line, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(line), `"deps":[{"name":"piot-alpha","req":"^0.1.0"`) || strings.Contains(string(line), `"registry"`) {
		t.Fatalf("beta index line: %s", line)
	}

	// 3. the same version again: cargo refuses from the index
	out, err := publish(alpha, apiToken, "--no-verify")
	if err == nil || !strings.Contains(out, "crate piot-alpha@0.1.0 already exists on `piot` index") {
		t.Fatalf("duplicate publish: err=%v\n%s", err, out)
	}

	// 4. a bad token: crates.io's 403 text reaches the user
	writeCrate("alpha", "piot-alpha", "0.2.0", meta, "pub fn alpha() -> u32 { 2 }\n")
	out, err = publish(alpha, "cio"+strings.Repeat("x", 32), "--no-verify")
	if err == nil || !strings.Contains(out, "(status 403 Forbidden): authentication failed") {
		t.Fatalf("bad token: err=%v\n%s", err, out)
	}

	// 5. crates.io's required fields come from the uploaded Cargo.toml
	gamma := writeCrate("gamma", "piot-gamma", "0.1.0", "description = \"no license\"\n", "")
	out, err = publish(gamma, apiToken, "--no-verify")
	if err == nil || !strings.Contains(out, "missing or empty metadata fields: license.") {
		t.Fatalf("missing license: err=%v\n%s", err, out)
	}

	// 6. trusted publishing: exchange, publish with the cio_tp_ token, revoke
	e.s.AddGitHubConfig("piot-alpha", GitHubConfig{Owner: "octo-org", Repo: "octo-repo", OwnerID: 65, Workflow: "release.yml"})
	jwt := e.mint()
	tp, err := client.ExchangeToken(context.Background(), jwt)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if out, err := publish(alpha, tp, "--no-verify"); err != nil {
		t.Fatalf("publish with trusted-publishing token: %v\n%s", err, out)
	}
	if err := client.RevokeToken(context.Background(), tp); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if m := e.s.MintedTokens(); len(m) != 1 || !m[0].Revoked {
		t.Fatalf("minted = %+v", m)
	}
	writeCrate("alpha", "piot-alpha", "0.3.0", meta, "")
	out, err = publish(alpha, tp, "--no-verify")
	if err == nil || !strings.Contains(out, "Invalid authentication token") {
		t.Fatalf("revoked token: err=%v\n%s", err, out)
	}
	if got := strings.Join(e.s.Versions("piot-alpha"), ","); got != "0.1.0,0.2.0" {
		t.Fatalf("versions = %s", got)
	}

	// 7. cargo yank through the API token
	if out, err := run(alpha, apiToken, "yank", "--version", "0.1.0", "piot-alpha", "--registry", cratesio.RegistryAlias); err != nil {
		t.Fatalf("cargo yank: %v\n%s", err, out)
	}
	res, err = http.Get(e.s.URL() + "/index/pi/ot/piot-alpha")
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(idx), `"vers":"0.1.0","deps":[],"cksum"`) || !strings.Contains(string(idx), `"yanked":true`) {
		t.Fatalf("index after yank: %s", idx)
	}
}

// cargoKit runs the real cargo against an emulator, in a temp CARGO_HOME,
// pointed at it exactly as the publish handler does (PublishArgs/PublishEnv).
type cargoKit struct {
	t       *testing.T
	cargo   string
	work    string
	baseEnv []string
	client  *cratesio.Client
}

func newCargoKit(t *testing.T, s *Server) *cargoKit {
	t.Helper()
	cargo, err := exec.LookPath("cargo")
	if err != nil {
		t.Skip("cargo is not installed; skipping the real-client conformance test")
	}
	k := &cargoKit{t: t, cargo: cargo, work: t.TempDir()}
	k.client = cratesio.New(piotenv.Env{cratesio.EnvURL: s.URL()}, &httpx.Client{Policy: httpx.Policy{Attempts: 1}})
	cargoHome := filepath.Join(k.work, "cargo-home")
	if err := os.MkdirAll(cargoHome, 0o755); err != nil {
		t.Fatal(err)
	}
	k.baseEnv = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"CARGO_HOME=" + cargoHome, "CARGO_TARGET_DIR=" + filepath.Join(k.work, "target"),
		"CARGO_TERM_COLOR=never", "CARGO_NET_RETRY=0", "CARGO_HTTP_TIMEOUT=10",
	}
	for _, name := range []string{"RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "TMPDIR"} {
		if v := os.Getenv(name); v != "" {
			k.baseEnv = append(k.baseEnv, name+"="+v)
		}
	}
	if os.Getenv("RUSTUP_HOME") == "" {
		// rustup finds toolchains under the real home even with CARGO_HOME moved
		if home, err := os.UserHomeDir(); err == nil {
			if _, err := os.Stat(filepath.Join(home, ".rustup")); err == nil {
				k.baseEnv = append(k.baseEnv, "RUSTUP_HOME="+filepath.Join(home, ".rustup"))
			}
		}
	}
	return k
}

func (k *cargoKit) writeCrate(dir, name, version, extra, lib string) string {
	p := filepath.Join(k.work, dir)
	if err := os.MkdirAll(filepath.Join(p, "src"), 0o755); err != nil {
		k.t.Fatal(err)
	}
	manifest := "[package]\nname = \"" + name + "\"\nversion = \"" + version + "\"\nedition = \"2021\"\n" + extra
	if err := os.WriteFile(filepath.Join(p, "Cargo.toml"), []byte(manifest), 0o644); err != nil {
		k.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "src", "lib.rs"), []byte(lib), 0o644); err != nil {
		k.t.Fatal(err)
	}
	return p
}

func (k *cargoKit) run(dir, token string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.cargo, args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string{}, k.baseEnv...), k.client.PublishEnv(token)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (k *cargoKit) publish(dir, token string, extra ...string) (string, error) {
	args := append([]string{"publish", "--allow-dirty"}, k.client.PublishArgs()...)
	return k.run(dir, token, append(args, extra...)...)
}

// TestRealCargoPrivateRegistry: with AuthRequired, cargo authenticates its
// index and download reads with the registry token.
func TestRealCargoPrivateRegistry(t *testing.T) {
	e := newEnv(t, Options{AuthRequired: true})
	tok := NewAPITokenString()
	e.s.AddAPIToken(tok)
	k := newCargoKit(t, e.s)
	meta := "description = \"private\"\nlicense = \"MIT\"\n"
	a := k.writeCrate("pa", "priv-alpha", "0.1.0", meta, "pub fn a() {}\n")
	if out, err := k.publish(a, tok, "--no-verify"); err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	b := k.writeCrate("pb", "priv-beta", "0.1.0", meta+"\n[dependencies]\npriv-alpha = \"0.1.0\"\n", "")
	if out, err := k.run(b, tok, "fetch", "--config", `source.crates-io.replace-with="piot"`); err != nil {
		t.Fatalf("fetch: %v\n%s", err, out)
	}
	out, err := k.run(b, "cio"+strings.Repeat("y", 32), "generate-lockfile", "--config", `source.crates-io.replace-with="piot"`)
	if err == nil || !strings.Contains(out, "401") {
		t.Fatalf("bad token read: err=%v\n%s", err, out)
	}
}

func readCksum(data []byte) (string, error) {
	info, err := cratefile.Parse(data)
	if err != nil {
		return "", err
	}
	return info.Checksum, nil
}
