package cratefile

import (
	"strings"
	"testing"
)

// FuzzParse: arbitrary bytes never panic, and anything accepted has a root
// and no entry outside it.
func FuzzParse(f *testing.F) {
	f.Add(Build("foo", "0.1.0", map[string]string{"Cargo.toml": Manifest("foo", "0.1.0", "d", "MIT")}))
	f.Add([]byte("not a crate"))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Parse(data)
		if err != nil {
			return
		}
		for _, p := range append(info.Files, info.LinkEntries...) {
			if !strings.HasPrefix(p, info.Root+"/") {
				t.Fatalf("accepted entry %q outside root %q", p, info.Root)
			}
			for _, part := range strings.Split(p, "/") {
				if part == ".." {
					t.Fatalf("accepted traversal %q", p)
				}
			}
		}
	})
}
