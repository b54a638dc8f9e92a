package siblings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
)

func write(t *testing.T, root, rel, body string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, root, rel string) string {
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const (
	rootCargo = `[workspace]
members = ["crates/*"]

[workspace.dependencies]
polyglot-core = { path = "crates/core", version = "0.1.0" } # shared
serde = "1"
`
	appCargo = `[package]
name = "polyglot-app"
version = "0.4.0"

[dependencies]
polyglot-core = { path = "../core", version = "0.1" }
core-v0 = { package = "polyglot-core", version = "0.1" } # the published 0.x, on purpose

[target.'cfg(unix)'.build-dependencies]
polyglot-core = { path = "../core", version = "=0.1.0" }

[dev-dependencies]
polyglot-core = { path = "../core" }
`
	libCargo = `[package]
name = "polyglot-lib"
version = "0.2.0"

[dependencies]
polyglot-core.workspace = true
`
	cliJSON = `{
  "name": "@poly/cli",
  "version": "0.3.0",
  "dependencies": {
    "@poly/core": "^0.1.0",
    "left-pad": "^1.3.0"
  },
  "peerDependencies": {
    "@poly/core": ">=0.1.0 <0.2.0"
  },
  "devDependencies": {
    "@poly/core": "^0.1.0"
  }
}
`
	utilsPy = `[project]
name = "polyglot-utils"
version = "0.5.0"
dependencies = [
    "polyglot-core==0.1.0",  # pinned
    "requests>=2",
]

[project.optional-dependencies]
fast = ["Polyglot_Core~=0.1 ; python_version >= '3.9'"]
`
)

func repo(t *testing.T) (string, *config.Config) {
	root := t.TempDir()
	write(t, root, "Cargo.toml", rootCargo)
	write(t, root, "crates/core/Cargo.toml", "[package]\nname = \"polyglot-core\"\nversion = \"0.1.0\"\n")
	write(t, root, "crates/app/Cargo.toml", appCargo)
	write(t, root, "crates/lib/Cargo.toml", libCargo)
	write(t, root, "npm/core/package.json", `{"name":"@poly/core","version":"0.1.0"}`)
	write(t, root, "npm/cli/package.json", cliJSON)
	write(t, root, "py/core/pyproject.toml", "[project]\nname = \"polyglot-core\"\nversion = \"0.1.0\"\n")
	write(t, root, "py/utils/pyproject.toml", utilsPy)
	cfg := &config.Config{Packages: []config.Package{
		{Name: "core", Kind: config.KindCrates, Path: "crates/core", Crate: "polyglot-core"},
		{Name: "app", Kind: config.KindCrates, Path: "crates/app", Crate: "polyglot-app"},
		{Name: "lib", Kind: config.KindCrates, Path: "crates/lib", Crate: "polyglot-lib"},
		{Name: "core-js", Kind: config.KindNPM, Path: "npm/core", NPM: "@poly/core"},
		{Name: "cli", Kind: config.KindNPM, Path: "npm/cli", NPM: "@poly/cli"},
		{Name: "core-py", Kind: config.KindPyPI, Path: "py/core", PyPI: "polyglot-core"},
		{Name: "utils", Kind: config.KindPyPI, Path: "py/utils", PyPI: "polyglot-utils"},
	}}
	return root, cfg
}

func TestComputeAndApply(t *testing.T) {
	root, cfg := repo(t)
	versions := map[string]string{"core": "1.0.0", "core-js": "1.0.0", "core-py": "1.0.0"}
	edits, err := Compute(root, cfg, versions)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range edits {
		got = append(got, e.Package+" "+e.File+" ["+e.Section+"] "+e.Key+": "+e.Old+" -> "+e.New)
	}
	want := []string{
		`app crates/app/Cargo.toml [dependencies] polyglot-core: 0.1 -> 1.0`,
		`app crates/app/Cargo.toml [target.cfg(unix).build-dependencies] polyglot-core: =0.1.0 -> =1.0.0`,
		`lib Cargo.toml [workspace.dependencies] polyglot-core: 0.1.0 -> 1.0.0`,
		`cli npm/cli/package.json [dependencies] @poly/core: ^0.1.0 -> ^1.0.0`,
		`cli npm/cli/package.json [peerDependencies] @poly/core: >=0.1.0 <0.2.0 -> >=1.0.0 <2.0.0`,
		`utils py/utils/pyproject.toml [project.dependencies] polyglot-core: ==0.1.0 -> ==1.0.0`,
		`utils py/utils/pyproject.toml [project.optional-dependencies.fast] Polyglot_Core: ~=0.1 -> ~=1.0`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("edits:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if p := Check(root, edits); len(p) != 0 {
		t.Fatal(p)
	}
	if err := Apply(root, edits); err != nil {
		t.Fatal(err)
	}
	for rel, w := range map[string]string{
		"Cargo.toml":              strings.Replace(rootCargo, `version = "0.1.0" } # shared`, `version = "1.0.0" } # shared`, 1),
		"crates/app/Cargo.toml":   strings.Replace(strings.Replace(appCargo, `version = "0.1" }`+"\ncore-v0", `version = "1.0" }`+"\ncore-v0", 1), `"=0.1.0"`, `"=1.0.0"`, 1),
		"crates/lib/Cargo.toml":   libCargo,
		"npm/cli/package.json":    strings.Replace(strings.Replace(cliJSON, `"@poly/core": "^0.1.0",`, `"@poly/core": "^1.0.0",`, 1), `">=0.1.0 <0.2.0"`, `">=1.0.0 <2.0.0"`, 1),
		"py/utils/pyproject.toml": strings.Replace(strings.Replace(utilsPy, "polyglot-core==0.1.0", "polyglot-core==1.0.0", 1), "Polyglot_Core~=0.1 ", "Polyglot_Core~=1.0 ", 1),
	} {
		if g := read(t, root, rel); g != w {
			t.Errorf("%s:\n%s\nwant:\n%s", rel, g, w)
		}
	}
	// Everything accepts the new versions now: nothing more to rewrite.
	if again, _ := Compute(root, cfg, versions); len(again) != 0 {
		t.Errorf("after apply: %+v", again)
	}
}

// A requirement that already accepts the new version is left as it is.
func TestAcceptingRequirementLeftAlone(t *testing.T) {
	root, cfg := repo(t)
	edits, err := Compute(root, cfg, map[string]string{"core": "0.1.7", "core-js": "0.1.2", "core-py": "0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		if e.Kind != config.KindPyPI && !strings.HasPrefix(e.Old, "=") {
			t.Errorf("rewritten although accepted: %+v", e)
		}
	}
	// Only the pinned Cargo build-dependency (=0.1.0) refuses 0.1.7.
	if len(edits) != 1 || edits[0].Old != "=0.1.0" || edits[0].New != "=0.1.7" {
		t.Fatalf("edits = %+v", edits)
	}
}

// tauri's crates (manifests kept as fixtures): tauri-utils going to 3.0.0
// rewrites every path requirement on it, including the multi-line inline
// tables and those under build-dependencies, leaves tauri-cli's renamed
// registry dependency on tauri-utils 1 alone, and computes the same edits
// on every one of 20 runs.
func TestTauriRequirementsStable(t *testing.T) {
	src, _ := filepath.Abs(filepath.Join("..", "manifest", "testdata", "inherit", "tauri"))
	root := t.TempDir()
	cfg := &config.Config{}
	filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		b, _ := os.ReadFile(p)
		write(t, root, rel, string(b))
		if d.Name() == "Cargo.toml" && filepath.Dir(rel) != "." {
			name := filepath.Base(filepath.Dir(rel))
			cfg.Packages = append(cfg.Packages, config.Package{Name: name, Kind: config.KindCrates, Path: filepath.ToSlash(filepath.Dir(rel)), Crate: name})
		}
		return nil
	})
	versions := map[string]string{"tauri-utils": "3.0.0"}
	var first string
	for i := 0; i < 20; i++ {
		edits, err := Compute(root, cfg, versions)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, e := range edits {
			if e.Key == "tauri-utils-v1" {
				t.Fatalf("renamed registry dependency rewritten: %+v", e)
			}
			lines = append(lines, e.Package+" ["+e.Section+"] "+e.Key+" "+e.Old+" -> "+e.New)
		}
		got := strings.Join(lines, "\n")
		if i == 0 {
			first = got
			if len(edits) < 8 {
				t.Fatalf("edits:\n%s", got)
			}
			if p := Check(root, edits); len(p) != 0 {
				t.Fatalf("cannot write: %v", p)
			}
		} else if got != first {
			t.Fatalf("run %d differs:\n%s\n---\n%s", i, got, first)
		}
	}
	edits, _ := Compute(root, cfg, versions)
	if err := Apply(root, edits); err != nil {
		t.Fatal(err)
	}
	cli := read(t, root, "crates/tauri-cli/Cargo.toml")
	if !strings.Contains(cli, `tauri-utils = { version = "3.0.0", path = "../tauri-utils", features = [`) || !strings.Contains(cli, `tauri-utils-v1 = { version = "1", package = "tauri-utils"`) {
		t.Errorf("tauri-cli after the rewrite:\n%s", cli)
	}
}
