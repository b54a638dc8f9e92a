package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentPublish: two pushes to main in quick succession start two
// release workflows; both plan the same versions and run publish at the same
// moment, each in its own checkout, against the same registries and the same
// origin. Only one may upload each package, and no tag may end up pointing at
// a commit whose run did not publish that version.
//
// The guard (an atomic, create-only push of refs/putitoutthere/locks/<tag>
// to origin before the first upload) is not in publish yet; until it is, the
// test runs but skips on failure unless PIOT_EXPECT_PUBLISH_LOCK is set.
func TestConcurrentPublish(t *testing.T) {
	needTools(t, "cargo")
	w := newWorld(t)
	w.useShim(shimNpm)
	// Push B: a commit that touches no package (both runs plan the same versions).
	a := w.git(w.dir, "rev-parse", "HEAD")
	writeFile(t, filepath.Join(w.dir, "README.md"), "docs\n")
	w.git(w.dir, "add", "README.md")
	w.git(w.dir, "commit", "-q", "-m", "docs: readme")
	w.git(w.dir, "push", "-q", "origin", "main")
	b := w.git(w.dir, "rev-parse", "HEAD")

	checkouts := map[string]string{}
	for name, commit := range map[string]string{"A": a, "B": b} {
		dir := t.TempDir()
		w.git(dir, "clone", "-q", "-b", "main", w.origin, ".")
		w.git(dir, "checkout", "-q", "--detach", commit)
		w.dir = dir
		w.artifacts(planned)
		checkouts[name] = dir
	}
	var wg sync.WaitGroup
	results := map[string]result{}
	var mu sync.Mutex
	start := make(chan struct{})
	for name, dir := range checkouts {
		wg.Add(1)
		go func(name, dir string) {
			defer wg.Done()
			<-start
			ww := *w
			ww.dir = dir
			p := ww.start(w.env, "publish", "--json")
			code, _ := p.wait(3 * time.Minute)
			mu.Lock()
			results[name] = result{Code: code, Stdout: p.stdout.String(), Stderr: p.stderr.String()}
			mu.Unlock()
		}(name, dir)
	}
	close(start)
	wg.Wait()

	var problems []string
	count := func(n int, what string) {
		if n != 1 {
			problems = append(problems, fmt.Sprintf("%s: %d upload attempts reached the registry, want 1", what, n))
		}
	}
	n := 0
	for _, at := range w.crates.Attempts() {
		if at.Name == crateName && at.Version == planned {
			n++
		}
	}
	count(n, crateName)
	for _, f := range w.pypi.Files(pyName, planned) {
		count(w.pypi.UploadAttempts(f), f)
	}
	n = 0
	for _, at := range w.npm.Attempts() {
		if at.Name == npmName && at.Version == planned {
			n++
		}
	}
	count(n, npmName)
	// Tags: each at a commit whose run published that package.
	for _, tag := range strings.Fields(w.git(w.origin, "tag", "--list")) {
		c := w.git(w.origin, "rev-parse", tag+"^{commit}")
		run := map[string]string{a: "A", b: "B"}[c]
		if run == "" {
			problems = append(problems, fmt.Sprintf("tag %s at %.12s, a commit neither run released", tag, c))
			continue
		}
		pkg, _, _ := strings.Cut(tag, "-v")
		if !strings.Contains(results[run].Stdout, `"name": "`+pkg+`"`) || !publishedIn(results[run].Stdout, pkg) {
			problems = append(problems, fmt.Sprintf("tag %s points at run %s's commit, but run %s did not publish %s", tag, run, run, pkg))
		}
	}
	for name, r := range results {
		t.Logf("run %s: exit %d\n%s\n%s", name, r.Code, r.Stdout, r.Stderr)
	}
	if len(problems) == 0 {
		return
	}
	msg := strings.Join(problems, "\n")
	if os.Getenv("PIOT_EXPECT_PUBLISH_LOCK") == "" {
		t.Skip("publish lock not implemented yet; with it this must pass:\n" + msg)
	}
	t.Error(msg)
}

// publishedIn reports whether a publish --json document has pkg as published.
func publishedIn(doc, pkg string) bool {
	i := strings.Index(doc, `"name": "`+pkg+`"`)
	if i < 0 {
		return false
	}
	rest := doc[i:]
	if j := strings.Index(rest[1:], `"name": "`); j >= 0 {
		rest = rest[:j+1]
	}
	return strings.Contains(rest, `"status": "published"`)
}
