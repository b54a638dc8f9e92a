package reliability

import (
	"testing"
	"time"
)

// TestHappyPath is the baseline every fault scenario is measured against:
// one run publishes the three packages with the real cargo and npm.
func TestHappyPath(t *testing.T) {
	needTools(t, "cargo", "npm")
	w := newWorld(t)
	start := time.Now()
	r := w.publish(2 * time.Minute)
	t.Logf("publish took %s", time.Since(start))
	if r.Code != 0 {
		t.Fatalf("exit %d %s\nstdout:\n%s\nstderr:\n%s", r.Code, r.statuses(), r.Stdout, r.Stderr)
	}
	if p := w.problems(w.git(w.dir, "rev-parse", "HEAD")); len(p) > 0 {
		t.Fatalf("end state: %v\n%s", p, r.Stderr)
	}
}
