package cratefile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

type entry struct {
	name, body, link string
	typ              byte
}

func tarball(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: typ, Linkname: e.link}
		if typ == tar.TypeXGlobalHeader {
			h = &tar.Header{Name: e.name, Typeflag: typ, PAXRecords: map[string]string{"comment": "abc"}}
		}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			_, _ = tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

const goodManifest = `[package]
name = "foo"
version = "0.1.0"
edition = "2021"
description = "a foo"
license-file = "LICENSE"
`

func TestReadGood(t *testing.T) {
	data := tarball(t,
		entry{name: "foo-0.1.0/Cargo.toml", body: goodManifest},
		entry{name: "foo-0.1.0/src/lib.rs", body: "pub fn f() {}"},
		entry{name: "foo-0.1.0/LICENSE", body: "MIT"},
		entry{name: "foo-0.1.0/src/alias.rs", typ: tar.TypeSymlink, link: "lib.rs"},
	)
	p := filepath.Join(t.TempDir(), "foo-0.1.0.crate")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "foo" || info.Version != "0.1.0" || info.Description != "a foo" || info.LicenseFile != "LICENSE" || info.Root != "foo-0.1.0" {
		t.Fatalf("info = %+v", info)
	}
	if got := info.MissingFields(); len(got) != 0 {
		t.Fatalf("missing = %v", got)
	}
	want := []string{"foo-0.1.0/Cargo.toml", "foo-0.1.0/LICENSE", "foo-0.1.0/src/lib.rs"}
	if !reflect.DeepEqual(info.Files, want) {
		t.Fatalf("files = %v", info.Files)
	}
	if len(info.LinkEntries) != 1 || len(info.Checksum) != 64 || info.Size != int64(len(data)) {
		t.Fatalf("links=%v cksum=%q size=%d", info.LinkEntries, info.Checksum, info.Size)
	}
	if err := info.Check("foo", "0.1.0"); err != nil {
		t.Fatal(err)
	}
	if err := info.Check("foo", "0.2.0"); err == nil {
		t.Fatal("version mismatch not reported")
	}
}

func TestMissingFieldsAndInheritance(t *testing.T) {
	data := Build("bar", "1.0.0", map[string]string{"Cargo.toml": "[package]\nname = \"bar\"\nversion.workspace = true\ndescription = \"\"\n"})
	info, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.MissingFields(); !reflect.DeepEqual(got, []string{"description", "license"}) {
		t.Fatalf("missing = %v", got)
	}
	if !reflect.DeepEqual(info.Inherited, []string{"version"}) || info.Version != "" {
		t.Fatalf("inherited = %v version=%q", info.Inherited, info.Version)
	}
	if err := info.Check("bar", ""); err == nil {
		t.Fatal("missing fields not reported")
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name    string
		data    []byte
		wantErr error
	}{
		{"not gzip", []byte("hello"), ErrMalformed},
		{"dotdot", tarball(t, entry{name: "foo-0.1.0/../../etc/passwd", body: "x"}), ErrUnsafePath},
		{"absolute", tarball(t, entry{name: "/etc/passwd", body: "x"}), ErrUnsafePath},
		{"backslash", tarball(t, entry{name: "foo-0.1.0\\..\\x", body: "x"}), ErrUnsafePath},
		{"two roots", tarball(t, entry{name: "foo-0.1.0/Cargo.toml", body: goodManifest}, entry{name: "other/x", body: "x"}), ErrUnsafePath},
		{"symlink out", tarball(t, entry{name: "foo-0.1.0/Cargo.toml", body: goodManifest}, entry{name: "foo-0.1.0/evil", typ: tar.TypeSymlink, link: "../../etc/passwd"}), ErrUnsafePath},
		{"symlink abs", tarball(t, entry{name: "foo-0.1.0/evil", typ: tar.TypeSymlink, link: "/etc/passwd"}), ErrUnsafePath},
		{"hardlink out", tarball(t, entry{name: "foo-0.1.0/evil", typ: tar.TypeLink, link: "etc/passwd"}), ErrUnsafePath},
		{"top-level file", tarball(t, entry{name: "Cargo.toml", body: goodManifest}), ErrUnsafePath},
		{"device", tarball(t, entry{name: "foo-0.1.0/dev", typ: tar.TypeChar}), ErrUnsafePath},
		{"no manifest", tarball(t, entry{name: "foo-0.1.0/src/lib.rs", body: "x"}), ErrNoManifest},
		{"bad toml", tarball(t, entry{name: "foo-0.1.0/Cargo.toml", body: "[package\nname="}), ErrBadManifest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.data)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Error() == "" {
				t.Fatalf("not a *Error: %v", err)
			}
		})
	}
}

func TestPaxGlobalHeaderIgnored(t *testing.T) {
	data := tarball(t,
		entry{name: "pax_global_header", typ: tar.TypeXGlobalHeader},
		entry{name: "foo-0.1.0/Cargo.toml", body: goodManifest},
	)
	info, err := Parse(data)
	if err != nil || info.Root != "foo-0.1.0" {
		t.Fatalf("%v %+v", err, info)
	}
}

func TestReadMissingFile(t *testing.T) {
	if _, err := Read(filepath.Join(t.TempDir(), "nope.crate")); err == nil {
		t.Fatal("want error")
	}
}
