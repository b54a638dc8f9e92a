package rules

import (
	"strings"
	"testing"
)

func TestPlatformTags(t *testing.T) {
	// Cases from pypi/warehouse tests/unit/forklift/test_legacy.py
	// (test_upload_succeeds_with_wheel / test_upload_fails_with_unsupported_wheel_plat)
	// and the tags named in the issue.
	good := []string{"any", "win32", "win_amd64", "manylinux1_x86_64", "manylinux2014_aarch64", "manylinux_2_17_x86_64",
		"manylinux_2_28_ppc64", "musllinux_1_2_x86_64", "musllinux_1_1_riscv64", "macosx_10_9_x86_64", "macosx_10_13_universal2",
		"macosx_11_0_arm64", "macosx_14_0_x86_64", "macosx_26_0_arm64", "ios_13_0_arm64_iphoneos", "ios_13_0_x86_64_iphonesimulator",
		"android_21_arm64_v8a", "pyemscripten_2024_0_wasm32"}
	bad := []string{"macosx_11_3_arm64", "manylinux_2_36_loongarch64", "musllinux_1_2_ppc64", "linux_x86_64", "macosx_9_0_x86_64",
		"macosx_16_0_arm64", "ios_13_0_armv7_iphoneos", "android_21_mips", "emscripten_3_1_45_wasm32", "macosx_10_9_sparc", "win_mips"}
	for _, g := range good {
		if !ValidPlatformTag(g) {
			t.Errorf("%s refused; Warehouse accepts it", g)
		}
	}
	for _, b := range bad {
		if ValidPlatformTag(b) {
			t.Errorf("%s accepted; Warehouse refuses it", b)
		}
	}
}

func TestSPDX(t *testing.T) {
	ok := []string{"MIT", "MIT OR Apache-2.0", "MIT/Apache-2.0", "MIT AND Apache-2.0", "MIT OR (Apache-2.0 AND MIT)", "GPL-3.0+",
		"Apache-2.0 WITH LLVM-exception", "GPL-2.0", "LicenseRef-Proprietary", "(MIT OR Apache-2.0) AND Unicode-3.0", "BSD-3-Clause"}
	for _, e := range ok {
		if _, err := SPDXCheck(e, true); err != nil {
			t.Errorf("%q refused: %v", e, err)
		}
	}
	bad := map[string]string{
		"MIT OR Apache2": "MIT OR Apache2\n       ^^^^^^^ unknown term",
		"MIT AND foobar": "MIT AND foobar\n        ^^^^^^ unknown term", // crates.io src/tests/krate/publish/validation.rs invalid_license
		"apache 2.0":     "apache 2.0\n^^^^^^ unknown term",
		"mit":            "mit\n^^^ unknown term",
	}
	for e, want := range bad {
		_, err := SPDXCheck(e, true)
		if err == nil {
			t.Errorf("%q accepted; crates.io refuses it", e)
			continue
		}
		if err.Error() != want {
			t.Errorf("%q: got\n%s\nwant\n%s", e, err, want)
		}
	}
}

func TestPyPIMetadataOrder(t *testing.T) {
	f := PyFields{"metadata_version": {"2.4"}, "name": {"x"}, "version": {"1.0.0+local1"},
		"classifiers": {"Foo :: Bar", "Natural Language :: Ukranian"}, "license": {"MIT"}, "license_expression": {"MIT"},
		"requires_dist": {"foo @ https://example.com/foo.whl"}, "summary": {strings.Repeat("s", 513)}}
	vs := PyPIMetadata(f)
	if len(vs) == 0 || vs[0].Rule.ID != "pypi/local-version" {
		t.Fatalf("first violation: %v", vs)
	}
	if vs[0].Message != "The use of local versions in '1.0.0+local1' is not allowed. See https://packaging.python.org/en/latest/specifications/version-specifiers/#local-version-identifiers for more information." {
		t.Errorf("text: %s", vs[0].Message)
	}
	ids := map[string]string{}
	for _, v := range vs {
		ids[v.Rule.ID] = v.Message
	}
	for id, want := range map[string]string{
		"pypi/classifier-invalid":      "'Foo :: Bar' is not a valid classifier.",
		"pypi/classifier-deprecated":   "The classifier 'Natural Language :: Ukranian' has been deprecated, use one of ['Natural Language :: Ukrainian'] instead.",
		"pypi/license-with-expression": "License is deprecated when License-Expression is present. Only License-Expression should be present.",
		"pypi/direct-dependency":       "Can't have direct dependency: foo@ https://example.com/foo.whl.",
		"pypi/summary-too-long":        "'summary' field must be 512 characters or less.",
	} {
		if !strings.HasPrefix(ids[id], want) {
			t.Errorf("%s: got %q, want prefix %q", id, ids[id], want)
		}
	}
}

func TestCratesRules(t *testing.T) {
	base := CrateManifest{Name: "foo", Version: "1.0.0", Description: "d", License: "MIT"}
	if vs := CratesPublish(base, nil); len(vs) != 0 {
		t.Fatalf("valid crate refused: %v", vs)
	}
	cases := []struct {
		mut  func(*CrateManifest)
		id   string
		text string
	}{
		{func(m *CrateManifest) { m.License = "MIT OR Apache2" }, "crates/license-invalid", licenseIntro + "MIT OR Apache2\n       ^^^^^^^ unknown term"},
		{func(m *CrateManifest) { m.Categories = []string{"bar"} }, "crates/category-unknown", "The following category slugs are not currently supported on crates.io: bar\n\nSee https://crates.io/category_slugs for a list of supported slugs."},
		{func(m *CrateManifest) { m.Keywords = []string{"super-long-keyword-name-oh-no"} }, "crates/keyword-too-long", `"super-long-keyword-name-oh-no" is an invalid keyword (keywords must have less than 20 characters)`},
		{func(m *CrateManifest) { m.Keywords = []string{"?@?%"} }, "crates/keyword-invalid", `"?@?%" is an invalid keyword`},
		{func(m *CrateManifest) { m.Keywords = []string{"áccênts"} }, "crates/keyword-invalid", `"áccênts" is an invalid keyword`},
		{func(m *CrateManifest) { m.Description = strings.Repeat("é", 501) }, "crates/description-too-long", "The `description` is too long. A maximum of 1000 characters are currently allowed."},
		{func(m *CrateManifest) { m.Name = "Core" }, "crates/reserved-name", "cannot upload a crate with a reserved name"},
		{func(m *CrateManifest) { m.Name = "com0" }, "crates/reserved-name", "cannot upload a crate with a reserved name"},
		{func(m *CrateManifest) {
			m.Deps = []CrateDep{{Name: "bar", Req: "^1", Registry: "https://example.com/index"}}
		}, "crates/dependency-registry", "Dependency `bar` is hosted on another registry. Cross-registry dependencies are not permitted on crates.io."},
	}
	for _, c := range cases {
		m := base
		c.mut(&m)
		vs := CratesPublish(m, nil)
		if len(vs) == 0 || vs[0].Rule.ID != c.id || vs[0].Message != c.text {
			t.Errorf("%s: got %v", c.id, vs)
		}
	}
	m := base
	m.Deps = []CrateDep{{Name: "ahash", Req: "^0.8"}}
	if vs := CratesPublish(m, func(string) bool { return false }); len(vs) != 1 || vs[0].Message != "no known crate named `ahash`" {
		t.Errorf("unknown dep: %v", vs)
	}
	m.Categories = []string{"command-line-utilities", "development-tools::build-utils"}
	m.Keywords = []string{"cli", "c++", "web_dev", "a-b"}
	if vs := CratesPublish(m, func(string) bool { return true }); len(vs) != 0 {
		t.Errorf("valid crate refused: %v", vs)
	}
}

func TestProjectNames(t *testing.T) {
	if vs := PyPIProjectName("os", nil); len(vs) != 1 || vs[0].Message != "The name 'os' isn't allowed (conflict with Python Standard Library module name). See https://pypi.org/help/#project-name for more information." {
		t.Errorf("os: %v", vs)
	}
	if vs := PyPIProjectName("os.path", nil); len(vs) != 1 || vs[0].Rule.ID != "pypi/name-stdlib" {
		t.Errorf("os.path: %v", vs)
	}
	sim := func(u string) (string, bool) { return "requests", u == Ultranormalize("requests") }
	if vs := PyPIProjectName("reque-sts", sim); len(vs) != 1 || vs[0].Rule.ID != "pypi/name-too-similar" {
		t.Errorf("similar: %v", vs)
	}
	if vs := PyPIProjectName("putitoutthere-demo", sim); len(vs) != 0 {
		t.Errorf("valid name refused: %v", vs)
	}
	if Ultranormalize("Il1.o0-_O") != "111000" {
		t.Errorf("ultranormalize: %s", Ultranormalize("Il1.o0-_O"))
	}
}

func TestFindByText(t *testing.T) {
	r := FindByText(PyPI, "HTTP 400: The use of local versions in '1.0+x' is not allowed. See …")
	if r == nil || r.ID != "pypi/local-version" {
		t.Errorf("got %v", r)
	}
	if r := FindByText(Crates, "no known crate named `x`"); r == nil || r.ID != "crates/dependency-unknown" {
		t.Errorf("got %v", r)
	}
}

func TestEveryRuleHasSourceAndFix(t *testing.T) {
	for _, r := range All() {
		if r.Source == "" || r.Fix == "" || r.Text == "" || (r.Coverage == Partial) != (r.Limit != "") {
			t.Errorf("%s: source, fix, text and (for partial rules) the limit are required", r.ID)
		}
	}
}

func TestPEP639Expressions(t *testing.T) {
	for _, e := range []string{"MIT", "mit", "MIT OR apache-2.0", "mit or Apache-2.0", "LicenseRef-Proprietary", "Apache-2.0 WITH LLVM-exception"} {
		if !SPDXValidPEP639(e) {
			t.Errorf("%q refused; packaging canonicalises it", e)
		}
	}
	for _, e := range []string{"MIT OR Apache2", "MIT/Apache-2.0", "", "GNU GPL"} {
		if SPDXValidPEP639(e) {
			t.Errorf("%q accepted; packaging refuses it", e)
		}
	}
}

// The platform tags of Warehouse's own tests
// (tests/unit/forklift/test_legacy.py: test_upload_succeeds_with_wheel,
// test_upload_fails_with_unsupported_wheel_plat).
func TestWarehousePlatformTagCases(t *testing.T) {
	good := "any win32 win_amd64 win_arm64 manylinux1_x86_64 manylinux1_i686 manylinux2010_x86_64 manylinux2010_i686 manylinux2014_x86_64 manylinux2014_i686 manylinux2014_aarch64 manylinux2014_armv7l manylinux2014_ppc64 manylinux2014_ppc64le manylinux2014_s390x manylinux_2_5_i686 manylinux_2_12_x86_64 manylinux_2_17_aarch64 manylinux_2_17_armv7l manylinux_2_17_ppc64 manylinux_2_17_ppc64le manylinux_2_39_riscv64 manylinux_3_0_s390x musllinux_1_1_x86_64 macosx_10_5_ppc macosx_10_5_ppc64 macosx_10_5_i386 macosx_10_5_intel macosx_10_5_fat macosx_10_5_fat3 macosx_10_5_fat64 macosx_10_5_universal macosx_10_13_x86_64 macosx_11_0_x86_64 macosx_10_15_arm64 macosx_15_0_universal2 macosx_26_0_arm64 ios_13_0_arm64_iphoneos ios_13_0_arm64_iphonesimulator ios_13_0_x86_64_iphonesimulator ios_15_4_arm64_iphoneos android_27_armeabi_v7a android_27_arm64_v8a android_27_x86 android_27_x86_64 pyemscripten_2026_0_wasm32"
	for _, g := range strings.Fields(good) {
		if !ValidPlatformTag(g) {
			t.Errorf("%s refused; Warehouse's tests accept it", g)
		}
	}
	for _, b := range strings.Fields("linux_x86_64 macosx_9_2_x86_64 macosx_11_2_arm64 macosx_16_2_arm64 macosx_10_15_amd64 macosx_27_0_arm64") {
		if ValidPlatformTag(b) {
			t.Errorf("%s accepted; Warehouse's tests refuse it", b)
		}
	}
}

func TestRSTFaults(t *testing.T) {
	bad := map[string]string{
		"underline too short":  "Project title\n=====\n\ntext\n",
		"unknown directive":    "Title\n=====\n\n.. toctree::\n   a\n",
		"raw is disabled":      ".. raw:: html\n\n   <b>x</b>\n",
		"duplicate link names": "See `docs <https://a.example>`_ and `docs <https://b.example>`_.\n",
		"unknown target":       "See `the guide`_ for more.\n",
	}
	for name, text := range bad {
		if !rstFails(text) {
			t.Errorf("%s: rendered; readme_renderer refuses it", name)
		}
	}
	good := map[string]string{
		"plain":                 "Title\n=====\n\nSome *text* and ``code``.\n",
		"overline title":        "=======\n Title\n=======\n\ntext\n",
		"anonymous links":       "See `docs <https://a.example>`__ and `docs <https://b.example>`__.\n",
		"same link twice":       "See `docs <https://a.example>`_ and `docs <https://a.example>`_.\n",
		"defined target":        "See `the guide`_.\n\n.. _the guide: https://example.com\n",
		"reference to a title":  "Usage\n-----\n\nsee `Usage`_\n",
		"inline target":         "An _`inline target` here; see `inline target`_.\n",
		"literal block":         "Example::\n\n    Title\n    ==\n\ntext\n",
		"directives":            ".. note::\n   x\n\n.. code-block:: python\n\n   x = 1\n\n.. image:: https://x/y.png\n",
		"substitution and link": ".. |badge| image:: https://x/b.svg\n   :target: https://x\n\n|badge|\n",
	}
	for name, text := range good {
		if rstFails(text) {
			t.Errorf("%s: refused; it renders", name)
		}
	}
}

// pypi/warehouse's own README.rst (quoted target names, references to them).
const warehouseReadme = "Warehouse is the software that powers `PyPI`_.\nSee `our development roadmap`_, `documentation`_, and\n`architectural overview`_.\n\n.. _`PyPI`: https://pypi.org/\n.. _`our development roadmap`: https://warehouse.pypa.io/roadmap/\n.. _`architectural overview`: https://warehouse.pypa.io/application/\n.. _`documentation`: https://warehouse.pypa.io\n.. _`Running tests and linters section`: https://warehouse.pypa.io/development/getting-started/#running-tests-and-linters\n\nRead the `running tests and linters section`_ of our documentation.\n"

func TestRSTWarehouseReadme(t *testing.T) {
	if rstFails(warehouseReadme) {
		t.Fatal("Warehouse's own README refused")
	}
}
