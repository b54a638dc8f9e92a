package rehearse

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/artifacts"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/plan"
)

// The crates of oxc and tauri (their manifests, kept as fixtures under
// internal/manifest/testdata/inherit with the commit they came from) inherit
// license, description and dependencies from the workspace, and tauri's
// require tauri-utils twice (a renamed older major) and per target. Their
// rehearsal stand-ins, released together at a patch version, pass the
// packaging check and crates.io's rules, the same way on every one of 20
// runs.
func TestStandInsOfRealWorkspacesPassPackaging(t *testing.T) {
	for _, repo := range []string{"oxc", "tauri"} {
		root, _ := filepath.Abs(filepath.Join("..", "manifest", "testdata", "inherit", repo))
		type crate struct {
			pkg *config.Package
			row plan.Row
		}
		var crates []crate
		planned := map[string]string{}
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.Name() != "Cargo.toml" || filepath.Dir(p) == root {
				return nil
			}
			m, err := manifest.ReadResolvedCargo(filepath.Dir(p))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			pkg, _ := m["package"].(map[string]any)
			if pub, ok := pkg["publish"].(bool); ok && !pub {
				return nil
			}
			name, _ := pkg["name"].(string)
			v, _ := pkg["version"].(string)
			next, err := plan.Bump(v, plan.BumpPatch)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			planned[name] = next
			crates = append(crates, crate{
				pkg: &config.Package{Name: name, Kind: config.KindCrates, Path: filepath.ToSlash(rel), Crate: name},
				row: plan.Row{Name: name, Kind: config.KindCrates, Version: next, Target: "crate", ArtifactName: name + "-crate"},
			})
			return nil
		})
		sort.Slice(crates, func(i, j int) bool { return crates[i].pkg.Name < crates[j].pkg.Name })
		if len(crates) < 10 {
			t.Fatalf("%s: %d crates", repo, len(crates))
		}
		var first string
		for run := 0; run < 20; run++ {
			out := t.TempDir()
			var problems []string
			for _, c := range crates {
				files, err := standIns(root, c.pkg, c.row)
				if err != nil {
					t.Fatalf("%s: %v", c.pkg.Name, err)
				}
				for n, f := range files {
					p := filepath.Join(out, artifacts.Dir, c.row.ArtifactName, n)
					os.MkdirAll(filepath.Dir(p), 0o755)
					os.WriteFile(p, f.data, f.mode)
				}
				w := artifacts.Want{Package: c.pkg.Name, Kind: config.KindCrates, Name: c.pkg.Name, Version: c.row.Version, Crates: planned}
				problems = append(problems, artifacts.CheckPackaging(out, []plan.Row{c.row}, w)...)
				problems = append(problems, artifacts.CheckRules(out, []plan.Row{c.row}, w)...)
			}
			got := strings.Join(problems, "\n")
			if run == 0 {
				first = got
				if got != "" {
					t.Errorf("%s: packaging problems on stand-ins:\n%s", repo, got)
				}
			} else if got != first {
				t.Fatalf("%s: run %d differs from the first:\n%s\n---\n%s", repo, run, got, first)
			}
		}
	}
}
