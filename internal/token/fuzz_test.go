package token

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/env"
)

// FuzzInspectPyPI: any bytes behind `pypi-` (decoded as a macaroon or not)
// give a report, never a panic, and the report never repeats the token.
func FuzzInspectPyPI(f *testing.F) {
	f.Add([]byte{2, 1, 8, 'p', 'y', 'p', 'i', '.', 'o', 'r', 'g', 0})
	f.Add([]byte(`{"version": 1, "permissions": "user"}`))
	f.Add([]byte(`[1, ["a"]]`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v := range []string{"pypi-" + base64.RawURLEncoding.EncodeToString(data), "pypi-" + string(data)} {
			r, err := InspectValue(context.Background(), env.Env{}, v, PyPI, []string{"my-pkg"})
			if err != nil {
				t.Fatalf("offline PyPI inspection failed: %v", err)
			}
			if r.State == "" || r.Fingerprint == "" {
				t.Fatalf("incomplete report %+v", r)
			}
			all := strings.Join(append(append([]string{r.Owner, r.Kind}, r.Summary...), r.Unknowable...), "\n")
			for _, p := range r.Packages {
				all += "\n" + p.Why
			}
			if len(v) > len("pypi-")+12 && strings.Contains(all, v) {
				t.Fatalf("report repeats the token")
			}
		}
	})
}
