package artifacts

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/plan"
)

// TarGz builds a gzip tar of name → content.
func tarGz(t *testing.T, path string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	write(t, path, buf.String())
}

func zipFile(t *testing.T, path string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	write(t, path, buf.String())
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

const cargoToml = "[package]\nname = \"my-crate\"\nversion = \"1.2.0\"\ndescription = \"d\"\nlicense = \"MIT\"\n"

func polyRows() []plan.Row {
	return []plan.Row{
		{Name: "my-crate", Kind: "crates", Version: "1.2.0", Target: "noarch", ArtifactName: "my-crate-crate"},
		{Name: "py", Kind: "pypi", Version: "1.2.0", Target: "x86_64-unknown-linux-gnu", ArtifactName: "py-wheel-x86_64-unknown-linux-gnu", Build: "maturin"},
		{Name: "py", Kind: "pypi", Version: "1.2.0", Target: "sdist", ArtifactName: "py-sdist", Build: "maturin"},
		{Name: "js", Kind: "npm", Version: "1.2.0", Target: "noarch", ArtifactName: "js-pkg"},
	}
}

func goodTree(t *testing.T) string {
	root := t.TempDir()
	a := filepath.Join(root, Dir)
	tarGz(t, filepath.Join(a, "my-crate-crate", "my-crate-1.2.0.crate"), map[string]string{"my-crate-1.2.0/Cargo.toml": cargoToml, "my-crate-1.2.0/src/lib.rs": ""})
	zipFile(t, filepath.Join(a, "py-wheel-x86_64-unknown-linux-gnu", "py-1.2.0-cp312-cp312-manylinux_2_17_x86_64.whl"), map[string]string{"py/__init__.py": "", "py-1.2.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: py\nVersion: 1.2.0\n\nbody Name: nope\n", "py-1.2.0.dist-info/WHEEL": "Wheel-Version: 1.0\n", "py-1.2.0.dist-info/RECORD": ""})
	tarGz(t, filepath.Join(a, "py-sdist", "py-1.2.0.tar.gz"), map[string]string{"py-1.2.0/PKG-INFO": "Metadata-Version: 2.1\nName: py\nVersion: 1.2.0\n"})
	write(t, filepath.Join(a, "js-pkg", "package.json"), `{"name":"js","version":"0.0.0","repository":{"type":"git","url":"git+https://github.com/octo-org/octo-repo.git"}}`)
	return root
}

func TestCheckComplete(t *testing.T) {
	root := goodTree(t)
	if gaps := Check(root, polyRows()); len(gaps) != 0 {
		t.Fatalf("gaps = %v", gaps)
	}
}

func TestCheckListsEveryGap(t *testing.T) {
	root := t.TempDir()
	a := filepath.Join(root, Dir)
	os.MkdirAll(filepath.Join(a, "my-crate-crate"), 0o755)                       // empty
	write(t, filepath.Join(a, "py-wheel-x86_64-unknown-linux-gnu", "x.txt"), "") // wrong type
	// py-sdist and js-pkg missing
	gaps := Check(root, polyRows())
	if len(gaps) != 4 {
		t.Fatalf("want 4 gaps, got %v", gaps)
	}
	want := []string{"artifacts/my-crate-crate/ is empty", "holds no .whl file", "artifacts/py-sdist/ does not exist", "artifacts/js-pkg/ does not exist"}
	for i, w := range want {
		if !strings.Contains(gaps[i].Problem, w) {
			t.Errorf("gap %d = %q, want %q", i, gaps[i].Problem, w)
		}
	}
	if gaps[0].Expected != "artifacts/my-crate-crate/*.crate" || gaps[3].Expected != "artifacts/js-pkg/package.json or *.tgz" {
		t.Errorf("expected paths: %q %q", gaps[0].Expected, gaps[3].Expected)
	}
}

func TestCheckRefusesEscapingSymlinks(t *testing.T) {
	root := goodTree(t)
	outside := t.TempDir()
	write(t, filepath.Join(outside, "evil.crate"), "x")
	a := filepath.Join(root, Dir)
	// A file symlink out of the tree, and a whole folder symlinked outside.
	os.Remove(filepath.Join(a, "my-crate-crate", "my-crate-1.2.0.crate"))
	if err := os.Symlink(filepath.Join(outside, "evil.crate"), filepath.Join(a, "my-crate-crate", "evil.crate")); err != nil {
		t.Skip("no symlinks")
	}
	os.RemoveAll(filepath.Join(a, "js-pkg"))
	os.Symlink(outside, filepath.Join(a, "js-pkg"))
	gaps := Check(root, polyRows())
	var msgs []string
	for _, g := range gaps {
		msgs = append(msgs, g.Problem)
	}
	all := strings.Join(msgs, "\n")
	if !strings.Contains(all, "evil.crate points outside") || !strings.Contains(all, "js-pkg points outside") {
		t.Errorf("gaps = %s", all)
	}
}

func TestCheckHugeSparseFileNotRead(t *testing.T) {
	root := goodTree(t)
	p := filepath.Join(root, Dir, "py-sdist", "py-1.2.0.tar.gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(2 << 30); err != nil { // 2 GiB sparse placeholder
		t.Skip("no sparse files")
	}
	f.Close()
	gaps := Check(root, polyRows())
	if len(gaps) == 0 || !strings.Contains(gaps[0].Problem, Dir+"/py-sdist/py-1.2.0.tar.gz is 2.0 GiB, over the 1.0 GiB limit") {
		t.Fatalf("gaps = %v", gaps)
	}
	// The packaging check must not read it either (completeness, above, is
	// what refuses it): it skips the file rather than parsing 2 GiB.
	_ = CheckPackaging(root, polyRows()[2:3], Want{Kind: "pypi", Name: "py", Version: "1.2.0"})
}

func TestPackagingMatches(t *testing.T) {
	root := goodTree(t)
	rows := polyRows()
	cases := []struct {
		rows []plan.Row
		w    Want
	}{
		{rows[:1], Want{Kind: "crates", Name: "my-crate", Version: "1.2.0"}},
		{rows[1:3], Want{Kind: "pypi", Name: "py", Version: "1.2.0"}},
		{rows[3:], Want{Kind: "npm", Name: "js", Version: "1.2.0", Repository: "octo-org/octo-repo", VersionWritten: true}},
	}
	for _, c := range cases {
		if p := CheckPackaging(root, c.rows, c.w); len(p) != 0 {
			t.Errorf("%s: %v", c.w.Kind, p)
		}
	}
}

func TestPackagingMismatches(t *testing.T) {
	root := t.TempDir()
	a := filepath.Join(root, Dir)
	tarGz(t, filepath.Join(a, "my-crate-crate", "other-1.0.0.crate"), map[string]string{"other-1.0.0/Cargo.toml": "[package]\nname = \"other\"\nversion = \"1.0.0\"\n", "other-1.0.0/src/main.rs": ""})
	zipFile(t, filepath.Join(a, "py-wheel-x86_64-unknown-linux-gnu", "py-1.1.0-py3-none-any.whl"), map[string]string{"py/__init__.py": "", "py-1.1.0.dist-info/METADATA": "Name: py\nVersion: 1.1.0\n", "py-1.1.0.dist-info/WHEEL": "Wheel-Version: 1.0\n", "py-1.1.0.dist-info/RECORD": ""})
	write(t, filepath.Join(a, "py-sdist", "py-1.2.0.tar.gz"), "not gzip")
	write(t, filepath.Join(a, "js-pkg", "package.json"), `{"name":"js","version":"1.2.0","repository":"github:someone/else"}`)
	rows := polyRows()
	crate := CheckPackaging(root, rows[:1], Want{Kind: "crates", Name: "my-crate", Version: "1.2.0"})
	if len(crate) != 2 {
		t.Errorf("crate problems = %q", crate)
	}
	if r := CheckRules(root, rows[:1], Want{Kind: "crates", Name: "my-crate", Version: "1.2.0"}); len(r) != 1 || !strings.Contains(r[0], "rule crates/missing-metadata, HTTP 400): missing or empty metadata fields: description, license.") {
		t.Errorf("crate rules = %q", r)
	}
	py := CheckPackaging(root, rows[1:3], Want{Kind: "pypi", Name: "py", Version: "1.2.0"})
	if len(py) != 3 || !strings.Contains(py[2], "not a gzip archive") {
		t.Errorf("py problems = %q", py)
	}
	js := CheckPackaging(root, rows[3:], Want{Kind: "npm", Name: "js", Version: "1.2.0", Repository: "octo-org/octo-repo"})
	if len(js) != 1 || !strings.Contains(js[0], "repository.url is github:someone/else") {
		t.Errorf("npm problems = %q", js)
	}
}

func TestRepoSlug(t *testing.T) {
	for in, want := range map[string]string{
		"git+https://github.com/o/r.git": "o/r",
		"https://github.com/o/r":         "o/r",
		"git@github.com:o/r.git":         "o/r",
		"ssh://git@github.com/o/r.git":   "o/r",
		"github:o/r":                     "o/r",
		"o/r":                            "o/r",
		"https://gitlab.com/o/r":         "",
		"":                               "",
	} {
		if got := RepoSlug(in); got != want {
			t.Errorf("RepoSlug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizePyVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.0": "1.2.0", "1.2.0-rc.1": "1.2.0rc1", "1.2.0rc1": "1.2.0rc1", "1.0.0-alpha.2": "1.0.0a2",
		"1.0.0-beta": "1.0.0b0", "v2.0": "2.0", "1.0.post1": "1.0.post1", "1.0-dev3": "1.0.dev3", "1.0.0+Local-1": "1.0.0+local.1",
	} {
		if got := NormalizePyVersion(in); got != want {
			t.Errorf("NormalizePyVersion(%q) = %q, want %q", in, got, want)
		}
	}
	if NormalizePyName("My_Pkg.name") != "my-pkg-name" {
		t.Error("NormalizePyName")
	}
}

func TestReadNpmWithBOM(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "package.json"), []byte("\xef\xbb\xbf{\"name\": \"a\", \"version\": \"1.0.0\"}"), 0o644)
	m, err := ReadNpm(dir)
	if err != nil || m.Name != "a" {
		t.Fatalf("m = %+v, err = %v", m, err)
	}
}

func TestCargoReqAllows(t *testing.T) {
	cases := []struct {
		req, v string
		want   bool
	}{
		{"0.1.0", "0.2.0", false}, {"0.1.0", "0.1.5", true}, {"^0.1", "0.2.0", false},
		{"1.2", "1.9.0", true}, {"1.2", "2.0.0", false}, {"=0.1.0", "0.1.1", false},
		{">=0.1, <0.3", "0.2.0", true}, {"~0.2.1", "0.2.5", true}, {"0.0.3", "0.0.4", false},
		{"", "9.9.9", true}, {"*", "0.1.0", true}, {"not a req", "1.0.0", true},
	}
	for _, c := range cases {
		if got := CargoReqAllows(c.req, c.v); got != c.want {
			t.Errorf("CargoReqAllows(%q, %q) = %v, want %v", c.req, c.v, got, c.want)
		}
	}
}

// A .crate whose requirement on a crate of the same run does not accept the
// version being published is a packaging problem (it would be built and
// published against the previous release); an accepting one is not.
func TestPackagingSiblingRequirement(t *testing.T) {
	root := t.TempDir()
	toml := cargoToml + "\n[dependencies.core-lib]\nversion = \"0.1.0\"\n\n[dependencies.renamed]\npackage = \"other-lib\"\nversion = \"^1\"\n\n[build-dependencies]\nserde = \"1\"\n"
	tarGz(t, filepath.Join(root, Dir, "my-crate-crate", "my-crate-1.2.0.crate"), map[string]string{"my-crate-1.2.0/Cargo.toml": toml, "my-crate-1.2.0/src/lib.rs": ""})
	rows := polyRows()[:1]
	want := Want{Kind: "crates", Name: "my-crate", Version: "1.2.0", Crates: map[string]string{"my-crate": "1.2.0", "core-lib": "0.2.0", "other-lib": "1.4.0"}}
	probs := CheckPackaging(root, rows, want)
	if len(probs) != 1 || !strings.Contains(probs[0], `requires core-lib "0.1.0", which does not accept 0.2.0`) {
		t.Errorf("problems = %q", probs)
	}
	want.Crates["core-lib"] = "0.1.3"
	if probs := CheckPackaging(root, rows, want); len(probs) != 0 {
		t.Errorf("accepting requirement flagged: %q", probs)
	}
}

// A maturin target row holding a wheel built for another platform is a gap.
func TestCheckWheelPlatform(t *testing.T) {
	root := goodTree(t)
	dir := filepath.Join(root, Dir, "py-wheel-x86_64-unknown-linux-gnu")
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.Remove(filepath.Join(dir, e.Name()))
	}
	write(t, filepath.Join(dir, "py-1.2.3-cp39-abi3-macosx_11_0_arm64.whl"), "x")
	gaps := Check(root, polyRows())
	if len(gaps) != 1 || !strings.Contains(gaps[0].Problem, "macosx_11_0_arm64 wheel") || !strings.Contains(gaps[0].Problem, "manylinux*_x86_64") {
		t.Fatalf("gaps = %v", gaps)
	}
}

// A crate that depends on a sibling twice (the current major through the
// workspace path, an older one renamed) passes when any requirement accepts
// the planned version, every time (not by map order), and a target-specific
// requirement is checked like any other.
func TestPackagingRenamedAndTargetDeps(t *testing.T) {
	root := t.TempDir()
	toml := cargoToml + "\n[dependencies]\ntauri-utils = { version = \"2.0.0\" }\ntauri-utils-v1 = { package = \"tauri-utils\", version = \"1\" }\n\n[target.\"cfg(target_os = \\\"macos\\\")\".dependencies]\ntauri-macos-sign = \"1.0.0\"\n"
	tarGz(t, filepath.Join(root, Dir, "my-crate-crate", "my-crate-1.2.0.crate"), map[string]string{"my-crate-1.2.0/Cargo.toml": toml, "my-crate-1.2.0/src/lib.rs": ""})
	rows := polyRows()[:1]
	want := Want{Kind: "crates", Name: "my-crate", Version: "1.2.0", Crates: map[string]string{"my-crate": "1.2.0", "tauri-utils": "2.0.5", "tauri-macos-sign": "2.0.0"}}
	for range 10 {
		probs := CheckPackaging(root, rows, want)
		if len(probs) != 1 || !strings.Contains(probs[0], `requires tauri-macos-sign "1.0.0"`) {
			t.Fatalf("problems = %q", probs)
		}
	}
}

func TestNPMRules(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, Dir, "js-pkg", "package.json"), `{"name":"js","version":"0.0.0"}`)
	rows := []plan.Row{{Name: "js", Kind: "npm", Target: "noarch", ArtifactName: "js-pkg"}}
	if p := CheckRules(root, rows, Want{Kind: "npm", Name: "js", Version: "1.0.0", VersionWritten: true}); len(p) != 0 {
		t.Errorf("valid package refused: %q", p)
	}
	if p := CheckRules(root, rows, Want{Kind: "npm", Name: "js", Version: "1.0.0", VersionWritten: true, Access: "restricted"}); len(p) != 1 || !strings.Contains(p[0], "rule npm/unscoped-restricted") {
		t.Errorf("restricted unscoped: %q", p)
	}
}
