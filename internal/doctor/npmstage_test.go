package doctor

import (
	"strings"
	"testing"

	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/env"
)

const stagedToml = `[putitoutthere]
version = 1

[[package]]
name = "tool"
kind = "npm"
npm = "piot-tool"
path = "tool"
paths = ["tool/**"]
build = "bundled-cli"
targets = ["x86_64-unknown-linux-gnu", "aarch64-apple-darwin"]
npm_publish = "staged"
`

func stagedWorkflow(setup string) string {
	return `name: release
on:
  push:
    branches: [main]
jobs:
  publish:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      id-token: write
    steps:
      - uses: actions/checkout@v4
` + setup + `      - run: npx putitoutthere publish
`
}

// A staged family on a job whose Node and npm cannot stage: doctor says so
// (mode, versions read from the workflow, the approvals a family needs)
// before anything is uploaded.
func TestNPMStagingTooOldJob(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            stagedToml,
		"tool/package.json":             `{"name": "piot-tool", "version": "1.0.0", "bin": {"tool": "bin/tool.js"}}`,
		".github/workflows/release.yml": stagedWorkflow("      - uses: actions/setup-node@v4\n        with:\n          node-version: 20\n"),
	})
	r := run(t, root, nil)
	p := r.Phase(PhaseNPMStaging)
	if p == nil || p.Status != Fail {
		t.Fatalf("phase = %+v\n%s", p, text(r))
	}
	out := text(r)
	for _, want := range []string{
		`tool: npm_publish = "staged"`,
		"Node 20 (actions/setup-node, line 13)",
		"no `npm install -g npm@…` step",
		"3 separate approvals, the top-level package last: piot-tool-x86_64-unknown-linux-gnu, piot-tool-aarch64-apple-darwin, piot-tool",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	codes := map[string]bool{}
	for _, is := range p.Issues() {
		codes[is.Code] = true
	}
	if !codes[CodeNPMTooOldForStage] || !codes[CodeNodeTooOldForStage] {
		t.Errorf("codes = %v", codes)
	}
}

func TestNPMStagingReadyJob(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"putitoutthere.toml":            stagedToml,
		"tool/package.json":             `{"name": "piot-tool", "version": "1.0.0", "bin": {"tool": "bin/tool.js"}}`,
		".github/workflows/release.yml": stagedWorkflow("      - uses: actions/setup-node@v4\n        with:\n          node-version: '22.14'\n      - run: npm install -g npm@11.15.0\n"),
	})
	r := run(t, root, nil)
	p := r.Phase(PhaseNPMStaging)
	if p == nil || p.Status == Fail || len(p.Issues()) != 0 {
		t.Fatalf("phase = %+v\n%s", p, text(r))
	}
	if out := text(r); !strings.Contains(out, "npm 11.15.0 (line 16)") {
		t.Errorf("report:\n%s", out)
	}
}

// With --deep and a maintainer's token doctor reads the trusted publisher's
// permissions from npm (the emulator here): a stage-only publisher is named
// before anything is uploaded, the job's npm must then be able to stage,
// and a package declared direct fails.
func TestNPMStagingStageOnlyFromTrustSettings(t *testing.T) {
	srv, err := npmemu.Start(npmemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if err := srv.CreatePackage("piot-web", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddTrustedPublisher("piot-web", npmemu.TrustedPublisher{Owner: "o", Repo: "r", Workflow: "release.yml", Permissions: []string{npmemu.PermCreateStagedPackage}}); err != nil {
		t.Fatal(err)
	}
	tok := npmemu.NewToken()
	srv.AddUser("alice", tok)
	for _, mode := range []string{"", `npm_publish = "direct"`} {
		root := writeRepo(t, map[string]string{
			"putitoutthere.toml":            "[putitoutthere]\nversion = 1\n\n[[package]]\nname = \"web\"\nkind = \"npm\"\nnpm = \"piot-web\"\npath = \"web\"\npaths = [\"web/**\"]\n" + mode + "\n",
			"web/package.json":              `{"name": "piot-web", "version": "1.0.0"}`,
			".github/workflows/release.yml": stagedWorkflow("      - uses: actions/setup-node@v4\n        with:\n          node-version: 22\n"),
		})
		r := run(t, root, func(o *Options) {
			o.Env = env.Env{"NODE_AUTH_TOKEN": tok, "PUTITOUTTHERE_NPM_REGISTRY": srv.URL()}
			o.Deep = true
		})
		p := r.Phase(PhaseNPMStaging)
		out := text(r)
		if p == nil || p.Status != Fail || !strings.Contains(out, "allows only `npm stage publish` (npm's trusted-publisher settings, read with NODE_AUTH_TOKEN)") {
			t.Fatalf("%q: phase %+v\n%s", mode, p, out)
		}
		codes := map[string]bool{}
		for _, is := range p.Issues() {
			codes[is.Code] = true
		}
		if mode == "" && !codes[CodeNPMTooOldForStage] || mode != "" && !codes["PIOT_NPM_STAGE_ONLY"] {
			t.Errorf("%q: codes = %v\n%s", mode, codes, out)
		}
	}
}
