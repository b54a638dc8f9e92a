package reliability

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	"github.com/putitoutthere/putitoutthere/internal/env"
)

// canaryCommands is every command, each run with and without --json.
var canaryCommands = [][]string{
	{"plan"},
	{"doctor"},
	{"doctor", "--deep"},
	{"preflight"},
	{"preflight", "--all"},
	{"publish", "--dry-run"},
	{"publish"},
	{"status"},
	{"token", "list"},
	{"token", "list", "--secrets"},
	{"token", "inspect"},
	{"auth", "status"},
	{"rehearse"},
}

// canaryMode is where the commands run.
type canaryMode struct {
	name    string
	actions bool // GITHUB_ACTIONS=true
	oidc    bool // ACTIONS_ID_TOKEN_REQUEST_* from the issuer emulator
	tokens  bool // registry token variables set
}

var canaryModes = []canaryMode{
	{name: "local", tokens: true},
	{name: "actions", actions: true, oidc: true, tokens: true},
	{name: "actions-oidc-only", actions: true, oidc: true},
}

// canaryRun is one invocation's output.
type canaryRun struct {
	args           []string
	code           int
	stdout, stderr string
}

// TestCanary plants recognisable values in every credential variable and in
// unrelated secret-looking ones, runs every command (human and --json; in a
// world where the registries answer and in one where every answer is an
// error whose body echoes the secrets back; outside and inside simulated
// Actions), and then looks for the values everywhere they must not be:
// stdout, stderr, every file under the repository, origin, HOME and TMPDIR,
// and the argv and environment of the cargo and npm processes (stand-ins
// that record what they were given). Tokens minted during the run (ID
// tokens, PyPI/crates.io/npm exchange tokens) are checked the same way.
//
// Inside Actions, `::add-mask::VALUE` on stderr is the one allowed
// appearance: the runner consumes the command and masks VALUE in the rest
// of the log; it is how a minted token gets masked the moment it exists.
func TestCanary(t *testing.T) {
	needTools(t)
	for _, m := range canaryModes {
		for _, failing := range []bool{false, true} {
			m, failing := m, failing
			name := m.name + "/ok"
			if failing {
				name = m.name + "/registries-fail"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				canaryScenario(t, m, failing)
			})
		}
	}
}

func canaryScenario(t *testing.T, m canaryMode, failing bool) {
	w := newWorld(t)
	w.useShim(shimDump)
	e := env.Env{}
	for k, v := range w.env {
		e[k] = v
	}
	secrets := map[string]string{
		"GITHUB_TOKEN":          e["GITHUB_TOKEN"],
		"AWS_SECRET_ACCESS_KEY": "CANARYawsSecretKey0000000000000000000",
		"MY_API_TOKEN":          "CANARYmyApiToken11111111111111",
		"DATABASE_PASSWORD":     "CANARYdatabasePassword222222222",
	}
	for k, v := range secrets {
		e[k] = v
	}
	delete(e, "GITHUB_ACTIONS")
	if !m.oidc {
		delete(e, "ACTIONS_ID_TOKEN_REQUEST_URL")
		e["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "CANARYidTokenRequestToken3333333333"
	}
	secrets["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = e["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]
	if m.actions {
		e["GITHUB_ACTIONS"] = "true"
		// The files the runner reads back (scanned with the rest of TMPDIR).
		e["GITHUB_OUTPUT"] = filepath.Join(w.tmp, "github_output")
		e["GITHUB_STEP_SUMMARY"] = filepath.Join(w.tmp, "step_summary")
	}
	doctorTok := "cio" + "CANARYdoctor444444444444444444444"
	w.crates.AddAPIToken(doctorTok)
	e["CRATES_IO_DOCTOR_TOKEN"] = doctorTok
	secrets["CRATES_IO_DOCTOR_TOKEN"] = doctorTok
	if m.tokens {
		cargoTok := "cio" + "CANARYcargo55555555555555555555555"
		w.crates.AddAPIToken(cargoTok)
		pyTok, err := w.pypi.APIToken("octocat")
		if err != nil {
			t.Fatal(err)
		}
		nodeTok := "npm_" + "CANARYnodeAuth666666666666666666666"
		w.npm.AddUser("octocat", nodeTok)
		for k, v := range map[string]string{
			"CARGO_REGISTRY_TOKEN": cargoTok,
			"PYPI_API_TOKEN":       pyTok,
			"PYPI_TOKEN":           "pypi-" + "CANARYpypiToken7777777777777777",
			"TWINE_PASSWORD":       "CANARYtwinePassword888888888888",
			"NPM_TOKEN":            "npm_" + "CANARYnpmToken99999999999999999999",
			"NODE_AUTH_TOKEN":      nodeTok,
		} {
			e[k], secrets[k] = v, v
		}
	}
	if failing {
		// Every registry (and the ID-token issuer) fails every request, with
		// a body that echoes the secrets back, as a misbehaving proxy might.
		var echo []string
		for k, v := range secrets {
			echo = append(echo, k+"="+v)
		}
		sort.Strings(echo)
		body := `{"errors":[{"detail":"upstream failure; request carried ` + strings.Join(echo, " ") + `"}]}`
		for _, f := range w.faults() {
			f.Add(fault.Rule{Kind: fault.Status, Status: 403, Body: body, Count: 1 << 20})
		}
	}

	var runs []canaryRun
	for _, args := range canaryCommands {
		for _, json := range []bool{true, false} {
			a := append([]string{}, args...)
			if json {
				a = append(a, "--json")
			}
			r := w.run(e, 2*time.Minute, a...)
			runs = append(runs, canaryRun{args: a, code: r.Code, stdout: r.Stdout, stderr: r.Stderr})
		}
	}
	if !failing && (m.oidc || m.tokens) {
		// The world must actually have published, or the test proves little.
		if len(w.pypi.Files(pyName, planned)) == 0 {
			for _, r := range runs {
				if r.args[0] == "publish" {
					t.Logf("%v: exit %d\n%s\n%s", r.args, r.code, r.stdout, r.stderr)
				}
			}
			t.Fatal("nothing was published to PyPI in the ok world")
		}
	}

	// Minted tokens: ID tokens from the issuer and every exchange's token.
	minted := map[string]string{}
	for i, x := range w.is.Faults.Log() {
		if _, rest, ok := strings.Cut(x.Body, `"value":"`); ok && x.Status == 200 {
			if tok, _, ok := strings.Cut(rest, `"`); ok && len(tok) > 100 {
				minted[fmt.Sprintf("GitHub ID token #%d", i)] = tok
			}
		}
	}
	for i, m := range w.crates.MintedTokens() {
		minted[fmt.Sprintf("crates.io trusted-publishing token #%d", i)] = m.Token
	}
	for i, tok := range w.pypi.MintedTokens() {
		minted[fmt.Sprintf("PyPI minted token #%d", i)] = tok
	}
	for i, tok := range w.npm.MintedTokens() {
		minted[fmt.Sprintf("npm exchanged token #%d", i)] = tok
	}
	if m.oidc && !failing && len(w.pypi.MintedTokens()) == 0 {
		t.Error("OIDC mode minted no PyPI token: the exchange path was not exercised")
	}
	if m.oidc && !failing {
		n := 0
		for name := range minted {
			if strings.HasPrefix(name, "GitHub ID token") {
				n++
			}
		}
		if n == 0 {
			t.Error("no GitHub ID token was recorded: the ID-token check is empty")
		}
	}
	if failing {
		// The echoed secrets must have reached the tool and been redacted.
		masked := false
		for _, r := range runs {
			masked = masked || strings.Contains(r.stdout+r.stderr, "request carried ")
		}
		if !masked {
			t.Error("no command showed a registry's echoed error body: the redaction path was not exercised")
		}
	}
	all := map[string]string{}
	for k, v := range secrets {
		all[k] = v
	}
	for k, v := range minted {
		all[k] = v
	}
	for k, v := range all {
		if len(v) < 12 {
			t.Fatalf("%s is too short to be a canary: %q", k, v)
		}
	}

	// 1. Output.
	for _, r := range runs {
		for stream, text := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
			for _, line := range strings.Split(text, "\n") {
				if v, ok := strings.CutPrefix(line, "::add-mask::"); ok {
					if !m.actions || stream != "stderr" {
						t.Errorf("%v: %s has an ::add-mask:: line outside Actions", r.args, stream)
					}
					if strings.TrimSpace(v) == "" {
						t.Errorf("%v: empty ::add-mask::", r.args)
					}
					continue
				}
				for name, v := range all {
					if strings.Contains(line, v) {
						t.Errorf("%v (exit %d): %s leaked on %s: %s", r.args, r.code, name, stream, strings.ReplaceAll(line, v, "<"+name+">"))
					}
				}
			}
		}
		if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
			t.Errorf("%v: stack trace:\n%s", r.args, r.stderr)
		}
	}
	// Minted tokens were masked for the Actions log the moment they existed.
	if m.actions {
		var errs strings.Builder
		for _, r := range runs {
			errs.WriteString(r.stderr)
		}
		for name, v := range minted {
			if strings.HasPrefix(name, "GitHub ID token") {
				continue // ID tokens minted inside tools (npm) never pass through us
			}
			if !strings.Contains(errs.String(), "::add-mask::"+v) {
				t.Errorf("%s was never masked with ::add-mask::", name)
			}
		}
	}

	// 2. What reached cargo and npm.
	dumps, _ := filepath.Glob(filepath.Join(w.home, ".tool-env", "*.env"))
	if !failing && m.tokens && len(dumps) == 0 {
		t.Error("no cargo or npm process ran: the subprocess environment was not checked")
	}
	for _, d := range dumps {
		data, _ := os.ReadFile(d)
		tool := strings.SplitN(filepath.Base(d), "-", 2)[0]
		argv, _, _ := strings.Cut(string(data), "\n")
		for name, v := range all {
			if !strings.Contains(string(data), v) {
				continue
			}
			if strings.Contains(argv, v) {
				t.Errorf("%s reached %s's argv", name, tool)
				continue
			}
			if !allowedFor(tool, name, m, e) {
				t.Errorf("%s reached %s (%s)", name, tool, filepath.Base(d))
			}
		}
	}

	if m.actions {
		if fi, err := os.Stat(filepath.Join(w.tmp, "step_summary")); err != nil || fi.Size() == 0 {
			t.Error("no step summary was written: the GITHUB_STEP_SUMMARY path was not exercised")
		}
	}
	// 3. Files left behind.
	for _, root := range []string{w.dir, w.origin, w.home, w.tmp} {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				if p == filepath.Join(w.home, ".tool-env") {
					return filepath.SkipDir // the recorded environments, checked above
				}
				return nil
			}
			data, _ := os.ReadFile(p)
			for name, v := range all {
				if bytes.Contains(data, []byte(v)) {
					t.Errorf("%s written to %s", name, p)
				}
			}
			return nil
		})
	}
}

// allowedFor: the one credential each tool needs, and nothing else.
//   - cargo: the crates.io token it publishes with (CARGO_REGISTRY_TOKEN, or
//     the trusted-publishing token when that is unset).
//   - npm: the token it publishes with (NODE_AUTH_TOKEN before NPM_TOKEN, or
//     the exchanged token under OIDC), written to its private userconfig;
//     under OIDC also the ID-token request pair, so npm can sign provenance.
func allowedFor(tool, name string, m canaryMode, e env.Env) bool {
	switch tool {
	case "cargo":
		if e.Has("CARGO_REGISTRY_TOKEN") {
			return name == "CARGO_REGISTRY_TOKEN"
		}
		return strings.HasPrefix(name, "crates.io trusted-publishing token")
	case "npm":
		if m.oidc {
			return strings.HasPrefix(name, "npm exchanged token") || name == "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
		}
		if e.Has("NODE_AUTH_TOKEN") {
			return name == "NODE_AUTH_TOKEN"
		}
		return name == "NPM_TOKEN"
	}
	return false
}
