package cli

import (
	"os/exec"
	"strings"
	"testing"
)

const rehearseNPMConfig = `[putitoutthere]
version = 1

[[package]]
name = "web"
kind = "npm"
npm = "rehearse-web"
path = "web"
paths = ["web/**"]
`

// rehearse --npm-stage-only: the npm package's trusted publisher allows only
// staging; the rehearsal says it will stage before anything is uploaded,
// stages it (no tag), and with --approve approves on the maintainer's behalf
// and publishes again, which makes the tag and release.
func TestRehearseNPMStageOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the real npm")
	}
	if out, err := exec.Command("npm", "stage", "--help").CombinedOutput(); err != nil {
		t.Skipf("npm with `npm stage` (≥ 11.15.0) is not installed: %v %s", err, out)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		".github/workflows/release.yml": rehearseWorkflow,
		"putitoutthere.toml":            rehearseNPMConfig,
		"web/package.json":              `{"name": "rehearse-web", "version": "0.1.0", "main": "index.js", "repository": {"type": "git", "url": "git+https://github.com/acme/mono.git"}}`,
		"web/index.js":                  "module.exports = 1\n",
	})
	gitIn(t, dir, "init", "-q", "-b", "main")
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-qm", "initial")
	gitIn(t, dir, "tag", "web-v0.1.0")
	writeFiles(t, dir, map[string]string{"web/index.js": "module.exports = 2\n"})
	gitIn(t, dir, "commit", "-qam", "web: change")
	gitIn(t, dir, "remote", "add", "origin", "https://github.com/acme/mono.git")

	code, out, doc := rehearseIn(t, dir, "--npm-stage-only")
	if code != 0 || doc["outcome"] != "staged" {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{`"npm_actions": "stage publish only"`, "will be staged for approval", `"status": "staged"`, "npm stage approve "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
	if strings.Contains(out, `"PUT"`) {
		t.Errorf("npm publish was tried:\n%s", out)
	}

	code, out, doc = rehearseIn(t, dir, "--npm-stage-only", "--approve")
	if code != 0 || doc["outcome"] != "ok" || doc["approved"] == nil {
		t.Fatalf("--approve: exit %d\n%s", code, out)
	}
	after, _ := doc["after_approval"].(map[string]any)
	pkgs, _ := after["packages"].([]any)
	if len(pkgs) != 1 {
		t.Fatalf("after_approval = %v", after)
	}
	p := pkgs[0].(map[string]any)
	if p["status"] != "already-published" || p["tag_state"] != "pushed" {
		t.Fatalf("after approval: %v\n%s", p, out)
	}
}
