package artifacts

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

type entry struct {
	name, link string
	flag       byte
	body       string
}

func tgzBytes(tb testing.TB, es ...entry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range es {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.flag, Mode: 0o644}
		if e.flag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func zipBytes(tb testing.TB, symlink string, files ...[2]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f[0], Method: zip.Deflate}
		if f[0] == symlink {
			h.SetMode(os.ModeSymlink | 0o777)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write([]byte(f[1]))
	}
	zw.Close()
	return buf.Bytes()
}

const (
	hostileCargoToml = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\ndescription = \"d\"\nlicense = \"MIT\"\n"
	pkgInfo          = "Metadata-Version: 2.1\nName: demo\nVersion: 0.1.0\n"
	pkgJSON          = `{"name":"demo","version":"0.1.0"}`
)

// TestReadersRefuseArchiveTraversal: the packaging check reads every
// artifact before the first upload; an archive with an entry that would land
// outside its root (`..`, an absolute path, a link pointing out) is refused
// there, for each artifact type.
func TestReadersRefuseArchiveTraversal(t *testing.T) {
	dir := t.TempDir()
	type reader func(string) error
	crate := func(p string) error { _, err := ReadCrate(p); return err }
	sdist := func(p string) error { _, err := ReadSdist(p); return err }
	npmTgz := func(p string) error { _, err := ReadNpm(p); return err }
	wheel := func(p string) error { _, err := ReadWheel(p); return err }
	tarCases := []struct {
		kind, file, manifest, body string
		read                       reader
	}{
		{"crate", "demo-0.1.0.crate", "demo-0.1.0/Cargo.toml", hostileCargoToml, crate},
		{"sdist", "demo-0.1.0.tar.gz", "demo-0.1.0/PKG-INFO", pkgInfo, sdist},
		{"npm", "demo-0.1.0.tgz", "package/package.json", pkgJSON, npmTgz},
	}
	for _, c := range tarCases {
		root := filepath.Dir(c.manifest)
		hostile := map[string][]entry{
			"dotdot":          {{name: root + "/../../evil", flag: tar.TypeReg, body: "x"}},
			"absolute":        {{name: "/etc/cron.d/evil", flag: tar.TypeReg, body: "x"}},
			"symlink-out":     {{name: root + "/l", link: "../../../etc/passwd", flag: tar.TypeSymlink}},
			"symlink-abs":     {{name: root + "/l", link: "/etc/passwd", flag: tar.TypeSymlink}},
			"hardlink-out":    {{name: root + "/l", link: "../x", flag: tar.TypeLink}},
			"manifest-dotdot": {{name: "../" + c.manifest, flag: tar.TypeReg, body: c.body}},
		}
		// The clean archive reads.
		ok := filepath.Join(dir, "ok-"+c.file)
		os.WriteFile(ok, tgzBytes(t, entry{name: c.manifest, flag: tar.TypeReg, body: c.body}), 0o644)
		if err := c.read(ok); err != nil {
			t.Fatalf("%s: clean archive refused: %v", c.kind, err)
		}
		for name, extra := range hostile {
			p := filepath.Join(dir, c.kind+"-"+name+"-"+c.file)
			// The hostile entry comes first: it is refused even before the manifest is found.
			es := append(append([]entry{}, extra...), entry{name: c.manifest, flag: tar.TypeReg, body: c.body})
			os.WriteFile(p, tgzBytes(t, es...), 0o644)
			if err := c.read(p); !errors.Is(err, ErrUnsafeArchive) {
				t.Errorf("%s/%s: want ErrUnsafeArchive, got %v", c.kind, name, err)
			}
			// ...and also when it comes after the manifest.
			after := filepath.Join(dir, c.kind+"-"+name+"-after-"+c.file)
			os.WriteFile(after, tgzBytes(t, append([]entry{{name: c.manifest, flag: tar.TypeReg, body: c.body}}, extra...)...), 0o644)
			if name != "manifest-dotdot" {
				if err := c.read(after); !errors.Is(err, ErrUnsafeArchive) {
					t.Errorf("%s/%s after the manifest: want ErrUnsafeArchive, got %v", c.kind, name, err)
				}
			}
		}
	}
	meta := [2]string{"demo-0.1.0.dist-info/METADATA", pkgInfo}
	okWheel := filepath.Join(dir, "demo-0.1.0-py3-none-any.whl")
	os.WriteFile(okWheel, zipBytes(t, "", meta), 0o644)
	if err := wheel(okWheel); err != nil {
		t.Fatalf("clean wheel refused: %v", err)
	}
	for name, z := range map[string][]byte{
		"dotdot":   zipBytes(t, "", meta, [2]string{"../../evil.py", "x"}),
		"absolute": zipBytes(t, "", meta, [2]string{"/usr/lib/evil.py", "x"}),
		"drive":    zipBytes(t, "", meta, [2]string{`C:\evil.py`, "x"}),
		"symlink":  zipBytes(t, "demo/l", meta, [2]string{"demo/l", "/etc/passwd"}),
	} {
		p := filepath.Join(dir, "wheel-"+name+".whl")
		os.WriteFile(p, z, 0o644)
		if err := wheel(p); !errors.Is(err, ErrUnsafeArchive) {
			t.Errorf("wheel/%s: want ErrUnsafeArchive, got %v", name, err)
		}
	}
	// Links that stay inside the archive are fine.
	p := filepath.Join(dir, "inner-link.crate")
	os.WriteFile(p, tgzBytes(t, entry{name: "demo-0.1.0/Cargo.toml", flag: tar.TypeReg, body: hostileCargoToml}, entry{name: "demo-0.1.0/src/l", link: "../Cargo.toml", flag: tar.TypeSymlink}), 0o644)
	if err := crate(p); err != nil {
		t.Errorf("a link inside the archive was refused: %v", err)
	}
}

// FuzzReadArchives: every artifact reader on the same hostile bytes; none
// may panic, and a refusal is an error, never a partial result.
func FuzzReadArchives(f *testing.F) {
	f.Add(tgzBytes(f, entry{name: "demo-0.1.0/Cargo.toml", flag: tar.TypeReg, body: hostileCargoToml}), false)
	f.Add(tgzBytes(f, entry{name: "demo-0.1.0/PKG-INFO", flag: tar.TypeReg, body: pkgInfo}, entry{name: "demo-0.1.0/../x", flag: tar.TypeReg}), false)
	f.Add(tgzBytes(f, entry{name: "package/package.json", flag: tar.TypeReg, body: pkgJSON}, entry{name: "package/l", link: "/", flag: tar.TypeSymlink}), false)
	f.Add(zipBytes(f, "", [2]string{"demo-0.1.0.dist-info/METADATA", pkgInfo}), true)
	// One scratch directory for the whole run: the readers take paths.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, asZip bool) {
		if asZip {
			p := filepath.Join(dir, "demo-0.1.0-py3-none-any.whl")
			os.WriteFile(p, data, 0o644)
			if m, err := ReadWheel(p); err == nil && (m.Name == "" || m.Version == "") {
				t.Fatalf("wheel accepted without name/version: %+v", m)
			}
			return
		}
		p := filepath.Join(dir, "a.tgz")
		os.WriteFile(p, data, 0o644)
		if m, err := ReadCrate(p); err == nil && m == nil {
			t.Fatal("nil crate meta without error")
		}
		if m, err := ReadSdist(p); err == nil && (m.Name == "" || m.Version == "") {
			t.Fatalf("sdist accepted without name/version: %+v", m)
		}
		if m, err := ReadNpm(p); err == nil && m == nil {
			t.Fatal("nil npm meta without error")
		}
	})
}
