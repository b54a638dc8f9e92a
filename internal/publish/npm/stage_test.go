package npm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/artifacts"
	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/family"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	npmreg "github.com/putitoutthere/putitoutthere/internal/registry/npm"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

// A bundled-cli family staged with the real npm against the emulator: every
// platform package first, the top-level package last, each its own stage;
// nothing is live; the approval hint names them in that order. Staging it
// again stages nothing new.
func TestRealNPMFamilyStagedInOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the real npm")
	}
	if out, err := exec.Command("npm", "stage", "--help").CombinedOutput(); err != nil {
		t.Skipf("npm with `npm stage` (≥ 11.15.0) is not installed: %v %s", err, out)
	}
	srv, err := npmemu.Start(npmemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	tok := npmemu.NewToken()
	srv.AddGranularToken(tok, "alice", nil, npmemu.PermReadWrite)
	e := env.Env{"PATH": os.Getenv("PATH"), "HOME": t.TempDir(), "NODE_AUTH_TOKEN": tok, npmreg.RegistryEnv: srv.URL(),
		"npm_config_cache": t.TempDir(), "npm_config_update_notifier": "false"}
	root := t.TempDir()
	pkg := &config.Package{Name: "tool", Kind: "npm", NPM: "piot-tool", Path: "tool", Tag: "latest", Access: "public",
		Build: config.BuildBundledCLI, NPMPublish: config.NPMPublishStaged,
		Targets: []config.Target{{Triple: "x86_64-unknown-linux-gnu"}, {Triple: "aarch64-apple-darwin"}}}
	members, err := family.Members(pkg)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append([]string{"piot-tool"}, members[0].Name, members[1].Name) {
		if err := srv.CreatePackage(name, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	j := publish.Job{Package: pkg, Release: plan.Release{Name: "tool", Version: "1.2.0"}, Root: root, Env: e, Auth: auth.Resolve("npm", e)}
	for _, m := range members {
		dir := filepath.Join(root, "artifacts", m.Artifact)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "tool"), family.StandIn(m, config.BuildBundledCLI), 0o755)
		j.Rows = append(j.Rows, plan.Row{Name: "tool", Kind: "npm", Target: m.Triple, ArtifactName: m.Artifact, Build: config.BuildBundledCLI})
	}
	top := filepath.Join(root, "artifacts", "tool-pkg")
	os.MkdirAll(top, 0o755)
	os.WriteFile(filepath.Join(top, "package.json"), []byte(`{"name":"piot-tool","version":"0.0.0","bin":{"tool":"bin/tool.js"},"license":"MIT"}`), 0o644)
	j.Rows = append(j.Rows, plan.Row{Name: "tool", Kind: "npm", Target: "main", ArtifactName: "tool-pkg", Build: config.BuildBundledCLI})
	if gaps := artifacts.Check(root, j.Rows); len(gaps) != 0 {
		t.Fatalf("gaps = %v", gaps)
	}
	client, err := npmreg.New(t.Context(), e, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{Client: client, Runner: run.Exec{Base: e}, TempDir: t.TempDir(),
		SetVersion: func(kind, dir, v string) error { _, err := manifest.SetVersion(kind, dir, v); return err }}
	c, err := h.Authorize(t.Context(), j)
	if err != nil {
		t.Fatal(err)
	}
	staged, why, err := h.StageMode(t.Context(), j, c)
	if err != nil || !staged || !strings.Contains(why, "npm_publish") {
		t.Fatalf("StageMode = %v %q %v", staged, why, err)
	}
	ups, err := h.Stage(t.Context(), j, c)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range ups {
		got = append(got, u.Name)
		if u.ID == "" || u.Version != "1.2.0" {
			t.Errorf("stage %+v", u)
		}
	}
	want := []string{members[0].Name, members[1].Name, "piot-tool"}
	if !slices.Equal(got, want) {
		t.Fatalf("staged %v, want %v", got, want)
	}
	var onServer []string
	for _, s := range srv.Stages() {
		onServer = append(onServer, s.PackageName)
	}
	if !slices.Equal(onServer, want) {
		t.Fatalf("the registry received the stages as %v", onServer)
	}
	for _, n := range want {
		if v := srv.Versions(n); slices.Contains(v, "1.2.0") {
			t.Fatalf("%s 1.2.0 is live before approval", n)
		}
	}
	hint := h.ApproveHint(j, ups)
	if i0, i2 := strings.Index(hint, ups[0].ID), strings.Index(hint, ups[2].ID); i0 < 0 || i2 < i0 || !strings.Contains(hint, "top-level package last") {
		t.Fatalf("approve hint = %q", hint)
	}
	// A maintainer's token reads the stages: present, so not gone.
	if gone, known, err := h.StageGone(t.Context(), j, ups); err != nil || !known || gone {
		t.Fatalf("StageGone = %v %v %v", gone, known, err)
	}
	// Staging again finds every version taken: nothing new is staged.
	again, err := h.Stage(t.Context(), j, c)
	if err != nil || len(again) != 3 || len(srv.Stages()) != 3 {
		t.Fatalf("second Stage = %+v, %v; stages %d", again, err, len(srv.Stages()))
	}
	for _, u := range again {
		if u.ID != "" {
			t.Errorf("re-staged %+v", u)
		}
	}
	// Rejected everywhere: gone.
	for _, s := range srv.Stages() {
		srv.Reject(s.ID)
	}
	if gone, known, err := h.StageGone(t.Context(), j, ups); err != nil || !known || !gone {
		t.Fatalf("after rejection StageGone = %v %v %v", gone, known, err)
	}
}

type versionRunner struct{ v string }

func (r versionRunner) Run(_ context.Context, c run.Cmd) (run.Result, error) {
	return run.Result{Stdout: r.v + "\n"}, nil
}

// The npm version check: too old is refused with the fix, new enough passes;
// direct on a stage-only connection is refused, auto stages.
func TestStageModeDecisions(t *testing.T) {
	j, _ := setup(t, env.Env{})
	stageOnly := &publish.Credential{StageOnly: true, StageOnlyNames: []string{"@s/js"}}
	for _, tc := range []struct {
		mode, npm string
		c         *publish.Credential
		staged    bool
		code      string
	}{
		{config.NPMPublishAuto, "11.19.1", nil, false, ""},
		{config.NPMPublishAuto, "11.19.1", stageOnly, true, ""},
		{config.NPMPublishAuto, "11.14.9", stageOnly, true, CodeTooOldForStage},
		{config.NPMPublishStaged, "10.9.2", nil, true, CodeTooOldForStage},
		{config.NPMPublishStaged, "11.15.0", nil, true, ""},
		{config.NPMPublishDirect, "11.19.1", stageOnly, false, npmreg.CodeStageOnly},
		{config.NPMPublishDirect, "9.0.0", nil, false, ""},
	} {
		j.Package.NPMPublish = tc.mode
		h := &Handler{Client: &fakeClient{}, Runner: versionRunner{tc.npm}}
		staged, _, err := h.StageMode(t.Context(), j, tc.c)
		if staged != tc.staged || diag.CodeOf(err) != tc.code && !(err == nil && tc.code == "") {
			t.Errorf("%s npm %s stageOnly=%v: staged=%v err=%v", tc.mode, tc.npm, tc.c != nil, staged, err)
		}
		if tc.code == CodeTooOldForStage && !strings.Contains(diag.HintOf(err), "npm install -g npm@latest") {
			t.Errorf("hint = %q", diag.HintOf(err))
		}
	}
}
