package cli

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/run"
	"io"
)

// An npm package whose main names a file the build did not make is refused
// before the first upload: the crate and the wheel before it in order are
// not uploaded either.
func TestE2EMissingMainRefusedBeforeFirstUpload(t *testing.T) {
	w := newWorld(t)
	a := filepath.Join(w.dir, "artifacts", "js-core-pkg")
	writeFile(t, filepath.Join(a, "package.json"), `{"name":"js-core","version":"0.0.0","main":"dist/index.js","repository":{"url":"git+https://github.com/octo-org/octo-repo.git"}}`+"\n")
	doc, stderr, code := w.publishJSON()
	if code == 0 || doc.Error == nil || doc.Error.Code != "PIOT_PACKAGING_MISMATCH" {
		t.Fatalf("exit %d doc %+v\n%s", code, doc.Error, stderr)
	}
	if !strings.Contains(doc.Error.Message+stderr, "js-core: package.json main points at dist/index.js") {
		t.Errorf("message = %s\n%s", doc.Error.Message, stderr)
	}
	if n := len(w.crates.Attempts()); n != 0 {
		t.Errorf("crates.io got %d uploads", n)
	}
	if f := w.pypi.Files("py-core", "0.1.0"); len(f) != 0 {
		t.Errorf("pypi got %v", f)
	}
}

// With real npm: the types file exists but the package's "files" list
// leaves it out of the tarball (npm always packs main, not types);
// `npm pack --dry-run --json` says so before any upload.
func TestE2EMainLeftOutOfTarballRealNPM(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real npm")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not installed")
	}
	w := newWorld(t)
	a := filepath.Join(w.dir, "artifacts", "js-core-pkg")
	writeFile(t, filepath.Join(a, "package.json"), `{"name":"js-core","version":"0.0.0","main":"dist/index.js","types":"dist/index.d.ts","files":["lib"],"repository":{"url":"git+https://github.com/octo-org/octo-repo.git"}}`+"\n")
	writeFile(t, filepath.Join(a, "dist", "index.js"), "module.exports = 1\n")
	writeFile(t, filepath.Join(a, "dist", "index.d.ts"), "export {}\n")
	writeFile(t, filepath.Join(a, "lib", "x.js"), "\n")
	fake := w.runner
	w.runner = &run.Fake{Base: w.env, Handler: func(c run.Cmd) (run.Result, error) {
		if c.Name == "npm" && len(c.Args) > 0 && c.Args[0] == "pack" {
			return run.Exec{Base: w.env}.Run(t.Context(), c)
		}
		return fake.Handler(c)
	}}
	newRunner = func(env.Env, io.Writer) run.Runner { return w.runner }
	doc, stderr, code := w.publishJSON()
	if code == 0 || doc.Error == nil || doc.Error.Code != "PIOT_PACKAGING_MISMATCH" {
		t.Fatalf("exit %d doc %+v\n%s", code, doc.Error, stderr)
	}
	if !strings.Contains(doc.Error.Message+stderr, "types points at dist/index.d.ts, which is not in the packed package") {
		t.Errorf("message = %s\n%s", doc.Error.Message, stderr)
	}
	if n := len(w.crates.Attempts()); n != 0 {
		t.Errorf("crates.io got %d uploads", n)
	}
}
