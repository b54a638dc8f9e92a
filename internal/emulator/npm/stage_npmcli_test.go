package npm_test

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
)

// needStage skips when the npm on PATH has no `stage` command (npm < 11.15).
func needStage(t *testing.T, cli *npmCLI) {
	t.Helper()
	out, _, err := cli.run(t.TempDir(), "--version")
	if err != nil {
		t.Skipf("npm --version: %v", err)
	}
	if _, _, err := cli.run(t.TempDir(), "stage", "--help"); err != nil {
		if _, ok := err.(*exec.ExitError); ok {
			t.Skipf("npm %s has no `stage` command (staged publishing needs npm ≥ 11.15.0)", strings.TrimSpace(out))
		}
	}
}

var stagedLine = regexp.MustCompile(`\(staged with id ([0-9a-f-]{36})\)`)

// The real npm drives the whole staged flow against the emulator: a
// stage-only trusted publisher refuses `npm publish` with the registry's
// words and accepts `npm stage publish`; the staged version is invisible
// but takes its number; the maintainer lists, views, approves (with 2FA)
// and rejects.
func TestRealNPMStagedPublishing(t *testing.T) {
	t.Parallel()
	iss, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	srv := startNPM(t, npmemu.Options{Verifier: iss})
	if err := srv.CreatePackage("piot-stage", "alice"); err != nil {
		t.Fatal(err)
	}
	id := iss.Identity()
	owner, repo, _ := strings.Cut(id.Repository, "/")
	if err := srv.AddTrustedPublisher("piot-stage", npmemu.TrustedPublisher{Owner: owner, Repo: repo, Workflow: id.WorkflowFile, Environment: id.Environment,
		Permissions: []string{npmemu.PermCreateStagedPackage}}); err != nil {
		t.Fatal(err)
	}
	ci := newNPM(t, "", iss.Env())
	needStage(t, ci)
	reg := "--registry=" + srv.URL()
	repoURL := map[string]any{"type": "git", "url": "git+https://github.com/" + id.Repository + ".git"}

	dir := writePackage(t, map[string]any{"name": "piot-stage", "version": "1.0.0", "repository": repoURL})
	_, stderr, err := ci.run(dir, "publish", "--provenance=false", reg)
	if err == nil || !strings.Contains(stderr, "E403") || !strings.Contains(stderr, "OIDC permission denied for this action") {
		t.Fatalf("npm publish on a stage-only connection: err=%v\n%s", err, stderr)
	}
	out, stderr, err := ci.run(dir, "stage", "publish", "--provenance=false", reg)
	if err != nil {
		t.Fatalf("npm stage publish: %v\n%s", err, stderr)
	}
	m := stagedLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("npm stage publish printed no stage id:\n%s", out)
	}
	stageID := m[1]
	if v := srv.Versions("piot-stage"); strings.Contains(strings.Join(v, ","), "1.0.0") {
		t.Fatalf("a staged version is visible: %v", v)
	}
	// The number is taken.
	if _, stderr, err := ci.run(dir, "stage", "publish", "--provenance=false", reg); err == nil || !strings.Contains(stderr, "cannot publish over") {
		t.Fatalf("staging the same version twice: err=%v\n%s", err, stderr)
	}

	// The maintainer's side: a session with 2FA.
	session := npmemu.NewToken()
	srv.AddUser("alice", session)
	srv.SetOTP("alice", "135790")
	maint := newNPM(t, srv.NpmrcAuthLine(session)+"\n", nil)
	out, stderr, err = maint.run(t.TempDir(), "stage", "list", "piot-stage", "--json", reg)
	if err != nil {
		t.Fatalf("npm stage list: %v\n%s", err, stderr)
	}
	var items []map[string]any
	if err := json.Unmarshal([]byte(out), &items); err != nil || len(items) != 1 || items[0]["id"] != stageID || items[0]["version"] != "1.0.0" {
		t.Fatalf("npm stage list --json = %s (%v)", out, err)
	}
	out, stderr, err = maint.run(t.TempDir(), "stage", "view", stageID, reg)
	if err != nil || !strings.Contains(out, "piot-stage") || !strings.Contains(out, "oidc") {
		t.Fatalf("npm stage view: %v\n%s\n%s", err, out, stderr)
	}
	// The exchanged token cannot list.
	if _, stderr, err := ci.run(t.TempDir(), "stage", "list", reg); err == nil {
		t.Fatalf("stage list without a user token succeeded\n%s", stderr)
	}
	if _, stderr, err := maint.run(t.TempDir(), "stage", "approve", stageID, reg); err == nil || !strings.Contains(stderr, "EOTP") {
		t.Fatalf("approve without an OTP: err=%v\n%s", err, stderr)
	}
	if out, stderr, err := maint.run(t.TempDir(), "stage", "approve", stageID, "--otp=135790", reg); err != nil || !strings.Contains(out, "approved") {
		t.Fatalf("npm stage approve: %v\n%s\n%s", err, out, stderr)
	}
	if tags := srv.DistTags("piot-stage"); tags["latest"] != "1.0.0" {
		t.Fatalf("after approval dist-tags = %v", tags)
	}
	out, _, err = maint.run(t.TempDir(), "view", "piot-stage@1.0.0", "version", reg)
	if err != nil || strings.TrimSpace(out) != "1.0.0" {
		t.Fatalf("npm view after approval = %q, %v", out, err)
	}

	// Stage 1.0.1 and reject it: the record is gone and nothing is live.
	dir2 := writePackage(t, map[string]any{"name": "piot-stage", "version": "1.0.1", "repository": repoURL})
	out, stderr, err = ci.run(dir2, "stage", "publish", "--provenance=false", reg)
	if err != nil {
		t.Fatalf("npm stage publish 1.0.1: %v\n%s", err, stderr)
	}
	id2 := stagedLine.FindStringSubmatch(out)[1]
	if out, stderr, err := maint.run(t.TempDir(), "stage", "reject", id2, "--otp=135790", reg); err != nil || !strings.Contains(out, "rejected") {
		t.Fatalf("npm stage reject: %v\n%s\n%s", err, out, stderr)
	}
	if _, _, err := maint.run(t.TempDir(), "stage", "view", id2, reg); err == nil {
		t.Fatal("a rejected stage can still be viewed")
	}
	if len(srv.Stages()) != 0 {
		t.Fatalf("stages left: %+v", srv.Stages())
	}
}

// A token (here a granular one) stages a package that does not exist yet:
// the registry shows the public placeholder until approval.
func TestRealNPMStageCreatesPackageWithToken(t *testing.T) {
	t.Parallel()
	srv := startNPM(t, npmemu.Options{})
	tok := npmemu.NewToken()
	srv.AddGranularToken(tok, "bob", nil, npmemu.PermReadWrite)
	cli := newNPM(t, srv.NpmrcAuthLine(tok)+"\n", nil)
	needStage(t, cli)
	dir := writePackage(t, map[string]any{"name": "piot-brand-new", "version": "0.1.0"})
	if out, stderr, err := cli.run(dir, "stage", "publish", "--registry="+srv.URL()); err != nil || !stagedLine.MatchString(out) {
		t.Fatalf("npm stage publish of a new package: %v\n%s\n%s", err, out, stderr)
	}
	if v := srv.Versions("piot-brand-new"); len(v) != 1 || v[0] != npmemu.StagePlaceholder {
		t.Fatalf("versions = %v, want only the placeholder", v)
	}
}

// `npm trust list` reads a package's trusted publisher and its permissions
// from the emulator.
func TestRealNPMTrustList(t *testing.T) {
	t.Parallel()
	srv := startNPM(t, npmemu.Options{})
	if err := srv.CreatePackage("piot-trust", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddTrustedPublisher("piot-trust", npmemu.TrustedPublisher{Owner: "octo-org", Repo: "octo-repo", Workflow: "release.yml", Environment: "release",
		Permissions: []string{npmemu.PermCreateStagedPackage}}); err != nil {
		t.Fatal(err)
	}
	session := npmemu.NewToken()
	srv.AddUser("alice", session)
	cli := newNPM(t, srv.NpmrcAuthLine(session)+"\n", nil)
	out, stderr, err := cli.run(t.TempDir(), "trust", "list", "piot-trust", "--registry="+srv.URL())
	if err != nil && strings.Contains(stderr, "Unknown command") {
		t.Skipf("this npm has no `npm trust`: %s", stderr)
	}
	if err != nil {
		t.Fatalf("npm trust list: %v\n%s", err, stderr)
	}
	for _, want := range []string{"octo-org/octo-repo", "release.yml", "stage publish"} {
		if !strings.Contains(out, want) {
			t.Errorf("npm trust list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "publish, stage publish") {
		t.Errorf("a stage-only publisher listed as allowing publish:\n%s", out)
	}
}
