package pydist

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"

	"golang.org/x/crypto/blake2b"
)

// Digests are the hex digests PyPI's upload form and JSON API carry.
type Digests struct {
	MD5       string
	SHA256    string
	Blake2256 string
}

// Digest computes every digest of data.
func Digest(data []byte) Digests {
	m := md5.Sum(data)
	s := sha256.Sum256(data)
	b := blake2b.Sum256(data)
	return Digests{MD5: hex.EncodeToString(m[:]), SHA256: hex.EncodeToString(s[:]), Blake2256: hex.EncodeToString(b[:])}
}
