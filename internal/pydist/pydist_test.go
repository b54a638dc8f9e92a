package pydist_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/pydist"
	"github.com/putitoutthere/putitoutthere/internal/pydist/pydisttest"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"Foo.Bar_baz--Qux": "foo-bar-baz-qux", "a": "a", "Demo_Pkg": "demo-pkg"} {
		if got := pydist.Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q", in, got)
		}
	}
	if pydist.FilenameName("Demo.Pkg") != "demo_pkg" {
		t.Fatal("FilenameName")
	}
	for name, ok := range map[string]bool{"a": true, "a-b.c_d": true, "-a": false, "a-": false, "é": false, "": false} {
		if pydist.ValidName(name) != ok {
			t.Errorf("ValidName(%q) != %v", name, ok)
		}
	}
}

func TestVersions(t *testing.T) {
	cases := []struct{ in, norm, canon string }{
		{"1.0.0", "1.0.0", "1"},
		{"1.0.0-rc1", "1.0.0rc1", "1rc1"},
		{"v1.2", "1.2", "1.2"},
		{"1.0.0.post2.dev3", "1.0.0.post2.dev3", "1.post2.dev3"},
		{"2!1.0alpha", "2!1.0a0", "2!1a0"},
		{"1.0+Local-1", "1.0+local.1", "1+local.1"},
		{"1.0-1", "1.0.post1", "1.post1"},
	}
	for _, c := range cases {
		if got := pydist.NormalizeVersion(c.in); got != c.norm {
			t.Errorf("NormalizeVersion(%q) = %q want %q", c.in, got, c.norm)
		}
		if got := pydist.CanonicalVersion(c.in); got != c.canon {
			t.Errorf("CanonicalVersion(%q) = %q want %q", c.in, got, c.canon)
		}
	}
	if _, err := pydist.ParseVersion("not a version"); err == nil {
		t.Fatal("accepted junk")
	}
	order := []string{"1.0.dev1", "1.0a1", "1.0b2", "1.0rc1", "1.0", "1.0.post1", "1.1", "2!0.1"}
	for i := 1; i < len(order); i++ {
		if pydist.CompareVersions(order[i-1], order[i]) >= 0 {
			t.Errorf("%s should sort before %s", order[i-1], order[i])
		}
	}
	if pydist.CompareVersions("1.0", "1.0.0") != 0 {
		t.Fatal("1.0 != 1.0.0")
	}
}

func TestFilenames(t *testing.T) {
	w, err := pydist.ParseWheelFilename("demo_pkg-1.0-1-cp312-cp312-manylinux_2_17_x86_64.whl")
	if err != nil || w.Build != "1" || w.Python != "cp312" || w.Platform != "manylinux_2_17_x86_64" {
		t.Fatalf("%+v %v", w, err)
	}
	for _, bad := range []string{"demo.whl", "a-b-c.whl", "a-1-x-py3-none-any.whl", "a-1-py3-none-any.zip"} {
		if _, err := pydist.ParseWheelFilename(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	n, v, err := pydist.ParseSdistFilename("demo_pkg-1.0rc1.tar.gz")
	if err != nil || n != "demo_pkg" || v != "1.0rc1" {
		t.Fatal(n, v, err)
	}
	if _, _, err := pydist.ParseSdistFilename("demo.tar.gz"); err == nil {
		t.Fatal("accepted sdist without version")
	}
}

func TestReadWheelAndSdist(t *testing.T) {
	s := pydisttest.Spec{Name: "Demo.Pkg", Version: "1.0.0", Python: "cp312", ABI: "abi3", Platform: "win_amd64",
		Extra: [][2]string{{"Requires-Dist", "a"}, {"Requires-Dist", "b"}, {"Keywords", "x,y"}, {"License-File", "LICENSE"}, {"Home-page", "UNKNOWN"}}}
	dir := t.TempDir()
	wp, sp, err := pydisttest.WriteBoth(dir, s)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pydist.Read(wp)
	if err != nil {
		t.Fatal(err)
	}
	if w.Name() != "Demo.Pkg" || w.Version() != "1.0.0" || w.Filetype != pydist.Wheel || w.PyVersion != "cp312" || len(w.Tags) != 1 || w.Tags[0] != "cp312-abi3-win_amd64" {
		t.Fatalf("wheel %+v", w)
	}
	fields := map[string][]string{}
	for _, kv := range w.FormFields() {
		fields[kv[0]] = append(fields[kv[0]], kv[1])
	}
	if len(fields["requires_dist"]) != 2 || fields["classifiers"] == nil || fields["project_urls"][0] != "Source, https://example.com/src" ||
		fields["license_file"] == nil || fields["home_page"] != nil || fields["keywords"][0] != "x,y" || !strings.Contains(fields["description"][0], "Test package") ||
		fields["author_email"] == nil || fields["metadata_version"][0] != "2.1" || fields["description_content_type"][0] != "text/markdown" {
		t.Fatalf("form fields %v", fields)
	}
	sd, err := pydist.Read(sp)
	if err != nil {
		t.Fatal(err)
	}
	if sd.Filetype != pydist.Sdist || sd.PyVersion != "source" || sd.Version() != "1.0.0" || sd.Digests.SHA256 == "" {
		t.Fatalf("sdist %+v", sd)
	}
	if _, err := pydist.Read(dir + "/missing.whl"); err == nil {
		t.Fatal("read a missing file")
	}
}

func zipOf(t testing.TB, entries map[string]string, symlink string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range entries {
		h := &zip.FileHeader{Name: name}
		if name == symlink {
			h.SetMode(os.ModeSymlink | 0o777)
		}
		w, _ := zw.CreateHeader(h)
		_, _ = w.Write([]byte(body))
	}
	_ = zw.Close()
	return buf.Bytes()
}

func tgzOf(entries []tar.Header, bodies map[string]string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, h := range entries {
		b := bodies[h.Name]
		h.Size = int64(len(b))
		if h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink {
			h.Size = 0
		}
		_ = tw.WriteHeader(&h)
		_, _ = tw.Write([]byte(b))
	}
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes()
}

func TestUnsafeArchivesRefused(t *testing.T) {
	meta := pydisttest.Spec{Name: "demo", Version: "1.0"}.Metadata()
	good := map[string]string{"demo-1.0.dist-info/METADATA": meta}
	wheelCases := map[string][]byte{
		"dotdot":   zipOf(t, map[string]string{"demo-1.0.dist-info/METADATA": meta, "../evil": "x"}, ""),
		"absolute": zipOf(t, map[string]string{"demo-1.0.dist-info/METADATA": meta, "/etc/evil": "x"}, ""),
		"drive":    zipOf(t, map[string]string{"demo-1.0.dist-info/METADATA": meta, `C:\evil`: "x"}, ""),
		"symlink":  zipOf(t, map[string]string{"demo-1.0.dist-info/METADATA": meta, "demo/link": "/etc/passwd"}, "demo/link"),
	}
	for name, data := range wheelCases {
		_, err := pydist.ReadBytes("demo-1.0-py3-none-any.whl", data)
		if !errors.Is(err, pydist.ErrUnsafeArchive) {
			t.Errorf("wheel %s: %v", name, err)
		}
	}
	if _, err := pydist.ReadBytes("demo-1.0-py3-none-any.whl", zipOf(t, good, "")); err != nil {
		t.Fatalf("good wheel: %v", err)
	}
	sdistCases := map[string][]tar.Header{
		"dotdot":   {{Name: "demo-1.0/PKG-INFO", Typeflag: tar.TypeReg, Mode: 0o644}, {Name: "demo-1.0/../../evil", Typeflag: tar.TypeReg, Mode: 0o644}},
		"absolute": {{Name: "/demo-1.0/PKG-INFO", Typeflag: tar.TypeReg, Mode: 0o644}},
		"symlink":  {{Name: "demo-1.0/PKG-INFO", Typeflag: tar.TypeReg, Mode: 0o644}, {Name: "demo-1.0/link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}},
		"hardlink": {{Name: "demo-1.0/PKG-INFO", Typeflag: tar.TypeReg, Mode: 0o644}, {Name: "demo-1.0/link", Typeflag: tar.TypeLink, Linkname: "../x"}},
	}
	for name, hs := range sdistCases {
		_, err := pydist.ReadBytes("demo-1.0.tar.gz", tgzOf(hs, map[string]string{"demo-1.0/PKG-INFO": meta, "/demo-1.0/PKG-INFO": meta}))
		if !errors.Is(err, pydist.ErrUnsafeArchive) {
			t.Errorf("sdist %s: %v", name, err)
		}
	}
}

func TestMalformedDistributions(t *testing.T) {
	cases := map[string]struct {
		fn   string
		data []byte
	}{
		"not zip":         {"demo-1.0-py3-none-any.whl", []byte("nope")},
		"no METADATA":     {"demo-1.0-py3-none-any.whl", zipOf(t, map[string]string{"demo/__init__.py": ""}, "")},
		"other dist-info": {"demo-1.0-py3-none-any.whl", zipOf(t, map[string]string{"other-1.0.dist-info/METADATA": "Name: other\n"}, "")},
		"no name":         {"demo-1.0-py3-none-any.whl", zipOf(t, map[string]string{"demo-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nVersion: 1.0\n"}, "")},
		"bad header":      {"demo-1.0-py3-none-any.whl", zipOf(t, map[string]string{"demo-1.0.dist-info/METADATA": "no colon here\n"}, "")},
		"not gzip":        {"demo-1.0.tar.gz", []byte("nope")},
		"no PKG-INFO":     {"demo-1.0.tar.gz", tgzOf([]tar.Header{{Name: "demo-1.0/setup.py", Typeflag: tar.TypeReg}}, nil)},
		"unknown ext":     {"demo-1.0.egg", []byte("x")},
		"bad wheel name":  {"demo.whl", []byte("x")},
	}
	for name, c := range cases {
		if _, err := pydist.ReadBytes(c.fn, c.data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestMetadataFolding(t *testing.T) {
	m, err := pydist.ParseMetadata([]byte("Metadata-Version: 1.1\r\nName: x\r\nVersion: 1\r\nDescription: line one\r\n        |line two\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Description() != "line one\nline two" {
		t.Fatalf("%q", m.Description())
	}
	if _, err := pydist.ParseMetadata([]byte{0xff, 0xfe}); err == nil {
		t.Fatal("accepted non-UTF-8")
	}
}

func FuzzReadWheel(f *testing.F) {
	_, w := pydisttest.Wheel(pydisttest.Spec{Name: "demo", Version: "1.0"})
	f.Add(w)
	f.Add(zipOf(f, map[string]string{"demo-1.0.dist-info/METADATA": "Name: demo\n", "../x": ""}, ""))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := pydist.ReadBytes("demo-1.0-py3-none-any.whl", data)
		if err != nil {
			return
		}
		if d.Name() == "" || d.Version() == "" {
			t.Fatal("accepted a wheel without name or version")
		}
		_ = d.FormFields()
	})
}
