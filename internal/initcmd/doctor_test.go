package initcmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/doctor"
	"github.com/putitoutthere/putitoutthere/internal/env"
)

// runDoctor runs doctor on root as a laptop would (no Actions, no tokens,
// no network) and fails the test on any failing phase.
func runDoctor(t *testing.T, root, origin string) {
	t.Helper()
	r := doctor.Run(context.Background(), doctor.Options{
		Root:        root,
		ConfigFile:  filepath.Join(root, FileConfig),
		Env:         env.Env{},
		Remote:      func(context.Context) string { return origin },
		NPMRegistry: func(context.Context) string { return "" },
	})
	if r.Failed() || r.ExitCode() != 0 {
		var b bytes.Buffer
		r.WriteText(&b)
		t.Errorf("doctor fails on %s:\n%s", root, b.String())
	}
}

// SPEC §8: what init writes must pass doctor, for either cadence and with
// no manifests found.
func TestInitOutputPassesDoctor(t *testing.T) {
	for _, cadence := range []string{"immediate", "scheduled"} {
		t.Run(cadence, func(t *testing.T) {
			root := monorepo(t)
			// npm packages need repository.url for provenance; give them one
			// so doctor's warnings do not hide a failure.
			for _, p := range []string{"js/acme", "js/cli", "js/napi"} {
				b, _ := os.ReadFile(filepath.Join(root, p, "package.json"))
				b = bytes.Replace(b, []byte(`"version"`), []byte(`"repository": {"url": "git+https://github.com/acme/mono.git"}, "version"`), 1)
				write(t, root, p+"/package.json", string(b))
			}
			if _, err := Run(context.Background(), Options{Root: root, Cadence: cadence, Branch: "main"}); err != nil {
				t.Fatal(err)
			}
			runDoctor(t, root, "https://github.com/acme/mono.git")
		})
	}
}

func TestExamplePassesDoctor(t *testing.T) {
	runDoctor(t, filepath.Join("..", "..", "examples", "polyglot"), "https://github.com/polyglot-example/polyglot.git")
}
