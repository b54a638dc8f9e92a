package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/env"
)

// slowNPM is an npm registry that answers every packument read after delay:
// each package has 1.0.0 published (its tag, the latest), except
// pkg-007 whose packument answers 500 (unreadable) and pkg-009 whose latest is
// 2.0.0 (above the plan).
type slowNPM struct {
	srv            *httptest.Server
	inFlight, peak atomic.Int32
	requests       atomic.Int32
}

func newSlowNPM(tb testing.TB, delay time.Duration) *slowNPM {
	s := &slowNPM{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		for {
			p := s.peak.Load()
			if n <= p || s.peak.CompareAndSwap(p, n) {
				break
			}
		}
		s.requests.Add(1)
		time.Sleep(delay)
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name == "pkg-007" {
			http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
			return
		}
		latest := "1.0.0"
		if name == "pkg-009" {
			latest = "2.0.0"
		}
		vers := map[string]any{}
		for _, v := range []string{"1.0.0", latest} {
			vers[v] = map[string]any{"name": name, "version": v, "dist": map[string]any{"tarball": "x", "integrity": "sha512-x"}}
		}
		json.NewEncoder(w).Encode(map[string]any{"_id": name, "name": name, "dist-tags": map[string]string{"latest": latest}, "versions": vers})
	}))
	tb.Cleanup(s.srv.Close)
	return s
}

// statusRepo is a repository of n npm packages, each tagged at 1.0.0, with
// a change to every package after the tags (so each is planned at 1.0.1).
func statusRepo(tb testing.TB, n int) string {
	dir := tb.TempDir()
	var cfg strings.Builder
	cfg.WriteString("[putitoutthere]\nversion = 1\n")
	for i := range n {
		name := fmt.Sprintf("pkg-%03d", i)
		fmt.Fprintf(&cfg, "\n[[package]]\nname = %q\nkind = \"npm\"\npath = %q\npaths = [\"%s/**\"]\n", name, name, name)
		os.MkdirAll(filepath.Join(dir, name), 0o755)
		os.WriteFile(filepath.Join(dir, name, "package.json"), []byte(`{"name":"`+name+`","version":"1.0.0"}`), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "putitoutthere.toml"), []byte(cfg.String()), 0o644)
	gitc := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	gitc("init", "-q", "-b", "main")
	gitc("add", "-A")
	gitc("commit", "-qm", "init")
	for i := range n {
		gitc("tag", fmt.Sprintf("pkg-%03d-v1.0.0", i))
	}
	for i := range n {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("pkg-%03d", i), "x.js"), []byte("1\n"), 0o644)
	}
	gitc("add", "-A")
	gitc("commit", "-qm", "change everything")
	return dir
}

func runStatus(tb testing.TB, dir, registry string, extra env.Env) (string, string, int) {
	e := env.Env{"HOME": tb.TempDir(), "PATH": os.Getenv("PATH"), "PUTITOUTTHERE_NPM_REGISTRY": registry}
	for k, v := range extra {
		e[k] = v
	}
	var out, errb bytes.Buffer
	code := MainEnv(tb.Context(), []string{"--cwd", dir, "status"}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, e)
	return out.String(), errb.String(), code
}

// status reads the registries concurrently but bounded, reports a registry
// it could not read as `unknown` (exit 1), flags a plan below the registry's
// latest, and in CI prints a line per package read.
func TestStatusConcurrentBoundedAndHonest(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	reg := newSlowNPM(t, 50*time.Millisecond)
	dir := statusRepo(t, 40)
	start := time.Now()
	out, errOut, code := runStatus(t, dir, reg.srv.URL, env.Env{"CI": "true"})
	elapsed := time.Since(start)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (pkg-007 unreadable)\n%s\n%s", code, out, errOut)
	}
	if p := reg.peak.Load(); p < 2 || p > 16 {
		t.Errorf("peak concurrent registry reads = %d, want 2..16", p)
	}
	// Sequential reads would take requests × 50 ms.
	if seq := time.Duration(reg.requests.Load()) * 50 * time.Millisecond; elapsed > seq/2 {
		t.Errorf("status took %s for %d reads; sequential would be %s", elapsed, reg.requests.Load(), seq)
	}
	for _, re := range []string{
		`(?m)^pkg-007 +npm +pkg-007-v1\.0\.0 +- +error +1\.0\.1 +- +unknown$`,
		`(?m)^pkg-009 +npm .* 2\.0\.0 +1\.0\.1 .*planned-below-latest`,
		`drift: pkg-009: the plan would publish pkg-009 1\.0\.1, lower than npm's latest 2\.0\.0`,
		`(?m)^pkg-001 +npm +pkg-001-v1\.0\.0 +yes +1\.0\.0 +1\.0\.1 +no +none$`,
	} {
		if !regexpMatch(re, out) {
			t.Errorf("status output lacks %s:\n%s", re, out)
		}
	}
	if n := strings.Count(errOut, "status: read pkg-"); n != 40 {
		t.Errorf("%d progress lines in CI, want 40:\n%s", n, errOut)
	}
	// Rows keep the config's order whatever order the reads finished in.
	if i, j := strings.Index(out, "pkg-010"), strings.Index(out, "pkg-011"); i < 0 || j < i {
		t.Errorf("rows out of order:\n%s", out)
	}
}

var benchOnce sync.Once

// BenchmarkStatus40Packages200ms: `status` on 40 packages over a registry
// answering every read in 200 ms (the target is under 3 s; bench/status.sh
// prints the figure).
func BenchmarkStatus40Packages200ms(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("git not installed")
	}
	reg := newSlowNPM(b, 200*time.Millisecond)
	dir := statusRepo(b, 40)
	b.ResetTimer()
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		_, errOut, code := runStatus(b, dir, reg.srv.URL, nil)
		total += time.Since(start)
		if code != 1 {
			b.Fatalf("exit %d\n%s", code, errOut)
		}
	}
	per := total / time.Duration(b.N)
	b.ReportMetric(per.Seconds(), "s/status")
	b.ReportMetric(float64(reg.peak.Load()), "peak-concurrent-reads")
	benchOnce.Do(func() {
		fmt.Printf("status, 40 packages, registry answering in 200 ms: %.2f s per run (%d reads, at most %d at once)\n", per.Seconds(), reg.requests.Load()/int32(max(b.N, 1)), reg.peak.Load())
	})
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
