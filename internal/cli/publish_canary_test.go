package cli

import (
	"bytes"
	npmh "github.com/putitoutthere/putitoutthere/internal/publish/npm"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
)

// Canary: every credential variable and unrelated secret-looking variables
// hold recognisable values; after publish (success and failure, human and
// --json, inside simulated Actions) none of them, nor any token minted during
// the run, may appear in output, in a subprocess's argv or environment beyond
// the one credential that tool needs, or in any file left behind.
func TestPublishCanary(t *testing.T) {
	w := newWorld(t)
	cargoCanary := "cio" + "CANARYcargo0123456789abcdefghijkl" // a live crates.io API token
	w.crates.AddAPIToken(cargoCanary)
	canaries := map[string]string{
		"CARGO_REGISTRY_TOKEN":  cargoCanary,
		"PYPI_API_TOKEN":        "pypi-CANARYpypiapitoken0000000000",
		"PYPI_TOKEN":            "pypi-CANARYpypitoken111111111111",
		"TWINE_PASSWORD":        "CANARYtwinepassword22222",
		"NPM_TOKEN":             "npm_CANARYnpmtoken3333333333333333333",
		"NODE_AUTH_TOKEN":       "npm_CANARYnodeauth444444444444444444",
		"AWS_SECRET_ACCESS_KEY": "CANARYawssecretkey5555555555",
		"MY_API_TOKEN":          "CANARYmyapitoken66666666666",
		"DEPLOY_PASSWORD":       "CANARYdeploypassword777777",
	}
	for k, v := range canaries {
		w.env[k] = v
	}
	ghToken := w.env["GITHUB_TOKEN"]
	var masks bytes.Buffer
	maskOut = &masks

	var outputs []string
	// Success, --json.
	out, errOut, code := w.cli("publish", "--json")
	if code != 0 {
		t.Fatalf("publish failed: %s\n%s", out, errOut)
	}
	outputs = append(outputs, out, errOut)
	// Failure paths: a refused exchange (human) and a refused upload (--json).
	gitRun(t, w.dir, w.env, "checkout", "-q", "--", ".")
	writeFile(t, filepath.Join(w.dir, "core/src/lib.rs"), "pub fn h() {}\n")
	gitRun(t, w.dir, w.env, "commit", "-q", "-am", "fix: h")
	w.artifacts("0.1.1")
	w.npm.AddTrustedPublisher("js-core", npmemu.TrustedPublisher{Owner: "octo-org", Repo: "other", Workflow: "release.yml"})
	out, errOut, code = w.cli("publish")
	if code != 1 || !strings.Contains(errOut, "PIOT_NPM_TRUST_REFUSED") {
		t.Fatalf("want a refusal: %d\n%s\n%s", code, out, errOut)
	}
	outputs = append(outputs, out, errOut)
	w.npm.AddTrustedPublisher("js-core", npmemu.TrustedPublisher{Owner: "octo-org", Repo: "octo-repo", Workflow: "release.yml"})
	// cargo is refused with the canary in hand. (A revoked token is now
	// refused before the first upload, by the token liveness check.)
	w.crates.Faults.Add(fault.Rule{Method: http.MethodPut, PathPrefix: "/api/v1/crates/new", Kind: fault.Status, Status: 403, Count: 100,
		Body: `{"errors":[{"detail":"this token does not have the required permissions to perform this action"}]}`})
	out, errOut, code = w.cli("publish", "--json")
	if code != 1 || !strings.Contains(out, "PIOT_CRATES_PUBLISH_FAILED") {
		t.Fatalf("want a failed upload: %d\n%s\n%s", code, out, errOut)
	}
	outputs = append(outputs, out, errOut)
	// status and a dry run print too.
	out, errOut, _ = w.cli("status")
	outputs = append(outputs, out, errOut)
	out, errOut, _ = w.cli("publish", "--dry-run", "--json")
	outputs = append(outputs, out, errOut)

	var minted []string
	for _, m := range w.crates.MintedTokens() {
		minted = append(minted, m.Token)
	}
	minted = append(minted, w.pypi.MintedTokens()...)
	minted = append(minted, w.npm.MintedTokens()...)
	if len(minted) < 3 {
		t.Fatalf("expected tokens minted by crates.io, PyPI and npm, got %d", len(minted))
	}
	secrets := map[string]string{"GITHUB_TOKEN": ghToken, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": w.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]}
	for k, v := range canaries {
		secrets[k] = v
	}
	for i, m := range minted {
		secrets["minted#"+string(rune('0'+i))] = m
	}

	all := strings.Join(outputs, "\n")
	for name, v := range secrets {
		if strings.Contains(all, v) {
			t.Errorf("%s leaked into output", name)
		}
	}
	// Minted tokens were masked for the Actions log the moment they existed.
	for _, m := range minted {
		if !strings.Contains(masks.String(), "::add-mask::"+m) {
			t.Errorf("minted token %.10s… was not masked", m)
		}
	}
	// Subprocesses: only cargo gets the crates credential; nothing else leaks.
	for _, c := range w.runner.Calls() {
		line := strings.Join(c.Args, " ") + "\n" + strings.Join(c.Environ, "\n")
		for name, v := range secrets {
			if !strings.Contains(line, v) {
				continue
			}
			switch {
			case c.Name == "cargo" && name == "CARGO_REGISTRY_TOKEN" && !strings.Contains(strings.Join(c.Args, " "), v):
			case c.Name == "cargo" && strings.HasPrefix(name, "minted") && !strings.Contains(strings.Join(c.Args, " "), v):
			case c.Name == "npm" && strings.HasPrefix(name, "minted") && !strings.Contains(strings.Join(c.Args, " "), v) &&
				strings.Contains(strings.Join(c.Environ, "\n"), npmh.TokenEnv+"="+v):
				// npm gets its token by environment only (no file holds it).
			case c.Name == "npm" && name == "ACTIONS_ID_TOKEN_REQUEST_TOKEN":
				// npm signs provenance with its own ID token request.
			default:
				t.Errorf("%s reached %s %v", name, c.Name, c.Args)
			}
		}
	}
	// Files left behind: the repository (with .git), the origin, HOME and TMPDIR.
	for _, root := range []string{w.dir, w.origin, w.env["HOME"]} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(p)
			for name, v := range secrets {
				if bytes.Contains(b, []byte(v)) {
					t.Errorf("%s written to %s", name, p)
				}
			}
			return nil
		})
	}
}
