package initcmd

import (
	"io"
	"testing"

	"github.com/rhysd/actionlint"
)

// The workflows init writes are valid GitHub Actions workflows: actionlint
// checks their syntax, expressions, job needs and action inputs.
func TestWorkflowsLint(t *testing.T) {
	immediate, _ := RenderRelease("immediate", "main")
	scheduled, _ := RenderRelease("scheduled", "main")
	check, _ := RenderCheck()
	pnpm, _ := RenderReleaseFor("immediate", "main", nil, JSTool{Manager: "pnpm", Install: "pnpm install --frozen-lockfile", Exec: "pnpm exec", AtRoot: true, Corepack: true})
	for name, data := range map[string][]byte{"release.yml": immediate, "release-scheduled.yml": scheduled, "putitoutthere-check.yml": check, "release-pnpm.yml": pnpm} {
		l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		errs, err := l.Lint("<stdin>", data, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range errs {
			t.Errorf("%s:%d:%d: %s [%s]", name, e.Line, e.Column, e.Message, e.Kind)
		}
	}
}
