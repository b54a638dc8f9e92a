package manifest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// Every crate of oxc and tauri (manifests as fixtures, see SOURCE.txt)
// resolves to a publishable [package]: name, version, description and a
// license, with no `workspace = true` left anywhere, and the packaged
// manifest is byte-identical on every run.
func TestResolveRealWorkspaces(t *testing.T) {
	for _, repo := range []string{"oxc", "tauri"} {
		root := filepath.Join("testdata", "inherit", repo)
		var dirs []string
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Name() == "Cargo.toml" && filepath.Dir(p) != root {
				dirs = append(dirs, filepath.Dir(p))
			}
			return nil
		})
		if len(dirs) < 10 {
			t.Fatalf("%s: %d crates", repo, len(dirs))
		}
		checked := 0
		for _, dir := range dirs {
			m, err := ReadResolvedCargo(dir)
			if err != nil {
				t.Errorf("%s: %v", dir, err)
				continue
			}
			pkg, _ := m["package"].(map[string]any)
			if pub, ok := pkg["publish"].(bool); ok && !pub {
				continue
			}
			checked++
			for _, k := range []string{"name", "description", "license"} {
				if s, _ := pkg[k].(string); s == "" {
					if k == "license" && pkg["license-file"] != nil {
						continue
					}
					t.Errorf("%s: [package] %s unresolved: %v", dir, k, pkg[k])
				}
			}
			first, err := PackagedCargoToml(dir, "9.9.9")
			if err != nil {
				t.Fatalf("%s: %v", dir, err)
			}
			if bytes.Contains(first, []byte("workspace = true")) {
				t.Errorf("%s: packaged manifest keeps workspace keys:\n%s", dir, first)
			}
			deps, err := CargoDeps(first)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range deps {
				if d.Workspace || d.Path != "" {
					t.Errorf("%s: %s still inherited or by path", dir, d.Key)
				}
			}
			for i := 0; i < 20; i++ {
				again, _ := PackagedCargoToml(dir, "9.9.9")
				if !bytes.Equal(first, again) {
					t.Fatalf("%s: run %d differs", dir, i)
				}
			}
		}
		if checked < 10 {
			t.Errorf("%s: only %d publishable crates checked", repo, checked)
		}
	}
}

func TestResolveCargoMergesFeaturesAndOptional(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "Cargo.toml"), `[workspace]
members = ["a"]
[workspace.package]
version = "1.2.3"
license = "MIT"
[workspace.dependencies]
core = { path = "core", version = "0.4.0", features = ["x"] }
serde = "1"
`)
	writeFile(t, filepath.Join(root, "a", "Cargo.toml"), `[package]
name = "a"
version.workspace = true
license.workspace = true
description.workspace = true
[dependencies]
core = { workspace = true, features = ["y"], optional = true }
[target.'cfg(unix)'.build-dependencies]
serde.workspace = true
`)
	m, err := ReadResolvedCargo(filepath.Join(root, "a"))
	if err == nil || !strings.Contains(err.Error(), "no [workspace.package] description") {
		t.Fatalf("err = %v", err)
	}
	pkg := m["package"].(map[string]any)
	if pkg["version"] != "1.2.3" || pkg["license"] != "MIT" {
		t.Errorf("package = %v", pkg)
	}
	core := m["dependencies"].(map[string]any)["core"].(map[string]any)
	if core["version"] != "0.4.0" || core["optional"] != true || len(core["features"].([]any)) != 2 {
		t.Errorf("core = %v", core)
	}
	out, _ := PackagedCargoToml(filepath.Join(root, "a"), "2.0.0")
	var back map[string]any
	if err := toml.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if back["package"].(map[string]any)["version"] != "2.0.0" {
		t.Errorf("version: %s", out)
	}
	serde := back["target"].(map[string]any)["cfg(unix)"].(map[string]any)["build-dependencies"].(map[string]any)["serde"].(map[string]any)
	if serde["version"] != "1" {
		t.Errorf("serde: %s", out)
	}
	if strings.Contains(string(out), "path") {
		t.Errorf("path kept:\n%s", out)
	}
}
