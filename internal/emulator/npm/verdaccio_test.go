package npm_test

// Cross-check against Verdaccio, a real registry implementation: the same
// tarball published to Verdaccio and to the emulator must read back the same
// through our client (existence, versions, integrity, dist-tags).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	npmreg "github.com/putitoutthere/putitoutthere/internal/registry/npm"
)

// verdaccioBin finds Verdaccio: $PIOT_VERDACCIO, the pinned install made by
// .ci/run (`npm ci --prefix .ci/verdaccio`), or one on PATH.
func verdaccioBin(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping Verdaccio")
	}
	if p := os.Getenv("PIOT_VERDACCIO"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	for _, p := range []string{
		filepath.Join(root, ".ci", "verdaccio", "node_modules", ".bin", "verdaccio"),
		filepath.Join(root, ".ci", "tools", "node_modules", ".bin", "verdaccio"),
	} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("verdaccio"); err == nil {
		return p
	}
	t.Skip("Verdaccio is not installed: run `npm ci --prefix .ci/verdaccio` (as .ci/run does) or set PIOT_VERDACCIO")
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startVerdaccio runs Verdaccio on a free loopback port with storage in a
// temp dir and no uplinks, so it never reaches the network. The returned
// function waits until it answers and gives the registry URL and a token for
// a freshly created user; callers do other work while Node starts.
func startVerdaccio(t *testing.T) func() (string, string) {
	t.Helper()
	bin := verdaccioBin(t)
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed; Verdaccio needs it")
	}
	dir := t.TempDir()
	port := freePort(t)
	cfg := fmt.Sprintf(`storage: %s
auth:
  htpasswd:
    file: %s
    max_users: 100
uplinks: {}
packages:
  '@*/*':
    access: $all
    publish: $authenticated
  '**':
    access: $all
    publish: $authenticated
web:
  enable: false
log: { type: stdout, format: pretty, level: warn }
`, filepath.Join(dir, "storage"), filepath.Join(dir, "htpasswd"))
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "--config", cfgPath, "--listen", addr)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting verdaccio: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	return func() (string, string) { return waitVerdaccio(t, "http://"+addr+"/", &logs) }
}

func waitVerdaccio(t *testing.T, base string, logs *bytes.Buffer) (string, string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(base + "-/ping")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("verdaccio did not come up on %s:\n%s", base, logs.String())
		}
		time.Sleep(100 * time.Millisecond) // waiting on an external process
	}

	body, _ := json.Marshal(map[string]string{"name": "alice", "password": "correct-horse-battery", "email": "alice@example.com"})
	req, _ := http.NewRequest(http.MethodPut, base+"-/user/org.couchdb.user:alice", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 201 || out.Token == "" {
		t.Fatalf("creating the verdaccio user: %d %v", res.StatusCode, err)
	}
	return base, out.Token
}

func TestVerdaccioAgreesWithEmulator(t *testing.T) {
	t.Parallel()
	ready := startVerdaccio(t)
	emu := startNPM(t, npmemu.Options{})
	eTok := npmemu.NewToken()
	emu.AddUser("alice", eTok)
	packer := newNPM(t, "", nil)

	// Pack once (one npm run for both packages) so both registries get
	// byte-identical tarballs.
	type pkgSpec struct{ name, version, file string }
	manifests := []map[string]any{
		{"name": "piot-verdaccio", "version": "1.0.0", "description": "x", "license": "MIT"},
		{"name": "@piot/verdaccio-scoped", "version": "0.3.0", "description": "y", "license": "MIT"},
	}
	out := t.TempDir()
	args := []string{"pack", "--json", "--pack-destination", out}
	for _, m := range manifests {
		args = append(args, writePackage(t, m))
	}
	stdout, stderr, err := packer.run(out, args...)
	if err != nil {
		t.Fatalf("npm pack: %v\n%s", err, stderr)
	}
	var packed []struct {
		Name     string `json:"name"`
		Version  string `json:"version"`
		Filename string `json:"filename"`
	}
	if err := json.Unmarshal([]byte(stdout), &packed); err != nil || len(packed) != len(manifests) {
		t.Fatalf("npm pack --json: %q", stdout)
	}
	var specs []pkgSpec
	for _, p := range packed {
		specs = append(specs, pkgSpec{p.Name, p.Version, filepath.Join(out, p.Filename)})
	}
	vURL, vTok := ready()
	npmrc := "//" + strings.TrimSuffix(strings.TrimPrefix(vURL, "http://"), "/") + "/:_authToken=" + vTok + "\n" + emu.NpmrcAuthLine(eTok) + "\n"
	cli := newNPM(t, npmrc, nil)
	for _, reg := range []string{vURL, emu.URL()} {
		for _, s := range specs {
			if _, stderr, err := cli.run(t.TempDir(), "publish", s.file, "--access", "public", "--registry="+reg); err != nil {
				t.Fatalf("npm publish %s to %s: %v\n%s", s.name, reg, err, stderr)
			}
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	h := httpx.New()
	h.Policy.Attempts = 1
	clients := map[string]*npmreg.Client{}
	for label, reg := range map[string]string{"verdaccio": vURL, "emulator": emu.URL()} {
		c, err := npmreg.New(ctx, env.Env{npmreg.RegistryEnv: reg}, h)
		if err != nil {
			t.Fatal(err)
		}
		clients[label] = c
	}

	type facts struct {
		Exists     bool
		Integrity  string
		Versions   []string
		Latest     string
		Shasum     string
		MissingVer bool
	}
	read := func(c *npmreg.Client, name, version string) facts {
		t.Helper()
		var f facts
		ok, integ, err := c.VersionExists(ctx, name, version)
		if err != nil {
			t.Fatalf("%s VersionExists(%s): %v", c.Registry(), name, err)
		}
		f.Exists, f.Integrity = ok, integ
		p, err := c.Packument(ctx, name)
		if err != nil || p == nil {
			t.Fatalf("%s Packument(%s): %v", c.Registry(), name, err)
		}
		for v := range p.Versions {
			f.Versions = append(f.Versions, v)
		}
		f.Latest = p.DistTags["latest"]
		f.Shasum = p.Versions[version].Dist.Shasum
		missing, _, err := c.VersionExists(ctx, name, "9.9.9")
		f.MissingVer = !missing && err == nil
		return f
	}
	for _, s := range specs {
		v, e := read(clients["verdaccio"], s.name, s.version), read(clients["emulator"], s.name, s.version)
		if fmt.Sprint(v) != fmt.Sprint(e) {
			t.Errorf("%s: verdaccio %+v\n emulator %+v", s.name, v, e)
		}
		if !v.Exists || !strings.HasPrefix(v.Integrity, "sha512-") {
			t.Errorf("%s: not found on verdaccio: %+v", s.name, v)
		}
	}
	for label, c := range clients {
		p, err := c.Packument(ctx, "piot-never-published")
		if p != nil || err != nil {
			t.Errorf("%s: unknown package = %v, %v", label, p, err)
		}
	}
	if u, err := clients["verdaccio"].Whoami(ctx, vTok); u != "alice" || err != nil {
		t.Errorf("verdaccio whoami = %q %v", u, err)
	}
	if u, err := clients["emulator"].Whoami(ctx, eTok); u != "alice" || err != nil {
		t.Errorf("emulator whoami = %q %v", u, err)
	}

	// Re-publishing differs: the public registry says 403 "cannot publish
	// over", Verdaccio 409 "already present". ParseError settles both as an
	// ambiguous publish-over.
	_, stderr, err = cli.run(t.TempDir(), "publish", specs[0].file, "--force", "--registry="+vURL)
	if err == nil {
		t.Fatal("re-publish to verdaccio succeeded")
	}
	if pe := npmreg.ParseError(stderr); pe.Code != npmreg.CodePublishOver || !pe.Ambiguous {
		t.Errorf("verdaccio re-publish parsed as %+v from\n%s", pe, stderr)
	}
}
