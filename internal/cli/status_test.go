package cli

import (
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/publish"
)

// Every column of the status table has its own name; the two "published"
// columns say which version they are about.
func TestStatusTableHeadersAreDistinct(t *testing.T) {
	yes, no := true, false
	var b strings.Builder
	writeStatus(&b, []publish.PackageStatus{{Name: "core", Kind: "crates", LastTag: "core-v0.1.0", TaggedPublished: &yes, Latest: "0.1.0", Planned: "0.2.0", PlannedPublished: &no}}, nil)
	lines := strings.Split(b.String(), "\n")
	if !strings.Contains(lines[0], "TAG PUBLISHED") || !strings.Contains(lines[0], "PLANNED PUBLISHED") {
		t.Errorf("header = %q", lines[0])
	}
	seen := map[string]bool{}
	for _, h := range strings.Split(lines[0], "  ") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		if seen[h] {
			t.Errorf("column %q appears twice: %q", h, lines[0])
		}
		seen[h] = true
	}
	if f := strings.Fields(lines[1]); strings.Join(f, " ") != "core crates core-v0.1.0 yes 0.1.0 0.2.0 no none" {
		t.Errorf("row = %q", lines[1])
	}
}
