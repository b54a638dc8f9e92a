package doctor

import (
	"strings"
	"testing"
)

// A run: step that publishes without GITHUB_TOKEN is named with its line;
// passing the token (at step, job or workflow level) or using the action
// silences it.
func TestGitHubTokenForReleases(t *testing.T) {
	withEnv := strings.Replace(initWorkflow, "      - run: npx putitoutthere publish\n",
		"      - run: npx putitoutthere publish\n        env:\n          GITHUB_TOKEN: ${{ github.token }}\n", 1)
	jobEnv := strings.Replace(initWorkflow, "    environment: release\n", "    environment: release\n    env:\n      GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n", 1)
	action := strings.Replace(initWorkflow, "      - run: npx putitoutthere publish\n",
		"      - uses: putitoutthere/putitoutthere@v1\n        with:\n          command: publish\n", 1)
	for name, tc := range map[string]struct {
		wf   string
		want bool
	}{
		"missing": {initWorkflow, true}, "step env": {withEnv, false}, "job env": {jobEnv, false}, "action": {action, false},
	} {
		t.Run(name, func(t *testing.T) {
			root := writeRepo(t, map[string]string{
				"putitoutthere.toml":            crateToml,
				"crates/my-crate/Cargo.toml":    cargo,
				".github/workflows/release.yml": tc.wf,
			})
			out := text(run(t, root, nil))
			got := strings.Contains(out, "PIOT_DOCTOR_NO_GITHUB_TOKEN") || strings.Contains(out, "without `GITHUB_TOKEN`")
			if got != tc.want {
				t.Errorf("warning shown = %v, want %v:\n%s", got, tc.want, out)
			}
			if tc.want && !strings.Contains(out, "the step at line 16 runs `putitoutthere publish` without `GITHUB_TOKEN`") {
				t.Errorf("the warning does not name the step's line:\n%s", out)
			}
		})
	}
}
