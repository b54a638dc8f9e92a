package cli

// Staged npm releases, end to end: the polyglot world (crate, PyPI, npm)
// whose npm package's trusted publisher allows only `npm stage publish`.
// npm is the real npm client talking to the emulator (its own OIDC exchange
// and `npm stage publish`); cargo is the protocol-speaking fake.

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

// realNPMRunner runs npm for real and everything else through the world's fakes.
type realNPMRunner struct {
	w    *world
	real run.Exec
	// version, when set, is what `npm --version` answers (an old npm).
	version string
	// fake sends every other npm command to the world's fake too (tests
	// that stop before any upload need no real npm).
	fake bool
	// bin, when set, is the npm to run instead of the one on PATH.
	bin string
}

func (r *realNPMRunner) Run(ctx context.Context, c run.Cmd) (run.Result, error) {
	if c.Name != "npm" {
		return r.w.runner.Run(ctx, c)
	}
	if r.version != "" && len(c.Args) == 1 && c.Args[0] == "--version" {
		return run.Result{Stdout: r.version + "\n"}, nil
	}
	if r.fake {
		return r.w.runner.Run(ctx, c)
	}
	if r.bin != "" {
		c.Name = r.bin
	}
	return r.real.Run(ctx, c)
}

// stagedWorld: js-core's trusted publisher allows only staging; the
// repository is private, so npm signs no provenance (Sigstore is not
// reachable here).
func stagedWorld(t *testing.T) (*world, *realNPMRunner) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: runs the real npm")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed")
	}
	out, err := exec.Command("npm", "stage", "--help").CombinedOutput()
	if err != nil {
		t.Skipf("the installed npm has no `npm stage` (needs npm ≥ 11.15.0): %v\n%s", err, out)
	}
	w := newWorld(t)
	id := w.is.Identity()
	id.Visibility = "private"
	w.is.SetIdentity(id)
	if err := w.npm.AddTrustedPublisher("js-core", npmemu.TrustedPublisher{Owner: "octo-org", Repo: "octo-repo", Workflow: "release.yml",
		Permissions: []string{npmemu.PermCreateStagedPackage}}); err != nil {
		t.Fatal(err)
	}
	w.env["npm_config_cache"] = t.TempDir()
	w.env["npm_config_update_notifier"] = "false"
	rr := &realNPMRunner{w: w}
	newRunner = func(e env.Env, _ io.Writer) run.Runner { rr.real = run.Exec{Base: e}; return rr }
	return w, rr
}

type stagedDoc struct {
	Outcome  string `json:"outcome"`
	Packages []struct {
		Name, Status, Tag, Release, Code, Error, Approve string
		TagState                                         string                 `json:"tag_state"`
		Stages                                           []publish.StagedUpload `json:"stages"`
		Notes                                            []string               `json:"notes"`
	} `json:"packages"`
	Error *struct{ Code, Message, Hint string } `json:"error"`
}

func (w *world) stagedJSON(args ...string) (stagedDoc, string, int) {
	w.t.Helper()
	out, errOut, code := w.cli(append([]string{"publish", "--json"}, args...)...)
	var doc stagedDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		w.t.Fatalf("publish --json: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	return doc, errOut, code
}

func stagedStatuses(d stagedDoc) string {
	var s []string
	for _, p := range d.Packages {
		s = append(s, p.Name+"="+p.Status)
	}
	return strings.Join(s, " ")
}

func (d stagedDoc) status(name string) string {
	for _, p := range d.Packages {
		if p.Name == name {
			return p.Status
		}
	}
	return ""
}

func stagedAttempts(s *npmemu.Server) int {
	n := 0
	for _, a := range s.Attempts() {
		if a.Staged {
			n++
		}
	}
	return n
}

// A polyglot release whose npm package may only be staged: the tool knows
// it before the first upload, stages the npm package (exit 0, outcome
// staged, no tag, no release), and a re-run after the approval makes the
// tag and release without staging again.
func TestE2EStagedPolyglotApproveThenRerun(t *testing.T) {
	w, _ := stagedWorld(t)
	doc, stderr, code := w.stagedJSON()
	if code != 0 || doc.Outcome != "staged" || stagedStatuses(doc) != "core=published py-core=published js-core=staged" {
		t.Fatalf("exit %d outcome %s %s %+v\n%s", code, doc.Outcome, stagedStatuses(doc), doc.Error, stderr)
	}
	// Known before anything shipped.
	know, ship := strings.Index(stderr, "will be staged for approval"), strings.Index(stderr, "publishing to crates.io")
	if know < 0 || ship < 0 || know > ship {
		t.Fatalf("the staging decision was not made before the first upload:\n%s", stderr)
	}
	js := doc.Packages[2]
	if len(js.Stages) != 1 || js.Stages[0].ID == "" || !strings.Contains(js.Approve, "npm stage approve "+js.Stages[0].ID) {
		t.Fatalf("js-core stages = %+v approve = %q", js.Stages, js.Approve)
	}
	if js.TagState != "" || js.Release != "" || strings.Contains(w.remoteTags(), "js-core") {
		t.Fatalf("a staged package was tagged or released: %+v tags:\n%s", js, w.remoteTags())
	}
	if v := w.npm.Versions("js-core"); strings.Contains(strings.Join(v, " "), "0.1.0") {
		t.Fatalf("the staged version is live: %v", v)
	}
	for _, a := range w.npm.Attempts() {
		if !a.Staged && a.Name == "js-core" {
			t.Fatalf("npm publish was tried on a stage-only connection: %+v", a)
		}
	}
	if out := gitRun(t, w.origin, w.env, "for-each-ref", publish.StageRefPrefix); !strings.Contains(out, "js-core") {
		t.Fatalf("no stage record on origin: %q", out)
	}

	// status lists the staged version as its own drift.
	out, errOut, scode := w.cli("status", "--json")
	if scode != 0 || !strings.Contains(out, publish.DriftStagedAwaiting) || !strings.Contains(out, js.Stages[0].ID) {
		t.Fatalf("status: exit %d\n%s\n%s", scode, out, errOut)
	}
	// Before approval a re-run does not stage again.
	doc, stderr, code = w.stagedJSON()
	if code != 0 || doc.status("js-core") != "staged" || stagedAttempts(w.npm) != 1 {
		t.Fatalf("re-run before approval: exit %d %s attempts %d\n%s", code, stagedStatuses(doc), stagedAttempts(w.npm), stderr)
	}

	if err := w.npm.Approve(js.Stages[0].ID); err != nil {
		t.Fatal(err)
	}
	// Work went on meanwhile: the tag must name the commit that was staged.
	staged := strings.TrimSpace(gitRun(t, w.dir, w.env, "rev-parse", "HEAD"))
	writeFile(t, w.dir+"/NOTES.md", "later work\n")
	gitRun(t, w.dir, w.env, "add", "NOTES.md")
	gitRun(t, w.dir, w.env, "commit", "-q", "-m", "docs: notes")
	doc, stderr, code = w.stagedJSON()
	if code != 0 || doc.Outcome != "ok" {
		t.Fatalf("re-run after approval: exit %d %s %+v\n%s", code, stagedStatuses(doc), doc.Error, stderr)
	}
	if !strings.Contains(w.remoteTags(), "js-core-v0.1.0") {
		t.Fatalf("no tag after approval:\n%s\n%s", w.remoteTags(), stderr)
	}
	if at := strings.TrimSpace(gitRun(t, w.origin, w.env, "rev-parse", "js-core-v0.1.0^{commit}")); at != staged {
		t.Fatalf("tag js-core-v0.1.0 names %s, want the staged commit %s\n%s", at, staged, stderr)
	}
	if stagedAttempts(w.npm) != 1 {
		t.Fatalf("staged %d times", stagedAttempts(w.npm))
	}
	if out, _, _ := w.cli("status", "--json"); strings.Contains(out, publish.DriftStagedAwaiting) {
		t.Fatalf("status still reports the approved version as staged:\n%s", out)
	}
	if out := gitRun(t, w.origin, w.env, "for-each-ref", publish.StageRefPrefix); strings.TrimSpace(out) != "" {
		t.Fatalf("the stage record outlived the release: %q", out)
	}
	found := false
	for _, r := range w.gh.Releases("octo-org/octo-repo") {
		found = found || r.TagName == "js-core-v0.1.0"
	}
	if !found {
		t.Fatalf("no GitHub Release for js-core-v0.1.0: %+v", w.gh.Releases("octo-org/octo-repo"))
	}
}

// A rejection is reported as such, with what to do, and never re-staged.
func TestE2EStagedRejected(t *testing.T) {
	w, _ := stagedWorld(t)
	doc, stderr, code := w.stagedJSON()
	if code != 0 || doc.Packages[2].Status != "staged" {
		t.Fatalf("exit %d %s\n%s", code, stagedStatuses(doc), stderr)
	}
	if err := w.npm.Reject(doc.Packages[2].Stages[0].ID); err != nil {
		t.Fatal(err)
	}
	// A maintainer's token lets publish read the stage.
	tok := npmemu.NewToken()
	w.npm.AddUser("octocat", tok)
	w.env["NODE_AUTH_TOKEN"] = tok
	doc, stderr, code = w.stagedJSON()
	if code == 0 || doc.status("js-core") != "rejected" || doc.Error == nil || doc.Error.Code != publish.CodeStageRejected || !strings.Contains(doc.Error.Hint, "new version") {
		t.Fatalf("after rejection: exit %d %s %+v\n%s", code, stagedStatuses(doc), doc.Error, stderr)
	}
	if stagedAttempts(w.npm) != 1 || strings.Contains(w.remoteTags(), "js-core") {
		t.Fatalf("rejected version staged again (%d) or tagged:\n%s", stagedAttempts(w.npm), w.remoteTags())
	}
}

// An npm without `npm stage` stops the run before the first upload. With
// PIOT_OLD_NPM (a directory holding such an npm; .ci/run installs npm 10.9.2
// there) the real old npm answers; without it, `npm --version` is answered
// 11.5.1.
func TestE2EStagedNPMTooOld(t *testing.T) {
	w, rr := stagedWorld(t)
	if dir := os.Getenv("PIOT_OLD_NPM"); dir != "" {
		rr.bin = filepath.Join(dir, "npm")
	} else {
		rr.version, rr.fake = "11.5.1", true
	}
	doc, stderr, code := w.stagedJSON()
	if code == 0 || doc.Error == nil || doc.Error.Code != "PIOT_NPM_TOO_OLD_FOR_STAGE" || !strings.Contains(doc.Error.Hint, "npm install -g npm@latest") || !strings.Contains(doc.Error.Message, "has no `npm stage`") {
		t.Fatalf("exit %d %+v\n%s", code, doc.Error, stderr)
	}
	if v := w.crates.Versions("piot-core"); len(v) != 1 || len(w.npm.Attempts()) != 0 {
		t.Fatalf("something shipped: crates %v npm %+v", v, w.npm.Attempts())
	}
}

// npm_publish = "direct" on a stage-only connection: refused before the
// first upload, with the fix.
func TestE2EStagedDeclaredDirectRefused(t *testing.T) {
	w, rr := stagedWorld(t)
	rr.version, rr.fake = "11.19.1", true
	writeFile(t, w.dir+"/putitoutthere.toml", strings.Replace(e2eConfig, "path = \"js\"\n", "path = \"js\"\nnpm_publish = \"direct\"\n", 1))
	gitRun(t, w.dir, w.env, "commit", "-q", "-am", "chore: publish npm directly")
	doc, stderr, code := w.stagedJSON()
	if code == 0 || doc.Error == nil || doc.Error.Code != "PIOT_NPM_STAGE_ONLY" || !strings.Contains(doc.Error.Hint, `npm_publish = \"staged\"`) && !strings.Contains(doc.Error.Hint, `npm_publish = "staged"`) {
		t.Fatalf("exit %d %+v\n%s", code, doc.Error, stderr)
	}
	if v := w.crates.Versions("piot-core"); len(v) != 1 {
		t.Fatalf("the crate shipped: %v", v)
	}
}

// publish --wait polls until a maintainer approves, then tags and releases
// in the same run.
func TestE2EStagedWaitForApproval(t *testing.T) {
	w, _ := stagedWorld(t)
	old := publish.DefaultPollEvery
	publish.DefaultPollEvery = 100 * time.Millisecond
	t.Cleanup(func() { publish.DefaultPollEvery = old })
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 600; i++ {
			if st := w.npm.Stages(); len(st) == 1 {
				time.Sleep(200 * time.Millisecond)
				_ = w.npm.Approve(st[0].ID)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	doc, stderr, code := w.stagedJSON("--wait", "1m")
	<-done
	if code != 0 || doc.Outcome != "ok" || doc.status("js-core") != "published" || !strings.Contains(w.remoteTags(), "js-core-v0.1.0") {
		t.Fatalf("exit %d %s %s %+v\n%s", code, doc.Outcome, stagedStatuses(doc), doc.Error, stderr)
	}
}

// When the exchange does not say the connection may only stage (npm's
// client reads only `token`), the registry's refusal of `npm publish` is the
// signal: an "auto" package is staged in the same run instead of failing it.
func TestE2EStagedAutoAfterRefusal(t *testing.T) {
	w, _ := stagedWorld(t)
	w.npm.OmitExchangePermissions()
	doc, stderr, code := w.stagedJSON()
	if code != 0 || doc.Outcome != "staged" || stagedStatuses(doc) != "core=published py-core=published js-core=staged" {
		t.Fatalf("exit %d outcome %s %s %+v\n%s", code, doc.Outcome, stagedStatuses(doc), doc.Error, stderr)
	}
	js := doc.Packages[2]
	if !strings.Contains(strings.Join(js.Notes, "\n"), "OIDC permission denied for this action") || len(js.Stages) != 1 || js.Stages[0].ID == "" {
		t.Fatalf("js-core = %+v", js)
	}
	refused := 0
	for _, a := range w.npm.Attempts() {
		if a.Name == "js-core" && !a.Staged && a.Status == 403 {
			refused++
		}
	}
	if refused != 1 || stagedAttempts(w.npm) != 1 {
		t.Fatalf("npm publish refused %d times, staged %d times", refused, stagedAttempts(w.npm))
	}
}

// publish --wait: a maintainer rejects the stage while the run waits; with a
// maintainer's token the run sees it, reports the rejection with what to do
// and exits non-zero, without a tag.
func TestE2EStagedWaitRejected(t *testing.T) {
	w, _ := stagedWorld(t)
	old := publish.DefaultPollEvery
	publish.DefaultPollEvery = 100 * time.Millisecond
	t.Cleanup(func() { publish.DefaultPollEvery = old })
	tok := npmemu.NewToken()
	w.npm.AddUser("octocat", tok)
	w.env["NODE_AUTH_TOKEN"] = tok
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 600; i++ {
			if st := w.npm.Stages(); len(st) == 1 {
				time.Sleep(200 * time.Millisecond)
				_ = w.npm.Reject(st[0].ID)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	doc, stderr, code := w.stagedJSON("--wait", "1m")
	<-done
	if code == 0 || doc.status("js-core") != "rejected" || doc.Error == nil || doc.Error.Code != publish.CodeStageRejected {
		t.Fatalf("exit %d %s %+v\n%s", code, stagedStatuses(doc), doc.Error, stderr)
	}
	if strings.Contains(w.remoteTags(), "js-core") {
		t.Fatalf("a rejected version was tagged:\n%s", w.remoteTags())
	}
}

// The exchange does not say, but a maintainer's token is set: publish reads
// the trusted publisher's permissions from npm (as `npm trust list` does)
// and knows before the first upload; npm publish is never tried.
func TestE2EStagedKnownFromTrustSettings(t *testing.T) {
	w, _ := stagedWorld(t)
	w.npm.OmitExchangePermissions()
	tok := npmemu.NewToken()
	w.npm.AddUser("octocat", tok)
	w.env["NODE_AUTH_TOKEN"] = tok
	doc, stderr, code := w.stagedJSON()
	if code != 0 || stagedStatuses(doc) != "core=published py-core=published js-core=staged" {
		t.Fatalf("exit %d %s %+v\n%s", code, stagedStatuses(doc), doc.Error, stderr)
	}
	know, ship := strings.Index(stderr, "read from npm's trusted-publisher settings"), strings.Index(stderr, "publishing to crates.io")
	if know < 0 || ship < 0 || know > ship {
		t.Fatalf("not known before the first upload:\n%s", stderr)
	}
	for _, a := range w.npm.Attempts() {
		if a.Name == "js-core" && !a.Staged {
			t.Fatalf("npm publish was tried: %+v", a)
		}
	}
}

// A token whose account needs 2FA to publish (no "bypass 2FA"): npm publish
// asks for a one-time password, which a CI job cannot give; under "auto" the
// package is staged instead, and the 2FA happens at the approval.
func TestE2EStagedAutoWhenTokenNeeds2FA(t *testing.T) {
	w, _ := stagedWorld(t)
	delete(w.env, "ACTIONS_ID_TOKEN_REQUEST_URL")
	delete(w.env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	tok := npmemu.NewToken()
	w.npm.AddUser("octocat", tok)
	w.npm.SetOTP("octocat", "123456")
	cargoTok := crates.NewAPITokenString()
	w.crates.AddAPIToken(cargoTok)
	pyTok, err := w.pypi.APIToken("octocat")
	if err != nil {
		t.Fatal(err)
	}
	w.env["CARGO_REGISTRY_TOKEN"], w.env["NODE_AUTH_TOKEN"], w.env["PYPI_API_TOKEN"] = cargoTok, tok, pyTok
	doc, stderr, code := w.stagedJSON()
	if code != 0 || doc.status("js-core") != "staged" {
		t.Fatalf("exit %d %s %+v\n%s", code, stagedStatuses(doc), doc.Error, stderr)
	}
	if !strings.Contains(strings.Join(doc.Packages[2].Notes, "\n"), "one-time password") {
		t.Errorf("notes = %v", doc.Packages[2].Notes)
	}
}
