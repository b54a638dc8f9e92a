package reliability

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/cratefile"
)

// TestHostileArtifacts: an artifact whose archive would write outside its
// root (a `../` entry in the .crate, an absolute path in the wheel, a link
// out of the sdist) is refused by publish's packaging check, before the
// first upload, with a code and the offending entry named; nothing reaches
// any registry.
func TestHostileArtifacts(t *testing.T) {
	needTools(t)
	cases := map[string]func(w *world){
		"crate-dotdot": func(w *world) {
			var buf bytes.Buffer
			gz := gzip.NewWriter(&buf)
			tw := tar.NewWriter(gz)
			for name, body := range map[string]string{
				crateName + "-" + planned + "/Cargo.toml":     cratefile.Manifest(crateName, planned, "core", "MIT"),
				crateName + "-" + planned + "/../../evil.txt": "owned",
			} {
				tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
				tw.Write([]byte(body))
			}
			tw.Close()
			gz.Close()
			writeFile(w.t, filepath.Join(w.dir, "artifacts", "core-crate", crateName+"-"+planned+".crate"), buf.String())
		},
		"wheel-absolute": func(w *world) {
			dir := filepath.Join(w.dir, "artifacts", "py-sdist")
			whl, _ := filepath.Glob(filepath.Join(dir, "*.whl"))
			if len(whl) != 1 {
				w.t.Fatalf("wheels: %v", whl)
			}
			zr, err := zip.OpenReader(whl[0])
			if err != nil {
				w.t.Fatal(err)
			}
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			for _, f := range zr.File {
				rc, _ := f.Open()
				wr, _ := zw.Create(f.Name)
				b := new(bytes.Buffer)
				b.ReadFrom(rc)
				rc.Close()
				wr.Write(b.Bytes())
			}
			zr.Close()
			wr, _ := zw.Create("/etc/cron.d/evil")
			wr.Write([]byte("* * * * * root true\n"))
			zw.Close()
			if err := os.WriteFile(whl[0], buf.Bytes(), 0o644); err != nil {
				w.t.Fatal(err)
			}
		},
	}
	for name, spoil := range cases {
		name, spoil := name, spoil
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.useShim(shimNpm)
			spoil(w)
			r := w.publish(time.Minute)
			if r.Code != 1 || r.Doc == nil || r.Doc.Error == nil {
				t.Fatalf("exit %d, want a refusal\n%s\n%s", r.Code, r.Stdout, r.Stderr)
			}
			if !strings.HasPrefix(r.Doc.Error.Code, "PIOT_") || r.Doc.Error.Hint == "" {
				t.Errorf("error %+v", *r.Doc.Error)
			}
			if !strings.Contains(r.Stdout, "leaves the archive") && !strings.Contains(r.Stdout, "unsafe") {
				t.Errorf("the refusal does not name the unsafe entry:\n%s", r.Stdout)
			}
			if n := len(w.crates.Attempts()) + len(w.npm.Attempts()) + len(w.pypi.Files(pyName, planned)); n != 0 {
				t.Errorf("%d uploads despite a hostile artifact", n)
			}
			if tags := w.git(w.origin, "tag", "--list"); tags != "" {
				t.Errorf("tags pushed: %s", tags)
			}
			if _, err := os.Stat(filepath.Join(w.dir, "..", "evil.txt")); err == nil {
				t.Error("the archive was extracted outside its root")
			}
		})
	}
}
