package macaroon

import (
	"bytes"
	"testing"
	"time"
)

func FuzzDecode(f *testing.F) {
	key := []byte("k")
	seeds := []*Macaroon{
		New("pypi.org", []byte("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"), key, RequestUser("u")),
		New("upload.pypi.org", []byte("id"), key, OIDCPublisher("p"), ProjectIDs("a", "b"), Expiration(10, 1)),
		New("", []byte("x"), key),
	}
	for _, m := range seeds {
		raw, _ := m.MarshalBinary()
		f.Add(raw)
		f.Add(m.EncodeV1())
	}
	f.Add([]byte{2, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		// What decodes must re-encode to something that decodes the same.
		if m.Format == V2 {
			raw, _ := m.MarshalBinary()
			back, err := Decode(raw)
			if err != nil {
				t.Fatalf("re-decode: %v", err)
			}
			if !bytes.Equal(back.Identifier, m.Identifier) || len(back.Caveats) != len(m.Caveats) || !bytes.Equal(back.Signature, m.Signature) {
				t.Fatal("round trip changed the macaroon")
			}
		}
		_, _ = Inspect(m.Token(), time.Unix(5, 0))
		for _, c := range m.Caveats {
			_, _ = ParseCaveat(c.ID)
		}
	})
}
