// Package macaroon reads and writes PyPI API tokens: the "pypi-" string
// layer, the binary macaroon inside it (v2, and the older v1 text packets),
// the HMAC-SHA256 signature chain, and Warehouse's caveats. The emulator mints
// and verifies tokens with it; `token inspect` reads them offline.
package macaroon

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Prefix starts every PyPI token.
const Prefix = "pypi-"

// SignatureLen is the length of an HMAC-SHA256 signature.
const SignatureLen = 32

// Format of the binary macaroon.
type Format int

const (
	V2 Format = 2 // binary v2, what Warehouse issues
	V1 Format = 1 // libmacaroons text packets
)

// Caveat is one caveat. A first-party caveat has only an ID (Warehouse's
// JSON predicate); a third-party one also has a VID and usually a Location.
type Caveat struct {
	Location string
	ID       []byte
	VID      []byte
}

// ThirdParty reports whether the caveat needs a discharge macaroon.
func (c Caveat) ThirdParty() bool { return len(c.VID) > 0 }

// Macaroon is a decoded macaroon.
type Macaroon struct {
	Format     Format
	Location   string
	Identifier []byte
	Caveats    []Caveat
	Signature  []byte // SignatureLen bytes
}

// ErrMalformed wraps every decoding failure.
var ErrMalformed = errors.New("malformed macaroon")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// field types of the v2 format.
const (
	fieldEOS        = 0
	fieldLocation   = 1
	fieldIdentifier = 2
	fieldVID        = 4
	fieldSignature  = 6
)

// keyGenerator derives the signing key from a root key (libmacaroons).
var keyGenerator = []byte("macaroons-key-generator")

func mac(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)
}

// New mints a macaroon with the given first-party caveats, signed with rootKey.
func New(location string, identifier, rootKey []byte, caveats ...[]byte) *Macaroon {
	m := &Macaroon{Format: V2, Location: location, Identifier: append([]byte(nil), identifier...)}
	m.Signature = mac(mac(keyGenerator, rootKey), identifier)
	for _, c := range caveats {
		m.AddFirstParty(c)
	}
	return m
}

// AddFirstParty appends a caveat and re-signs: anyone holding a token can
// attenuate it this way without the root key.
func (m *Macaroon) AddFirstParty(caveat []byte) {
	m.Caveats = append(m.Caveats, Caveat{ID: append([]byte(nil), caveat...)})
	m.Signature = mac(m.Signature, caveat)
}

// Verify checks the HMAC chain against rootKey. Third-party caveats cannot be
// discharged (Warehouse supplies no discharges), so they fail verification.
func (m *Macaroon) Verify(rootKey []byte) error {
	sig := mac(mac(keyGenerator, rootKey), m.Identifier)
	for i, c := range m.Caveats {
		if c.ThirdParty() {
			return fmt.Errorf("caveat %d is third-party and cannot be discharged", i+1)
		}
		sig = mac(sig, c.ID)
	}
	if !hmac.Equal(sig, m.Signature) {
		return errors.New("signature mismatch")
	}
	return nil
}

// MarshalBinary encodes m in the v2 binary format.
func (m *Macaroon) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte(2)
	if m.Location != "" {
		putField(&b, fieldLocation, []byte(m.Location))
	}
	putField(&b, fieldIdentifier, m.Identifier)
	b.WriteByte(fieldEOS)
	for _, c := range m.Caveats {
		if c.Location != "" {
			putField(&b, fieldLocation, []byte(c.Location))
		}
		putField(&b, fieldIdentifier, c.ID)
		if len(c.VID) > 0 {
			putField(&b, fieldVID, c.VID)
		}
		b.WriteByte(fieldEOS)
	}
	b.WriteByte(fieldEOS)
	putField(&b, fieldSignature, m.Signature)
	return b.Bytes(), nil
}

func putField(b *bytes.Buffer, typ int, data []byte) {
	b.Write(binary.AppendUvarint(nil, uint64(typ)))
	b.Write(binary.AppendUvarint(nil, uint64(len(data))))
	b.Write(data)
}

// Serialize is the URL-safe unpadded base64 of the v2 encoding, as
// pymacaroons writes it.
func (m *Macaroon) Serialize() string {
	raw, _ := m.MarshalBinary()
	return base64.RawURLEncoding.EncodeToString(raw)
}

// Token is the PyPI token string: "pypi-" + Serialize().
func (m *Macaroon) Token() string { return Prefix + m.Serialize() }

// ParseToken splits off the "pypi-" prefix (Warehouse partitions at the first
// "-") and decodes the macaroon.
func ParseToken(token string) (*Macaroon, error) {
	token = strings.TrimSpace(token)
	prefix, raw, found := strings.Cut(token, "-")
	if !found || prefix != "pypi" {
		if strings.HasPrefix(token, "pypi:") {
			return nil, malformed(`the "pypi:" prefix of 2019 is no longer accepted; the token must start with "pypi-"`)
		}
		return nil, malformed(`a PyPI token starts with "pypi-"`)
	}
	if raw == "" {
		return nil, malformed("nothing after the pypi- prefix")
	}
	data, err := DecodeBase64(raw)
	if err != nil {
		return nil, err
	}
	return Decode(data)
}

// DecodeBase64 decodes the macaroon's base64: URL-safe first, then the
// standard alphabet, padding ignored. Anything else is refused (stricter than
// Warehouse, which drops stray characters).
func DecodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return nil, malformed("not base64")
}

// Decode parses a binary macaroon, v2 or v1 (chosen by the first byte).
func Decode(data []byte) (*Macaroon, error) {
	if len(data) == 0 {
		return nil, malformed("empty")
	}
	switch c := data[0]; {
	case c == 2:
		return decodeV2(data[1:])
	case c >= '0' && c <= '9' || c >= 'a' && c <= 'f':
		return decodeV1(data)
	default:
		return nil, malformed("cannot determine data format of binary-encoded macaroon")
	}
}

type field struct {
	typ  uint64
	data []byte
}

type reader struct {
	b   []byte
	off int
}

func (r *reader) uvarint(what string) (uint64, error) {
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		return 0, malformed("truncated or overlong %s at byte %d", what, r.off+1)
	}
	r.off += n
	return v, nil
}

// section reads fields up to and including an EOS byte.
func (r *reader) section() ([]field, error) {
	var fs []field
	for {
		if r.off >= len(r.b) {
			return nil, malformed("unexpected end of data (missing end-of-section)")
		}
		typ, err := r.uvarint("field type")
		if err != nil {
			return nil, err
		}
		if typ == fieldEOS {
			return fs, nil
		}
		f, err := r.fieldBody(typ)
		if err != nil {
			return nil, err
		}
		if len(fs) > 0 && fs[len(fs)-1].typ >= typ {
			return nil, malformed("fields out of order")
		}
		fs = append(fs, f)
	}
}

func (r *reader) fieldBody(typ uint64) (field, error) {
	n, err := r.uvarint("field length")
	if err != nil {
		return field{}, err
	}
	if n > uint64(len(r.b)-r.off) {
		return field{}, malformed("field of %d bytes runs past the end of data", n)
	}
	f := field{typ: typ, data: r.b[r.off : r.off+int(n)]}
	r.off += int(n)
	return f, nil
}

func decodeV2(b []byte) (*Macaroon, error) {
	r := &reader{b: b}
	m := &Macaroon{Format: V2}
	head, err := r.section()
	if err != nil {
		return nil, err
	}
	for _, f := range head {
		switch f.typ {
		case fieldLocation:
			if !utf8.Valid(f.data) {
				return nil, malformed("location is not UTF-8")
			}
			m.Location = string(f.data)
		case fieldIdentifier:
			m.Identifier = clone(f.data)
		default:
			return nil, malformed("unexpected field type %d in header", f.typ)
		}
	}
	if m.Identifier == nil {
		return nil, malformed("no identifier")
	}
	for {
		if r.off >= len(r.b) {
			return nil, malformed("unexpected end of data (missing end of caveats)")
		}
		if r.b[r.off] == fieldEOS {
			r.off++
			break
		}
		fs, err := r.section()
		if err != nil {
			return nil, err
		}
		var c Caveat
		hasID := false
		for _, f := range fs {
			switch f.typ {
			case fieldLocation:
				if !utf8.Valid(f.data) {
					return nil, malformed("caveat location is not UTF-8")
				}
				c.Location = string(f.data)
			case fieldIdentifier:
				c.ID, hasID = clone(f.data), true
			case fieldVID:
				c.VID = clone(f.data)
			default:
				return nil, malformed("unexpected field type %d in caveat", f.typ)
			}
		}
		if !hasID {
			return nil, malformed("caveat %d has no identifier", len(m.Caveats)+1)
		}
		if c.Location != "" && c.VID == nil {
			return nil, malformed("caveat %d has a location but no verification ID", len(m.Caveats)+1)
		}
		m.Caveats = append(m.Caveats, c)
	}
	if r.off >= len(r.b) {
		return nil, malformed("no signature")
	}
	typ, err := r.uvarint("field type")
	if err != nil {
		return nil, err
	}
	if typ != fieldSignature {
		return nil, malformed("expected signature, found field type %d", typ)
	}
	f, err := r.fieldBody(typ)
	if err != nil {
		return nil, err
	}
	if len(f.data) != SignatureLen {
		return nil, malformed("signature is %d bytes, want %d", len(f.data), SignatureLen)
	}
	m.Signature = clone(f.data)
	if r.off != len(r.b) {
		return nil, malformed("%d trailing bytes after the signature", len(r.b)-r.off)
	}
	return m, nil
}

func clone(b []byte) []byte { return append([]byte{}, b...) }

// decodeV1 reads libmacaroons text packets: "%04x" total length, then
// "key value\n".
func decodeV1(b []byte) (*Macaroon, error) {
	type packet struct {
		key string
		val []byte
	}
	var ps []packet
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			return nil, malformed("truncated v1 packet header")
		}
		n, err := strconv.ParseUint(string(b[off:off+4]), 16, 16)
		if err != nil {
			return nil, malformed("bad v1 packet length %q", b[off:off+4])
		}
		if n < 6 || int(n) > len(b)-off {
			return nil, malformed("v1 packet length %d out of range", n)
		}
		body := b[off+4 : off+int(n)]
		if body[len(body)-1] != '\n' {
			return nil, malformed("v1 packet does not end with a newline")
		}
		k, v, ok := bytes.Cut(body[:len(body)-1], []byte(" "))
		if !ok {
			return nil, malformed("v1 packet without a key")
		}
		ps = append(ps, packet{string(k), clone(v)})
		off += int(n)
	}
	m := &Macaroon{Format: V1}
	i := 0
	if i < len(ps) && ps[i].key == "location" {
		m.Location = string(ps[i].val)
		i++
	}
	if i >= len(ps) || ps[i].key != "identifier" {
		return nil, malformed("v1: expected identifier")
	}
	m.Identifier = ps[i].val
	i++
	for i < len(ps) && ps[i].key == "cid" {
		c := Caveat{ID: ps[i].val}
		i++
		if i < len(ps) && ps[i].key == "vid" {
			c.VID = ps[i].val
			i++
			if i < len(ps) && ps[i].key == "cl" {
				c.Location = string(ps[i].val)
				i++
			}
		}
		m.Caveats = append(m.Caveats, c)
	}
	if i >= len(ps) || ps[i].key != "signature" {
		return nil, malformed("v1: expected signature")
	}
	if len(ps[i].val) != SignatureLen {
		return nil, malformed("signature is %d bytes, want %d", len(ps[i].val), SignatureLen)
	}
	m.Signature = ps[i].val
	if i+1 != len(ps) {
		return nil, malformed("v1: unexpected packet %q after the signature", ps[i+1].key)
	}
	return m, nil
}

// EncodeV1 writes m as v1 text packets (for tests and old-token fixtures).
func (m *Macaroon) EncodeV1() []byte {
	var b bytes.Buffer
	pkt := func(k string, v []byte) {
		fmt.Fprintf(&b, "%04x%s %s\n", 4+len(k)+1+len(v)+1, k, v)
	}
	if m.Location != "" {
		pkt("location", []byte(m.Location))
	}
	pkt("identifier", m.Identifier)
	for _, c := range m.Caveats {
		pkt("cid", c.ID)
		if len(c.VID) > 0 {
			pkt("vid", c.VID)
			if c.Location != "" {
				pkt("cl", []byte(c.Location))
			}
		}
	}
	pkt("signature", m.Signature)
	return b.Bytes()
}
