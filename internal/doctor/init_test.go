package doctor_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/doctor"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/initcmd"
)

// TestInitPassesDoctor: what `putitoutthere init` writes must pass doctor
// with no failure (SPEC §8), for both cadences.
func TestInitPassesDoctor(t *testing.T) {
	for _, cadence := range []string{config.CadenceImmediate, config.CadenceScheduled} {
		t.Run(cadence, func(t *testing.T) {
			root := t.TempDir()
			for name, body := range map[string]string{
				"crates/core/Cargo.toml": "[package]\nname = \"core\"\nversion = \"0.1.0\"\ndescription = \"x\"\nlicense = \"MIT\"\n",
				"py/pyproject.toml":      "[project]\nname = \"my-py\"\nversion = \"0.1.0\"\n",
				"web/package.json":       `{"name": "@org/web", "version": "0.1.0", "repository": {"type": "git", "url": "git+https://github.com/my-org/my-repo.git"}}`,
			} {
				p := filepath.Join(root, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res, err := initcmd.Run(context.Background(), initcmd.Options{Root: root, Cadence: cadence, Branch: "main"})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Packages) != 3 {
				t.Fatalf("init found %d packages", len(res.Packages))
			}
			r := doctor.Run(context.Background(), doctor.Options{
				Root: root, ConfigFile: filepath.Join(root, config.FileName), Env: env.Env{},
				Remote: func(context.Context) string { return "https://github.com/my-org/my-repo.git" },
			})
			var out bytes.Buffer
			r.WriteText(&out)
			if r.ExitCode() != 0 {
				t.Fatalf("doctor exit %d on init's output:\n%s", r.ExitCode(), out.String())
			}
			local := r.Phase(doctor.PhaseLocal)
			if len(local.Checks) != 1 || local.Checks[0].Status != doctor.Pass {
				t.Errorf("local phase: want exactly one clean publish workflow (the PR check is a dry run):\n%s", out.String())
			}
		})
	}
}
