package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/cratefile"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/plan"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// writeRepo lays files out under a temp dir and returns it.
func writeRepo(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// run runs doctor on root with no network, no git and an empty environment
// unless mod says otherwise.
func run(t testing.TB, root string, mod func(*Options)) *Report {
	t.Helper()
	opt := Options{
		Root:        root,
		ConfigFile:  filepath.Join(root, config.FileName),
		Env:         env.Env{},
		Remote:      func(context.Context) string { return "git@github.com:my-org/my-repo.git" },
		NPMRegistry: func(context.Context) string { return "http://127.0.0.1:1/" },
	}
	if mod != nil {
		mod(&opt)
	}
	return Run(context.Background(), opt)
}

func text(r *Report) string {
	var b bytes.Buffer
	r.WriteText(&b)
	return b.String()
}

func jsonText(t testing.TB, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r.JSON()); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// golden compares got with testdata/<TestName><suffix>.golden.
func golden(t *testing.T, suffix, got string) {
	t.Helper()
	name := filepath.Join("testdata", strings.ReplaceAll(t.Name(), "/", "_")+suffix+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

const crateToml = `[putitoutthere]
version = 1

[[package]]
name = "my-crate"
kind = "crates"
path = "crates/my-crate"
paths = ["crates/my-crate/**"]
`

const cargo = "[package]\nname = \"my-crate\"\nversion = \"0.1.0\"\n"

// initWorkflow is the publish job `putitoutthere init` writes.
const initWorkflow = `name: release
on:
  push:
    branches: [main]
jobs:
  publish:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      id-token: write
    environment: release
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - run: npx putitoutthere publish
`

// seedWorkflow reproduces the documentation's failing sample: no id-token,
// no environment.
const seedWorkflow = `name: release
on: push
permissions:
  contents: write
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: npx putitoutthere publish
`

func TestSeedSample(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": seedWorkflow,
	})
	r := run(t, root, nil)
	out := text(r)
	for _, want := range []string{
		"trust policy (local):\n✗ publish workflow: release.yml\n",
		"trust-policy: release.yml: job `publish` is missing `id-token: write` permission — add it to the job or to workflow-level `permissions:`\n",
		"trust-policy: release.yml: job `publish` has no `environment:` key — many trust policies pin an environment; add one (e.g. `environment: release`) matching the registry registration\n",
		"\nnote: `doctor` ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if r.ExitCode() != 1 {
		t.Errorf("exit = %d, want 1", r.ExitCode())
	}
	golden(t, "", out)
	golden(t, ".json", jsonText(t, r))
}

func TestCleanInitWorkflow(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml + "\n[package.trust_policy]\nworkflow = \"release.yml\"\nenvironment = \"release\"\nrepository = \"my-org/my-repo\"\n",
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": initWorkflow,
	})
	r := run(t, root, nil)
	if r.ExitCode() != 0 {
		t.Fatalf("exit = %d:\n%s", r.ExitCode(), text(r))
	}
	golden(t, "", text(r))
	golden(t, ".json", jsonText(t, r))
}

func TestConfigDoesNotLoad(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            "[putitoutthere]\nversion = \"one\"\n[[package]\n",
		".github/workflows/release.yml": initWorkflow,
	})
	r := run(t, root, nil)
	if r.ExitCode() != 2 || !r.ConfigError {
		t.Fatalf("exit = %d, want 2", r.ExitCode())
	}
	if p := r.Phase(PhaseConfig); p.Status != Fail || len(p.Issues()) != 1 {
		t.Fatalf("config phase = %+v", p)
	}
	if p := r.Phase(PhaseLocal); p.Status != Pass {
		t.Errorf("local phase should still run: %+v", p)
	}
	if p := r.Phase(PhaseAuth); p.Status != Skip {
		t.Errorf("auth phase = %s, want skip", p.Status)
	}
}

func TestNoConfigFile(t *testing.T) {
	r := run(t, t.TempDir(), nil)
	if r.ExitCode() != 2 {
		t.Fatalf("exit = %d", r.ExitCode())
	}
	is := r.Phase(PhaseConfig).Issues()
	if len(is) != 1 || is[0].Code != "PIOT_CONFIG_NOT_FOUND" {
		t.Fatalf("issues = %+v", is)
	}
	if p := r.Phase(PhaseLocal); p.Status != Fail || p.Issues()[0].Code != CodeNoPublishWorkflow {
		t.Errorf("local = %+v", p)
	}
}

func TestManifests(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml": `[putitoutthere]
version = 1

[[package]]
name = "core"
kind = "crates"
path = "crates/core"
paths = ["crates/core/**"]

[[package]]
name = "py"
kind = "pypi"
pypi = "My_Package"
path = "py"
paths = ["py/**"]

[[package]]
name = "js"
kind = "npm"
npm = "@org/js"
path = "js"
paths = ["js/**"]

[[package]]
name = "gone"
kind = "npm"
path = "gone"
paths = ["gone/**"]
`,
		"crates/core/Cargo.toml":        "[package]\nname = \"core-rs\"\nversion = \"1.0.0\"\n",
		"py/pyproject.toml":             "[project]\nname = \"my.package\"\nversion = \"1.0\"\n",
		"js/package.json":               `{"name": "@org/js", "version": "1.0.0", "repository": {"type": "git", "url": "git+https://github.com/someone-else/js.git"}}`,
		"gone/README.md":                "moved\n",
		".github/workflows/release.yml": initWorkflow,
	})
	r := run(t, root, nil)
	p := r.Phase(PhaseConfig)
	codes := map[string]int{}
	for _, is := range p.Issues() {
		codes[is.Code]++
	}
	want := map[string]int{CodeManifestName: 1, CodeManifestMissing: 1, CodeNPMRepositoryURL: 1}
	if d := cmp.Diff(want, codes); d != "" {
		t.Errorf("codes (-want +got):\n%s\n%s", d, text(r))
	}
	golden(t, "", text(r))
}

func TestAuth(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml": crateToml + `
[[package]]
name = "py"
kind = "pypi"
path = "py"
paths = ["py/**"]

[[package]]
name = "js"
kind = "npm"
path = "js"
paths = ["js/**"]
`,
		"crates/my-crate/Cargo.toml": cargo,
		"py/pyproject.toml":          "[project]\nname = \"py\"\n",
		"js/package.json":            `{"name":"js","repository":"github:my-org/my-repo"}`,
	})
	// No workflow grants id-token and no tokens: everything is missing.
	r := run(t, root, nil)
	if p := r.Phase(PhaseAuth); p.Status != Fail || len(p.Issues()) != 3 {
		t.Fatalf("auth = %s\n%s", p.Status, text(r))
	}
	// Inside a job with OIDC and tokens set: both-configured warnings, no failure.
	r = run(t, root, func(o *Options) {
		o.Env = env.Env{"ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:1/x?a=1", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req-token-value",
			"CARGO_REGISTRY_TOKEN": "cio-token-value", "PYPI_API_TOKEN": "pypi-token-value", "NODE_AUTH_TOKEN": "npm-token-value", "NPM_TOKEN": ""}
	})
	p := r.Phase(PhaseAuth)
	if p.Status != Pass {
		t.Fatalf("auth = %s\n%s", p.Status, text(r))
	}
	golden(t, "", text(&Report{Phases: []*Phase{p}}))
	// Outside Actions, a publish job with id-token: write makes OIDC count.
	root2 := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": initWorkflow,
	})
	r = run(t, root2, nil)
	if got := r.Phase(PhaseAuth).Checks[0].Text; got != "my-crate (crates): oidc (in the publish job, from `id-token: write`)" {
		t.Errorf("auth line = %q", got)
	}
}

func TestDeclared(t *testing.T) {
	cases := []struct {
		name     string
		policy   string
		workflow string
		file     string
		env      env.Env
		remote   string
		want     []string // codes
	}{
		{"renamed workflow", `workflow = "release.yml"`, initWorkflow, "patch-release.yml", nil, "", []string{CodeDeclaredWorkflow}},
		{"environment renamed", "workflow = \"release.yml\"\nenvironment = \"production\"", initWorkflow, "release.yml", nil, "", []string{CodeDeclaredEnvironment}},
		{"environment case differs (crates.io ignores case)", "workflow = \"release.yml\"\nenvironment = \"Release\"", initWorkflow, "release.yml", nil, "", nil},
		{"repository differs", "workflow = \"release.yml\"\nrepository = \"my-org/other\"", initWorkflow, "release.yml", nil, "ssh://git@github.com/my-org/my-repo.git", []string{CodeDeclaredRepository}},
		{"running in another workflow", `workflow = "release.yml"`, initWorkflow, "release.yml",
			env.Env{"GITHUB_ACTIONS": "true", "GITHUB_WORKFLOW_REF": "my-org/my-repo/.github/workflows/ci.yml@refs/heads/main"}, "", []string{CodeDeclaredRunningWorkflow}},
		{"running in the declared workflow", `workflow = "release.yml"`, initWorkflow, "release.yml",
			env.Env{"GITHUB_ACTIONS": "true", "GITHUB_WORKFLOW_REF": "my-org/my-repo/.github/workflows/release.yml@refs/heads/main"}, "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := writeRepo(t, map[string]string{
				"putitoutthere.toml":          crateToml + "\n[package.trust_policy]\n" + c.policy + "\n",
				"crates/my-crate/Cargo.toml":  cargo,
				".github/workflows/" + c.file: c.workflow,
			})
			r := run(t, root, func(o *Options) {
				if c.env != nil {
					o.Env = c.env
				}
				if c.remote != "" {
					o.Remote = func(context.Context) string { return c.remote }
				}
			})
			var got []string
			for _, is := range r.Phase(PhaseDeclared).Issues() {
				got = append(got, is.Code)
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("codes (-want +got):\n%s\n%s", d, text(r))
			}
		})
	}
}

func TestDeclaredNotDeclared(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": initWorkflow,
	})
	p := run(t, root, nil).Phase(PhaseDeclared)
	if p.Status != Neutral || !strings.Contains(p.Checks[0].Text, "not declared") {
		t.Fatalf("declared = %+v", p)
	}
}

// TestDeclaredReusable: PyPI sees the called file, crates.io the caller.
func TestDeclaredReusable(t *testing.T) {
	files := map[string]string{
		"putitoutthere.toml": `[putitoutthere]
version = 1

[[package]]
name = "my-crate"
kind = "crates"
path = "crates/my-crate"
paths = ["crates/my-crate/**"]
[package.trust_policy]
workflow = "release.yml"

[[package]]
name = "py"
kind = "pypi"
path = "py"
paths = ["py/**"]
attestations = false # PyPI verifies attestations against the caller
[package.trust_policy]
workflow = "publish.yml"
`,
		"crates/my-crate/Cargo.toml": cargo,
		"py/pyproject.toml":          "[project]\nname = \"py\"\n",
		".github/workflows/release.yml": `on: push
jobs:
  release:
    permissions: {contents: write, id-token: write}
    uses: ./.github/workflows/publish.yml
`,
		".github/workflows/publish.yml": `on: workflow_call
jobs:
  publish:
    runs-on: ubuntu-latest
    environment: release
    steps:
      - run: npx putitoutthere publish
`,
	}
	r := run(t, writeRepo(t, files), nil)
	if p := r.Phase(PhaseDeclared); p.Status != Pass {
		t.Fatalf("declared:\n%s", text(r))
	}
	if r.ExitCode() != 0 {
		t.Fatalf("exit %d:\n%s", r.ExitCode(), text(r))
	}
	golden(t, "", text(r))
	// Swapping the declarations must fail both, each naming its claim.
	files["putitoutthere.toml"] = strings.Replace(strings.Replace(files["putitoutthere.toml"], `workflow = "release.yml"`, `workflow = "X"`, 1), `workflow = "publish.yml"`, `workflow = "release.yml"`, 1)
	files["putitoutthere.toml"] = strings.Replace(files["putitoutthere.toml"], `workflow = "X"`, `workflow = "publish.yml"`, 1)
	r = run(t, writeRepo(t, files), nil)
	out := text(r)
	for _, want := range []string{"crates.io will see `release.yml` (workflow_ref)", "PyPI will see `publish.yml` (job_workflow_ref)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestParseRemote(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/o/r.git":            "o/r",
		"https://github.com/o/r":                "o/r",
		"https://x-access-token@github.com/o/r": "o/r",
		"git@github.com:o/r.git":                "o/r",
		"ssh://git@github.com/o/r.git":          "o/r",
		"ssh://git@github.com:22/o/r":           "o/r",
		"git+https://github.com/o/r.git":        "o/r",
		"git://github.com/o/r.git":              "o/r",
		"https://github.com/o/r/":               "o/r",
		"":                                      "",
		"/local/path":                           "",
		"https://github.com/o":                  "",
	} {
		o, r, ok := ParseRemote(in)
		got := ""
		if ok {
			got = o + "/" + r
		}
		if got != want {
			t.Errorf("ParseRemote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestArtifacts(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":                            crateToml,
		"crates/my-crate/Cargo.toml":                    cargo,
		".github/workflows/release.yml":                 initWorkflow,
		"artifacts/my-crate-crate/my-crate-0.2.0.crate": "x",
	})
	rows := []plan.Row{{Name: "my-crate", Kind: "crates", Version: "0.2.0", Target: "noarch", ArtifactName: "my-crate-crate"}}
	r := run(t, root, func(o *Options) {
		o.Artifacts = true
		o.Plan = func(context.Context, *config.Config) (*plan.Plan, error) { return &plan.Plan{Rows: rows}, nil }
	})
	if p := r.Phase(PhaseArtifacts); p == nil || p.Status != Pass {
		t.Fatalf("artifacts:\n%s", text(r))
	}
	rows = append(rows, plan.Row{Name: "py", Kind: "pypi", Version: "1.0.0", Target: "sdist", ArtifactName: "py-sdist"})
	r = run(t, root, func(o *Options) {
		o.Artifacts = true
		o.Plan = func(context.Context, *config.Config) (*plan.Plan, error) { return &plan.Plan{Rows: rows}, nil }
	})
	p := r.Phase(PhaseArtifacts)
	if p.Status != Fail || p.Issues()[0].Code != CodeArtifactMissing || r.ExitCode() != 1 {
		t.Fatalf("artifacts:\n%s", text(r))
	}
}

func TestDeep(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": initWorkflow,
	})
	exists := func(context.Context, *config.Package) (bool, error) { return false, nil }
	// OIDC package that does not exist yet: warning, not failure.
	r := run(t, root, func(o *Options) { o.Deep = true; o.PackageExists = exists })
	p := r.Phase(PhaseDeep)
	if p.Status != Pass || len(p.Issues()) != 1 || p.Issues()[0].Code != CodeNotOnRegistry {
		t.Fatalf("deep:\n%s", text(r))
	}
	// Token package whose token does not cover it: failure; without an
	// inspector: neutral "unavailable".
	r = run(t, root, func(o *Options) {
		o.Deep, o.PackageExists = true, exists
		o.Env = env.Env{"CARGO_REGISTRY_TOKEN": "cio-secret-abcdef"}
		o.InspectToken = func(context.Context, *config.Package, string) (TokenInfo, error) {
			return TokenInfo{Covers: false, Detail: "scoped to other-crate"}, nil
		}
	})
	if p := r.Phase(PhaseDeep); p.Status != Fail || p.Issues()[0].Code != CodeTokenScope {
		t.Fatalf("deep:\n%s", text(r))
	}
	r = run(t, root, func(o *Options) {
		o.Deep, o.PackageExists = true, exists
		o.Env = env.Env{"CARGO_REGISTRY_TOKEN": "cio-secret-abcdef"}
	})
	if out := text(r); !strings.Contains(out, "token inspection unavailable") || strings.Contains(out, "cio-secret-abcdef") {
		t.Fatalf("deep:\n%s", out)
	}
}

func TestCommentedOutIsReported(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": strings.Replace(initWorkflow, "      - run: npx putitoutthere publish", "      # - run: npx putitoutthere publish", 1),
	})
	r := run(t, root, nil)
	is := r.Phase(PhaseLocal).Issues()
	if len(is) != 1 || is[0].Code != CodePublishCommented || is[0].Line != 16 {
		t.Fatalf("issues = %+v\n%s", is, text(r))
	}
	if !strings.Contains(text(r), "✗ publish workflow: release.yml\n") {
		t.Errorf("no ✗ line:\n%s", text(r))
	}
}

func TestAnnotations(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": seedWorkflow,
	})
	var b bytes.Buffer
	run(t, root, nil).Annotate(&b)
	out := b.String()
	if !strings.Contains(out, "::error file=.github/workflows/release.yml,line=3::trust-policy: release.yml: job `publish` is missing `id-token: write` permission") {
		t.Errorf("annotations:\n%s", out)
	}
}

func TestRemoteReusableHint(t *testing.T) {
	r := run(t, filepath.Join("testdata", "cases", "remote-only"), nil)
	is := r.Phase(PhaseLocal).Issues()
	if len(is) != 1 || is[0].Code != CodeRemotePyPI || !strings.Contains(is[0].Message, "my-org/release-workflows/.github/workflows/publish.yml@v2") ||
		!strings.Contains(is[0].Message, "PyPI refuses trusted publishing") {
		t.Fatalf("issues = %+v", is)
	}
}

// TestRemoteCratesOnlyPasses is false alarm 12: a crates.io-only repository
// publishing through its organisation's shared reusable workflow in another
// repository. crates.io matches the caller's file (workflow_ref), so the
// real publish succeeds, and doctor must pass with the declaration.
func TestRemoteCratesOnlyPasses(t *testing.T) {
	r := run(t, filepath.Join("testdata", "cases", "remote-crates-only"), nil)
	if r.ExitCode() != 0 {
		t.Fatalf("exit %d:\n%s", r.ExitCode(), text(r))
	}
	out := text(r)
	for _, want := range []string{"calls my-org/release-workflows/.github/workflows/cargo-release.yml@v3 in another repository", "crates.io and npm → release.yml"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q:\n%s", want, out)
		}
	}
	// The lint call is not taken for a publish job.
	if strings.Contains(out, "lint.yml") {
		t.Errorf("lint workflow taken for publishing:\n%s", out)
	}
	// Inside the publish job the running workflow is the caller: it matches,
	// and the token names it in workflow_ref (the environment comes from
	// the called job).
	is, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	id := oidc.DefaultIdentity()
	id.Repository, id.JobWorkflowRepo, id.JobWorkflowFile = "my-org/my-repo", "my-org/release-workflows", "cargo-release.yml"
	is.SetIdentity(id)
	r = run(t, filepath.Join("testdata", "cases", "remote-crates-only"), func(o *Options) {
		o.Env = env.Env{}
		for k, v := range is.Env() {
			o.Env[k] = v
		}
		o.Env["GITHUB_JOB"] = "release"
	})
	if r.ExitCode() != 0 {
		t.Fatalf("in Actions: exit %d:\n%s", r.ExitCode(), text(r))
	}
}

// TestNoEnvironmentAnywherePasses is false alarm 9: no environment in the
// registration, the trust policy or the job is a valid setup.
func TestNoEnvironmentAnywherePasses(t *testing.T) {
	wf := strings.Replace(seedWorkflow, "  contents: write\n", "  contents: write\n  id-token: write\n", 1)
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml + "\n[package.trust_policy]\nworkflow = \"release.yml\"\n",
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": wf,
	})
	r := run(t, root, nil)
	if r.ExitCode() != 0 {
		t.Fatalf("exit %d:\n%s", r.ExitCode(), text(r))
	}
	// Declaring an environment the job lacks is still an error.
	root = writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml + "\n[package.trust_policy]\nworkflow = \"release.yml\"\nenvironment = \"release\"\n",
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": wf,
	})
	if r := run(t, root, nil); r.ExitCode() != 1 || !strings.Contains(text(r), CodeDeclaredEnvironment) && !strings.Contains(text(r), "has no `environment:`") {
		t.Fatalf("declared environment, job without: exit %d:\n%s", r.ExitCode(), text(r))
	}
}

// TestDeclaredRunningWorkflowOnlyFailsInPublishWorkflows: doctor in a pull
// request check (a workflow that does not publish) must not fail every PR;
// doctor in a publish workflow the registry was not told about must.
func TestDeclaredRunningWorkflowOnlyFailsInPublishWorkflows(t *testing.T) {
	check := "name: check\non: pull_request\njobs:\n  doctor:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npx putitoutthere doctor\n"
	for _, c := range []struct {
		running string
		status  Status
	}{
		{"putitoutthere-check.yml", Pass},
		{"hotfix.yml", Fail},
	} {
		t.Run(c.running, func(t *testing.T) {
			root := writeRepo(t, map[string]string{
				"putitoutthere.toml":                        crateToml + "\n[package.trust_policy]\nworkflow = \"release.yml\"\n",
				"crates/my-crate/Cargo.toml":                cargo,
				".github/workflows/release.yml":             initWorkflow,
				".github/workflows/hotfix.yml":              initWorkflow,
				".github/workflows/putitoutthere-check.yml": check,
			})
			r := run(t, root, func(o *Options) {
				o.Env = env.Env{"GITHUB_ACTIONS": "true", "GITHUB_WORKFLOW_REF": "my-org/my-repo/.github/workflows/" + c.running + "@refs/pull/1/merge"}
			})
			if got := r.Phase(PhaseDeclared).Status; got != c.status {
				t.Fatalf("declared phase = %s, want %s\n%s", got, c.status, text(r))
			}
			// The info line is labelled a note so it does not read as a failure.
			if c.status == Pass && !strings.Contains(text(r), "trust-policy: note: package `my-crate`: this run is putitoutthere-check.yml, which does not publish") {
				t.Errorf("no note line:\n%s", text(r))
			}
		})
	}
}

// doctor --artifacts applies the registries' upload rules to the artifacts
// publish would upload (here crates.io's license expression).
func TestArtifactsRegistryRules(t *testing.T) {
	crate := cratefile.Build("my-crate", "0.2.0", map[string]string{
		"Cargo.toml": cratefile.Manifest("my-crate", "0.2.0", "a crate", "MIT OR Apache2"),
		"src/lib.rs": "",
	})
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            crateToml,
		"crates/my-crate/Cargo.toml":    cargo,
		".github/workflows/release.yml": initWorkflow,
	})
	if err := os.MkdirAll(filepath.Join(root, "artifacts", "my-crate-crate"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "artifacts", "my-crate-crate", "my-crate-0.2.0.crate"), crate, 0o644); err != nil {
		t.Fatal(err)
	}
	rows := []plan.Row{{Name: "my-crate", Kind: "crates", Version: "0.2.0", Target: "noarch", ArtifactName: "my-crate-crate"}}
	rels := []plan.Release{{Name: "my-crate", Kind: "crates", Version: "0.2.0"}}
	r := run(t, root, func(o *Options) {
		o.Artifacts = true
		o.Plan = func(context.Context, *config.Config) (*plan.Plan, error) {
			return &plan.Plan{Releases: rels, Rows: rows}, nil
		}
	})
	p := r.Phase(PhaseArtifacts)
	if p.Status != Fail || len(p.Issues()) != 1 || p.Issues()[0].Code != CodeRegistryRule || !strings.Contains(p.Issues()[0].Message, "rule crates/license-invalid") || r.ExitCode() != 1 {
		t.Fatalf("artifacts:\n%s", text(r))
	}
}
