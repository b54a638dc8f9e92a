package artifacts

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/plan"
)

func TestMissingNpmEntries(t *testing.T) {
	pj := `{"name":"x","main":"dist/index","module":"./dist/index.mjs","types":"dist/index.d.ts",
	"bin":{"x":"bin/x.js","y":"bin/y"},
	"exports":{".":{"import":"./dist/index.mjs","require":"./dist/index.cjs"},"./package.json":"./package.json","./feature/*":"./dist/feature/*.js","./gone":null}}`
	files := []string{"package.json", "dist/index.js", "dist/index.mjs", "bin/x.js"}
	got, err := MissingNpmEntries([]byte(pj), files)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{"types points at dist/index.d.ts", "bin.y points at bin/y", `exports["."]["require"] points at ./dist/index.cjs`} {
		if !strings.Contains(joined, want) {
			t.Errorf("missing %q in\n%s", want, joined)
		}
	}
	if len(got) != 3 {
		t.Errorf("want 3 problems (main resolves to dist/index.js), got %q", got)
	}
}

func TestNpmPackFiles(t *testing.T) {
	out := "> x@1.0.0 prepack\n> echo hi\n\nhi\n[\n  {\n    \"id\": \"x@1.0.0\",\n    \"files\": [{\"path\": \"package.json\", \"size\": 2, \"mode\": 420}, {\"path\": \"index.js\", \"size\": 1, \"mode\": 420}]\n  }\n]\n"
	files, err := NpmPackFiles([]byte(out))
	if err != nil || strings.Join(files, ",") != "package.json,index.js" {
		t.Fatalf("files = %v, %v", files, err)
	}
}

// A tarball whose main is missing, or that still holds a workspace: range,
// is refused by the packaging check (before the first upload).
func TestPackagingTarballEntriesAndWorkspace(t *testing.T) {
	root := t.TempDir()
	tgz := filepath.Join(root, Dir, "js-pkg", "js-1.2.0.tgz")
	tarGz(t, tgz, map[string]string{
		"package/package.json": `{"name":"js","version":"1.2.0","main":"dist/index.js","dependencies":{"core":"workspace:^"}}`,
		"package/README.md":    "",
	})
	rows := []plan.Row{{Name: "js", Kind: "npm", Version: "1.2.0", Target: "noarch", ArtifactName: "js-pkg"}}
	got := CheckPackaging(root, rows, Want{Kind: "npm", Name: "js", Version: "1.2.0"})
	if len(got) != 2 || !strings.Contains(got[0], "main points at dist/index.js") || !strings.Contains(got[1], `dependencies core is "workspace:^"`) {
		t.Fatalf("problems = %q", got)
	}
}

func TestCrateTargetsAndWheelPackage(t *testing.T) {
	root := t.TempDir()
	c := filepath.Join(root, "a.crate")
	tarGz(t, c, map[string]string{"a-1.0.0/Cargo.toml": "[package]\nname = \"a\"\n\n[lib]\npath = \"src/lib.rs\"\n\n[[bin]]\nname = \"a\"\npath = \"src/main.rs\"\n", "a-1.0.0/src/main.rs": ""})
	if got := CrateTargetsPresent(c); len(got) != 1 || !strings.Contains(got[0], "[lib] path src/lib.rs") {
		t.Fatalf("crate = %q", got)
	}
	w := filepath.Join(root, "a-1.0.0-py3-none-any.whl")
	zipFile(t, w, map[string]string{"a-1.0.0.dist-info/METADATA": "Name: a\n", "a-1.0.0.data/scripts/x": ""})
	if WheelHoldsPackage(w) == "" {
		t.Fatal("an empty wheel passed")
	}
	zipFile(t, w, map[string]string{"a-1.0.0.dist-info/METADATA": "Name: a\n", "a/_native.abi3.so": ""})
	if p := WheelHoldsPackage(w); p != "" {
		t.Fatal(p)
	}
}

func TestPackagingTarballSiblingRange(t *testing.T) {
	root := t.TempDir()
	tarGz(t, filepath.Join(root, Dir, "cli-pkg", "cli-0.1.1.tgz"), map[string]string{
		"package/package.json": `{"name":"cli","version":"0.1.1","dependencies":{"core":"^0.1.0"},"devDependencies":{"core":"^0.1.0"}}`,
	})
	rows := []plan.Row{{Name: "cli", Kind: "npm", Version: "0.1.1", Target: "noarch", ArtifactName: "cli-pkg"}}
	got := CheckPackaging(root, rows, Want{Kind: "npm", Name: "cli", Version: "0.1.1", NPM: map[string]string{"core": "1.0.0"}})
	if len(got) != 1 || !strings.Contains(got[0], `requires core "^0.1.0", which does not accept 1.0.0`) {
		t.Fatalf("problems = %q", got)
	}
}
