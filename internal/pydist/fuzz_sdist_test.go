package pydist_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/pydist"
	"github.com/putitoutthere/putitoutthere/internal/pydist/pydisttest"
)

func sdistOf(tb testing.TB, hs ...*tar.Header) []byte {
	tb.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	body := []byte("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
	for _, h := range hs {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(body)
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// FuzzReadSdist: hostile sdists never panic the reader, and an accepted one
// has a name and a version.
func FuzzReadSdist(f *testing.F) {
	_, s := pydisttest.Sdist(pydisttest.Spec{Name: "demo", Version: "1.0"})
	f.Add(s)
	f.Add(sdistOf(f, &tar.Header{Name: "demo-1.0/PKG-INFO", Typeflag: tar.TypeReg, Mode: 0o644}, &tar.Header{Name: "demo-1.0/../../x", Typeflag: tar.TypeReg, Mode: 0o644}))
	f.Add(sdistOf(f, &tar.Header{Name: "demo-1.0/PKG-INFO", Typeflag: tar.TypeReg, Mode: 0o644}, &tar.Header{Name: "demo-1.0/l", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := pydist.ReadBytes("demo-1.0.tar.gz", data)
		if err != nil {
			return
		}
		if d.Name() == "" || d.Version() == "" {
			t.Fatal("accepted an sdist without name or version")
		}
		_ = d.FormFields()
	})
}

// FuzzParseMetadata: core metadata (RFC 822-ish) from an untrusted archive.
func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nDescription: a\n        b\n\nbody\n"))
	f.Add([]byte("Name: x\n" + strings.Repeat(" cont\n", 50)))
	f.Add([]byte{0xff, 0xfe, ':', '\n'})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := pydist.ParseMetadata(data)
		if err != nil {
			return
		}
		_ = m.Get("Name")
		_ = m.Description()
	})
}
