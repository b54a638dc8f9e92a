package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	crates "github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/macaroon"
	"github.com/putitoutthere/putitoutthere/internal/token"
)

const inspectConfig = `[putitoutthere]
version = 1

[[package]]
name = "my-lib"
kind = "pypi"
path = "py"
paths = ["py/**"]

[[package]]
name = "my-pkg"
kind = "npm"
path = "js"
paths = ["js/**"]

[[package]]
name = "my-crate"
kind = "crates"
path = "rs"
paths = ["rs/**"]
`

func TestTokenInspectFromEnvAndFlag(t *testing.T) {
	f := newGHFixture(t)
	tokWriteFile(t, filepath.Join(f.home, "putitoutthere.toml"), inspectConfig)
	pypi := macaroon.New("pypi.org", []byte("id-1"), []byte("k"), macaroon.ProjectNames("my-lib")).Token()
	f.env["PYPI_API_TOKEN"] = pypi
	out, errs, code := f.run(t, "token", "inspect")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{
		"PYPI_API_TOKEN (pypi, " + token.Fingerprint(pypi) + ")",
		"project-scoped token: my-lib",
		"my-lib: yes — the token is scoped to my-lib",
		"not knowable from the token alone:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	// --token - reads stdin; --registry overrides detection.
	other := macaroon.New("pypi.org", []byte("id-2"), []byte("k"), macaroon.ProjectNames("someone-else")).Token()
	var so, se strings.Builder
	code = MainEnv(t.Context(), []string{"--cwd", f.home, "--json", "token", "inspect", "--token", "-", "--registry", "pypi"},
		Stdio{In: strings.NewReader(other + "\n"), Out: &so, Err: &se}, f.env)
	var doc inspectResult
	if err := json.Unmarshal([]byte(so.String()), &doc); err != nil || code != 0 {
		t.Fatalf("%v %d %s %s", err, code, so.String(), se.String())
	}
	if len(doc.Tokens) != 1 || doc.Tokens[0].Packages[0].CanPublish != token.No || doc.Tokens[0].Source != "--token" {
		t.Fatalf("%+v", doc)
	}
}

func TestTokenInspectErrors(t *testing.T) {
	f := newGHFixture(t)
	_, errs, code := f.run(t, "token", "inspect")
	if code != 1 || !strings.Contains(errs, CodeTokenNone) {
		t.Fatalf("no tokens: %d %s", code, errs)
	}
	_, errs, code = f.run(t, "token", "inspect", "--token", "ghp_notregistry")
	if code != 1 || !strings.Contains(errs, CodeTokenRegistryUnknown) || strings.Contains(errs, "ghp_notregistry") {
		t.Fatalf("unknown registry: %d %s", code, errs)
	}
	_, errs, code = f.run(t, "token", "inspect", "--registry", "rubygems")
	if code != 2 {
		t.Fatalf("bad --registry: %d %s", code, errs)
	}
}

// TestNoTokenEverPrinted plants tokens in every variable the scan reads, in
// the stored credential and in GitHub's answers, runs every token and auth
// command with and without --json, and checks no value reaches any output,
// and that the credential file is the only file written.
func TestNoTokenEverPrinted(t *testing.T) {
	f := newGHFixture(t)
	tokWriteFile(t, filepath.Join(f.home, "putitoutthere.toml"), inspectConfig)
	npmS, err := npmemu.Start(npmemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer npmS.Close()
	crS, err := crates.Start(crates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer crS.Close()
	f.env["PUTITOUTTHERE_NPM_REGISTRY"] = npmS.URL()
	f.env["PUTITOUTTHERE_CRATES_IO_URL"] = crS.URL()

	canaries := map[string]string{
		"CARGO_REGISTRY_TOKEN": "cio" + "CANARYcargo0000000000000000000000",
		"PYPI_API_TOKEN":       macaroon.New("pypi.org", []byte("canary-id"), []byte("k"), macaroon.ProjectNames("my-lib")).Token(),
		"PYPI_TOKEN":           "py" + "pi-CANARYpypitoken0123456789",
		"TWINE_PASSWORD":       "CANARYtwinepassword0123",
		"NPM_TOKEN":            "npm_" + "CANARYnpmtoken000000000000000000001",
		"NODE_AUTH_TOKEN":      "npm_" + "CANARYnodeauth000000000000000000002",
		"PYPI_PROD_TOKEN":      "CANARYpypiprefix0123",
		"NPM_PUBLISH_SECRET":   "CANARYnpmprefix0123",
		"CARGO_DEPLOY_TOKEN":   "CANARYcargoprefix0123",
		"TWINE_TOKEN":          "CANARYtwineprefix0123",
	}
	for k, v := range canaries {
		f.env[k] = v
	}
	npmS.AddGranularToken(canaries["NODE_AUTH_TOKEN"], "alice", []string{"my-pkg"}, "")
	crS.AddAPIToken(canaries["CARGO_REGISTRY_TOKEN"])
	f.s.AddSecret("owner/repo", "NPM_TOKEN")
	f.s.AddEnvironment("owner/repo", "production", "PYPI_API_TOKEN")

	var all strings.Builder
	run := func(args ...string) {
		out, errs, _ := f.run(t, args...)
		all.WriteString(out)
		all.WriteString(errs)
	}
	f.approveOn(t, 1, "octocat")
	run("auth", "login", "--json")
	f.clk.onWait = nil
	stored := f.storedToken(t)
	access, refresh := stored["access_token"].(string), stored["refresh_token"].(string)
	canaries["access"], canaries["refresh"] = access, refresh

	for _, json := range []bool{false, true} {
		pre := []string{}
		if json {
			pre = []string{"--json"}
		}
		run(append(pre, "token", "list")...)
		run(append(pre, "token", "list", "--secrets")...)
		run(append(pre, "token", "inspect")...)
		run(append(pre, "token", "inspect", "--token", canaries["NPM_TOKEN"])...)
		run(append(pre, "auth", "status")...)
	}
	// GitHub echoing the token in an error body, during status and refresh.
	f.s.Faults.Add(fault.Rule{PathPrefix: "/user", Status: 500, Body: `{"message":"upstream saw ` + access + `"}`, Count: 20})
	run("auth", "status")
	run("--json", "auth", "status")
	f.s.Faults.Clear()
	f.s.Advance(9 * time.Hour)
	f.s.Faults.Add(fault.Rule{PathPrefix: "/login/oauth/access_token", Status: 502, Body: "refresh=" + refresh, Count: 20})
	run("auth", "status")
	f.s.Faults.Clear()
	run("auth", "status") // real refresh: the new pair must not show either
	stored = f.storedToken(t)
	canaries["access2"], canaries["refresh2"] = stored["access_token"].(string), stored["refresh_token"].(string)
	run("auth", "logout")

	text := all.String()
	if !strings.Contains(text, "REGISTRY") || !strings.Contains(text, "sha256:") {
		t.Fatalf("the commands did not run as expected:\n%s", text)
	}
	for name, v := range canaries {
		// Whole values, and any 10-character slice from the end or the middle
		// (a truncated or partly masked token leaks too).
		if strings.Contains(text, v) || strings.Contains(text, v[len(v)-10:]) || strings.Contains(text, v[len(v)/2-5:len(v)/2+5]) {
			t.Errorf("the value of %s was printed", name)
		}
	}
	var files []string
	_ = filepath.Walk(f.home, func(p string, info os.FileInfo, _ error) error {
		if !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 || files[0] != filepath.Join(f.home, "putitoutthere.toml") {
		t.Fatalf("files left after logout: %v", files)
	}
}
