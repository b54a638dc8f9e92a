package doctor

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

const declaredCrate = crateToml + `
[package.trust_policy]
workflow = "release.yml"
environment = "release"
repository = "my-org/my-repo"
`

const doctorToken = "cio-doctor-token-0123456789"

func TestCratesRegistry(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            declaredCrate,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": initWorkflow,
	})
	matching := `{"id":1,"crate":"my-crate","repository_owner":"My-Org","repository_owner_id":5,"repository_name":"my-repo","workflow_filename":"release.yml","environment":"Release","created_at":"2026-01-01T00:00:00Z"}`
	renamed := `{"id":2,"crate":"my-crate","repository_owner":"my-org","repository_owner_id":5,"repository_name":"my-repo","workflow_filename":"patch-release.yml","environment":"release","created_at":"2026-01-01T00:00:00Z"}`
	otherEnv := `{"id":3,"crate":"my-crate","repository_owner":"my-org","repository_owner_id":5,"repository_name":"my-repo","workflow_filename":"release.yml","environment":null,"created_at":"2026-01-01T00:00:00Z"}`
	cases := []struct {
		name    string
		status  int
		body    string
		hang    bool
		want    Status
		code    string
		mention string
	}{
		{"match among several", 200, `{"github_configs":[` + renamed + `,` + matching + `],"meta":{"total":2,"next_page":null}}`, false, Pass, "", "matches"},
		{"workflow renamed", 200, `{"github_configs":[` + renamed + `],"meta":{"total":1,"next_page":null}}`, false, Fail, CodeCratesMismatch, "workflow filename: crates.io has `patch-release.yml`, declared `release.yml`"},
		{"environment differs", 200, `{"github_configs":[` + otherEnv + `],"meta":{"total":1,"next_page":null}}`, false, Fail, CodeCratesMismatch, "environment: crates.io has none, declared `release`"},
		{"no publisher", 200, `{"github_configs":[],"meta":{"total":0,"next_page":null}}`, false, Fail, CodeCratesNoConfig, "no trusted publisher"},
		{"bad token", 401, `{"errors":[{"detail":"authentication failed"}]}`, false, Fail, CodeCratesUnauthorized, "authentication failed"},
		{"not an owner", 400, `{"errors":[{"detail":"You are not an owner of this crate"}]}`, false, Fail, CodeCratesRefused, "You are not an owner of this crate"},
		{"crate missing", 404, "{\"errors\":[{\"detail\":\"crate `my-crate` does not exist\"}]}", false, Neutral, CodeNotOnRegistry, "does not exist"},
		{"server error", 500, `{"errors":[{"detail":"boom"}]}`, false, Neutral, "", "skipped, crates.io unreachable (HTTP 500)"},
		{"hangs past the budget", 200, `{}`, true, Neutral, "", "no answer within 50ms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hits atomic.Int32
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if r.URL.Path != "/api/v1/trusted_publishing/github_configs" || r.URL.Query().Get("crate") != "my-crate" {
					http.Error(w, "unexpected "+r.URL.String(), 418)
					return
				}
				if r.Header.Get("Authorization") != doctorToken || r.Header.Get("User-Agent") == "" {
					http.Error(w, "bad headers", 403)
					return
				}
				if c.hang {
					select {
					case <-release:
					case <-r.Context().Done():
					}
					return
				}
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			}))
			defer srv.Close()
			defer close(release)
			start := time.Now()
			r := run(t, root, func(o *Options) {
				o.Env = env.Env{"CRATES_IO_DOCTOR_TOKEN": doctorToken, "PUTITOUTTHERE_CRATES_IO_URL": srv.URL}
				o.RegistryTimeout = 50 * time.Millisecond
			})
			if time.Since(start) > 3*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
			p := r.Phase(PhaseCratesIO)
			out := text(r)
			if p.Status != c.want {
				t.Errorf("status = %s, want %s\n%s", p.Status, c.want, out)
			}
			if c.code != "" && (len(p.Issues()) == 0 || p.Issues()[0].Code != c.code) {
				t.Errorf("issues = %+v, want %s", p.Issues(), c.code)
			}
			if !strings.Contains(out, c.mention) {
				t.Errorf("output lacks %q:\n%s", c.mention, out)
			}
			if strings.Contains(out, doctorToken) {
				t.Errorf("token printed:\n%s", out)
			}
			if hits.Load() != 1 {
				t.Errorf("hits = %d, want 1 (no retries inside the budget)", hits.Load())
			}
		})
	}
}

func TestCratesRegistryUnreachable(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            declaredCrate,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": initWorkflow,
	})
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // connection refused
	r := run(t, root, func(o *Options) {
		o.Env = env.Env{"CRATES_IO_DOCTOR_TOKEN": doctorToken, "PUTITOUTTHERE_CRATES_IO_URL": url}
	})
	if p := r.Phase(PhaseCratesIO); p.Status != Neutral || r.ExitCode() != 0 {
		t.Fatalf("status %s exit %d\n%s", p.Status, r.ExitCode(), text(r))
	}
}

// TestClaims: the OIDC emulator mints a token whose claims disagree with the
// declaration; the phase names each disagreeing claim, never the token.
func TestClaims(t *testing.T) {
	is, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml": declaredCrate + `
[[package]]
name = "py"
kind = "pypi"
path = "py"
paths = ["py/**"]
[package.trust_policy]
workflow = "release.yml"
environment = "release"
`,
		"crates/my-crate/Cargo.toml":    cargo,
		"py/pyproject.toml":             "[project]\nname = \"py\"\n",
		".github/workflows/release.yml": initWorkflow,
	})
	pypi := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_/oidc/audience" {
			w.Write([]byte(`{"audience":"testpypi"}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer pypi.Close()
	mkEnv := func() env.Env {
		e := env.Env{"PUTITOUTTHERE_PYPI_URL": pypi.URL}
		for k, v := range is.Env() {
			e[k] = v
		}
		return e
	}

	id := oidc.DefaultIdentity()
	id.Repository = "my-org/my-repo"
	id.WorkflowFile = "release.yml"
	id.Environment = "release"
	is.SetIdentity(id)
	r := run(t, root, func(o *Options) { o.Env = mkEnv() })
	if p := r.Phase(PhaseClaims); p.Status != Pass {
		t.Fatalf("matching claims:\n%s", text(r))
	}

	// A reusable workflow: PyPI sees the called file in job_workflow_ref,
	// crates.io the caller in workflow_ref; and the environment is wrong.
	id.JobWorkflowFile = "publish.yml"
	id.Environment = "staging"
	is.SetIdentity(id)
	before := len(is.Minted())
	tap := &tapTransport{}
	r = run(t, root, func(o *Options) {
		o.Env = mkEnv()
		o.HTTP = &httpx.Client{HTTP: &http.Client{Transport: tap}, Policy: httpx.DefaultPolicy}
	})
	out := text(r)
	p := r.Phase(PhaseClaims)
	if p.Status != Fail {
		t.Fatalf("status %s\n%s", p.Status, out)
	}
	for _, want := range []string{
		"package `py` (PyPI): claim `job_workflow_ref` is `publish.yml`, declared `release.yml`",
		"package `py` (PyPI): claim `environment` is `staging`, declared `release`",
		"package `my-crate` (crates.io): claim `environment` is `staging`, declared `release`",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "workflow_ref` is") && strings.Contains(out, "(crates.io): claim `workflow_ref`") {
		t.Errorf("crates.io reads workflow_ref, which still names release.yml:\n%s", out)
	}
	auds := is.Minted()[before:]
	sort.Strings(auds)
	if d := cmp.Diff([]string{"crates.io", "testpypi"}, auds); d != "" {
		t.Fatalf("audiences (-want +got):\n%s", d)
	}
	if len(tap.tokens) != 2 {
		t.Fatalf("saw %d ID tokens", len(tap.tokens))
	}
	var b bytes.Buffer
	r.WriteText(&b)
	r.Annotate(&b)
	b.WriteString(jsonText(t, r))
	for _, tok := range tap.tokens {
		if strings.Contains(b.String(), tok) || secret.Redact(tok) == tok {
			t.Fatalf("token leaked or not registered")
		}
	}
}

// tapTransport records the ID tokens the issuer hands out.
type tapTransport struct{ tokens []string }

func (tp *tapTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !strings.Contains(r.URL.Path, "idtoken") {
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var v struct {
		Value string `json:"value"`
	}
	if json.Unmarshal(body, &v) == nil && v.Value != "" {
		tp.tokens = append(tp.tokens, v.Value)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func TestClaimsOutsideActions(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            declaredCrate,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": initWorkflow,
	})
	p := run(t, root, nil).Phase(PhaseClaims)
	if p.Status != Neutral || p.Checks[0].Text != "runs only inside GitHub Actions" {
		t.Fatalf("%+v", p)
	}
	// Inside Actions without id-token: neutral skip, not a failure.
	p = run(t, root, func(o *Options) { o.Env = env.Env{"GITHUB_ACTIONS": "true"} }).Phase(PhaseClaims)
	if p.Status != Neutral {
		t.Fatalf("%+v", p)
	}
}

func TestClaimsTokenRequestFails(t *testing.T) {
	is, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            declaredCrate,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": initWorkflow,
	})
	e := env.Env{}
	for k, v := range is.Env() {
		e[k] = v
	}
	e["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "wrong-request-token"
	r := run(t, root, func(o *Options) { o.Env = e })
	p := r.Phase(PhaseClaims)
	if p.Status != Neutral || len(p.Issues()) != 1 || p.Issues()[0].Code != CodeClaimsUnavailable {
		t.Fatalf("%s\n%s", p.Status, text(r))
	}
}

// TestCratesRegistryUndeclaredEnvironment: with no declared environment the
// publish job's environment is what must be accepted.
func TestCratesRegistryUndeclaredEnvironment(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml + "\n[package.trust_policy]\nworkflow = \"release.yml\"\n",
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": initWorkflow, // environment: release
	})
	for regEnv, want := range map[string]Status{`null`: Pass, `"release"`: Pass, `"production"`: Fail} {
		body := `{"github_configs":[{"id":1,"crate":"my-crate","repository_owner":"my-org","repository_owner_id":5,"repository_name":"my-repo","workflow_filename":"release.yml","environment":` + regEnv + `}],"meta":{"total":1,"next_page":null}}`
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }))
		r := run(t, root, func(o *Options) {
			o.Env = env.Env{"CRATES_IO_DOCTOR_TOKEN": doctorToken, "PUTITOUTTHERE_CRATES_IO_URL": srv.URL}
		})
		srv.Close()
		if got := r.Phase(PhaseCratesIO).Status; got != want {
			t.Errorf("registered environment %s: status %s, want %s\n%s", regEnv, got, want, text(r))
		}
	}
}

// TestCratesRegistryEmulator runs phase 5 against the crates.io emulator,
// which answers github_configs as crates.io does (auth, scopes, errors).
func TestCratesRegistryEmulator(t *testing.T) {
	srv, err := crates.Start(crates.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	token := crates.NewAPITokenString()
	srv.AddAPIToken(token, "trusted-publishing", "crate:my-crate")
	srv.AddGitHubConfig("my-crate", crates.GitHubConfig{Owner: "my-org", Repo: "my-repo", OwnerID: 7, Workflow: "release.yml", Environment: "release"})
	files := map[string]string{
		"putitoutthere.toml":            declaredCrate,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": initWorkflow,
	}
	check := func(files map[string]string, tok string) *Report {
		return run(t, writeRepo(t, files), func(o *Options) {
			o.Env = env.Env{"CRATES_IO_DOCTOR_TOKEN": tok, "PUTITOUTTHERE_CRATES_IO_URL": srv.URL()}
		})
	}
	if r := check(files, token); r.Phase(PhaseCratesIO).Status != Pass {
		t.Fatalf("matching registration:\n%s", text(r))
	}
	// The declaration (and workflow) moved to patch-release.yml; crates.io
	// still has release.yml.
	files["putitoutthere.toml"] = strings.Replace(declaredCrate, `workflow = "release.yml"`, `workflow = "patch-release.yml"`, 1)
	r := check(files, token)
	if p := r.Phase(PhaseCratesIO); p.Status != Fail || !strings.Contains(text(r), "workflow filename: crates.io has `release.yml`, declared `patch-release.yml`") {
		t.Fatalf("renamed workflow:\n%s", text(r))
	}
	// A token crates.io does not know: 401, the phase fails.
	r = check(files, crates.NewAPITokenString())
	if p := r.Phase(PhaseCratesIO); p.Status != Fail || p.Issues()[0].Code != CodeCratesUnauthorized {
		t.Fatalf("unknown token:\n%s", text(r))
	}
}
