package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// verdicts renders every issue of the local phase as one line,
// `file:line: severity CODE: message`, plus the phase status: the
// actionlint-style expectation of testdata/cases/<case>.out.
func verdicts(r *Report) string {
	var b strings.Builder
	p := r.Phase(PhaseLocal)
	fmt.Fprintf(&b, "status: %s\n", p.Status)
	for _, c := range p.Checks {
		fmt.Fprintf(&b, "%s %s\n", marks[c.Status], c.Text)
		for _, is := range c.Issues {
			fmt.Fprintf(&b, "%s:%d: %s %s: %s\n", is.File, is.Line, is.Severity, is.Code, is.Message)
		}
	}
	return b.String()
}

// TestCases runs doctor on every repository under testdata/cases/ and
// compares the trust policy (local) verdicts with testdata/cases/<case>.out.
func TestCases(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "cases", "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			got := verdicts(run(t, dir, nil))
			out := dir + ".out"
			if *update {
				if err := os.WriteFile(out, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Errorf("%s (-want +got):\n%s", out, d)
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d cases", n)
	}
}
