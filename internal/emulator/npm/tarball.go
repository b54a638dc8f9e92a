package npm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

// BuildTarball makes an npm package tarball: package/package.json plus files
// (paths relative to the package root), gzipped, with fixed timestamps so the
// bytes (and so the integrity) are reproducible.
func BuildTarball(packageJSON []byte, files map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	all := map[string][]byte{"package.json": packageJSON}
	for k, v := range files {
		all[k] = v
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	mtime := time.Date(1985, 10, 26, 8, 15, 0, 0, time.UTC) // npm pack's fixed date
	for _, n := range names {
		data := all[n]
		if err := tw.WriteHeader(&tar.Header{Name: "package/" + n, Mode: 0o644, Size: int64(len(data)), ModTime: mtime, Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Integrity is the SRI string npm puts in dist.integrity.
func Integrity(data []byte) string {
	sum := sha512.Sum512(data)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

// Shasum is the hex SHA-1 npm puts in dist.shasum.
func Shasum(data []byte) string {
	sum := sha1.Sum(data)
	return hex.EncodeToString(sum[:])
}

type tarStats struct {
	fileCount    int
	unpackedSize int64
}

// readTarball checks that data is a gzipped tar and counts its files. Sizes
// are bounded so a hostile upload cannot exhaust memory.
func readTarball(data []byte) (*tarStats, error) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("tarball is not gzip: %w", err)
	}
	tr := tar.NewReader(io.LimitReader(gz, 512<<20))
	st := &tarStats{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tarball is not a tar archive: %w", err)
		}
		if !h.FileInfo().Mode().IsRegular() {
			continue
		}
		st.fileCount++
		st.unpackedSize += h.Size
	}
	return st, nil
}
