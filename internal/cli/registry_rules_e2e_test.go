package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/cratefile"
	"github.com/putitoutthere/putitoutthere/internal/pydist/pydisttest"
)

// A package the registry would refuse stops publish (with OIDC) before its
// first upload, naming the rule; the same package without the fault
// publishes. Each case breaks one rule read from the registries' sources.
func TestE2ERegistryRulesStopBeforeFirstUpload(t *testing.T) {
	pyDir := func(w *world) string { return filepath.Join(w.dir, "artifacts", "py-core-sdist") }
	rewritePy := func(w *world, s pydisttest.Spec) {
		os.RemoveAll(pyDir(w))
		if err := os.MkdirAll(pyDir(w), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, _, err := pydisttest.WriteBoth(pyDir(w), s); err != nil {
			t.Fatal(err)
		}
	}
	rewriteCrate := func(w *world, extra string) {
		m := "[package]\nname = \"piot-core\"\nversion = \"0.1.0\"\nedition = \"2021\"\ndescription = \"core\"\n" + extra
		data := cratefile.Build("piot-core", "0.1.0", map[string]string{"Cargo.toml": m, "src/lib.rs": "pub fn f() {}\n"})
		writeFile(t, filepath.Join(w.dir, "artifacts", "core-crate", "piot-core-0.1.0.crate"), string(data))
	}
	cases := []struct {
		name, rule, text string
		setup            func(w *world)
	}{
		{"invalid classifier", "pypi/classifier-invalid", "'Framework :: Nope' is not a valid classifier.", func(w *world) {
			rewritePy(w, pydisttest.Spec{Name: "py-core", Version: "0.1.0", Extra: [][2]string{{"Classifier", "Framework :: Nope"}}})
		}},
		{"License with License-Expression", "pypi/license-with-expression", "License is deprecated when License-Expression is present.", func(w *world) {
			rewritePy(w, pydisttest.Spec{Name: "py-core", Version: "0.1.0", Extra: [][2]string{{"License-Expression", "MIT"}}})
		}},
		{"macosx platform tag with a minor version", "pypi/wheel-platform-tag", "has an unsupported platform tag 'macosx_11_3_arm64'.", func(w *world) {
			rewritePy(w, pydisttest.Spec{Name: "py-core", Version: "0.1.0", Python: "cp312", ABI: "cp312", Platform: "macosx_11_3_arm64"})
		}},
		{"direct URL dependency", "pypi/direct-dependency", "Can't have direct dependency: dep@ https://example.com/dep.tar.gz.", func(w *world) {
			rewritePy(w, pydisttest.Spec{Name: "py-core", Version: "0.1.0", Extra: [][2]string{{"Requires-Dist", "dep @ https://example.com/dep.tar.gz"}}})
		}},
		{"sdist over PyPI's 100 MB", "pypi/file-too-large", "File too large. Limit for project 'py-core' is 100 MB.", func(w *world) {
			rewritePy(w, pydisttest.Spec{Name: "py-core", Version: "0.1.0"})
			// A valid sdist followed by 150 MB of (sparse) padding.
			if err := os.Truncate(filepath.Join(pyDir(w), "py_core-0.1.0.tar.gz"), 150<<20); err != nil {
				t.Fatal(err)
			}
		}},
		{"crate license that is not SPDX", "crates/license-invalid", "MIT OR Apache2\n       ^^^^^^^ unknown term", func(w *world) {
			rewriteCrate(w, "license = \"MIT OR Apache2\"\n")
		}},
		{"unknown crates.io category", "crates/category-unknown", "The following category slugs are not currently supported on crates.io: cli", func(w *world) {
			rewriteCrate(w, "license = \"MIT\"\ncategories = [\"cli\"]\n")
		}},
		{"new PyPI project named like a standard-library module", "pypi/name-stdlib", "The name 'asyncio' isn't allowed (conflict with Python Standard Library module name).", func(w *world) {
			cfg := strings.Replace(e2eConfig, "name = \"py-core\"\nkind = \"pypi\"\n", "name = \"py-core\"\nkind = \"pypi\"\npypi = \"asyncio\"\n", 1)
			writeFile(t, filepath.Join(w.dir, "putitoutthere.toml"), cfg)
			gitRun(t, w.dir, w.env, "commit", "-qam", "publish py-core as asyncio")
			rewritePy(w, pydisttest.Spec{Name: "asyncio", Version: "0.1.0"})
		}},
		{"crate description over 1000 bytes", "crates/description-too-long", "The `description` is too long.", func(w *world) {
			data := cratefile.Build("piot-core", "0.1.0", map[string]string{"Cargo.toml": "[package]\nname = \"piot-core\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"MIT\"\ndescription = \"" + strings.Repeat("é", 600) + "\"\n", "src/lib.rs": ""})
			writeFile(t, filepath.Join(w.dir, "artifacts", "core-crate", "piot-core-0.1.0.crate"), string(data))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			c.setup(w)
			doc, stderr, code := w.publishJSON()
			if code != 1 || doc.Error == nil || doc.Error.Code != "PIOT_REGISTRY_RULE" || !strings.Contains(doc.Error.Message, "rule "+c.rule+",") || !strings.Contains(doc.Error.Message, c.text) {
				t.Fatalf("exit %d %+v\n%s", code, doc.Error, stderr)
			}
			if len(w.crates.Attempts()) != 0 || len(w.pypi.Projects()) != 0 || len(w.runner.Calls()) != 0 {
				t.Fatalf("uploaded despite the refusal: crates %v, pypi %v, tools %v", w.crates.Attempts(), w.pypi.Projects(), w.runner.Calls())
			}
			// publish --dry-run lists the same problem.
			out, stderr, _ := w.cli("publish", "--dry-run")
			if !strings.Contains(out+stderr, "rule "+c.rule+",") {
				t.Errorf("publish --dry-run does not name %s:\n%s\n%s", c.rule, out, stderr)
			}
		})
	}
}
