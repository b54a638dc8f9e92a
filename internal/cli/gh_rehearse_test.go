package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/env"
)

// rehearse inside Actions writes a step summary with its verdict and a row
// per package.
func TestRehearseStepSummary(t *testing.T) {
	dir := rehearsalRepo(t, rehearseWorkflow, false)
	summary := filepath.Join(t.TempDir(), "summary.md")
	e := env.Env{"PATH": os.Getenv("PATH"), "HOME": t.TempDir(), "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary}
	var out, errb bytes.Buffer
	code := MainEnv(context.Background(), []string{"--cwd", dir, "rehearse"}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, e)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### putitoutthere rehearse: ✅ passed", "Repository `acme/mono`, workflow `release.yml`", "| ✅ published | utils | 0.1.1 | PyPI |"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("summary lacks %q:\n%s", want, b)
		}
	}
}
