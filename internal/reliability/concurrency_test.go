package reliability

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	"github.com/putitoutthere/putitoutthere/internal/env"
)

// TestConcurrentPublish: two pushes to main in quick succession start two
// release workflows; both plan the same versions and run publish at the same
// moment, each in its own checkout, against the same registries and the same
// origin. Only one may upload each package, and no tag may end up pointing at
// a commit whose run did not publish that version.
//
// The guard is publish's release lock: a create-only push of
// refs/putitoutthere/locks/<tag> to origin before the first upload.
func TestConcurrentPublish(t *testing.T) {
	needTools(t, "cargo")
	w := newWorld(t)
	w.useShim(shimNpm)
	a, b, checkouts := w.twoCheckouts()
	results := w.runBoth(checkouts, nil)
	problems := w.concurrencyProblems(a, b, results)
	for name, r := range results {
		t.Logf("run %s: exit %d\n%s\n%s", name, r.Code, r.Stdout, r.Stderr)
	}
	if len(problems) == 0 {
		return
	}
	t.Error(strings.Join(problems, "\n"))
}

// twoCheckouts makes push B (a commit touching no package) and a checkout of
// each push with the build job's artifacts.
func (w *world) twoCheckouts() (a, b string, checkouts map[string]string) {
	a = w.git(w.dir, "rev-parse", "HEAD")
	writeFile(w.t, filepath.Join(w.dir, "README.md"), "docs\n")
	w.git(w.dir, "add", "README.md")
	w.git(w.dir, "commit", "-q", "-m", "docs: readme")
	w.git(w.dir, "push", "-q", "origin", "main")
	b = w.git(w.dir, "rev-parse", "HEAD")
	checkouts = map[string]string{}
	for name, commit := range map[string]string{"A": a, "B": b} {
		dir := w.t.TempDir()
		w.git(dir, "clone", "-q", "-b", "main", w.origin, ".")
		w.git(dir, "checkout", "-q", "--detach", commit)
		w.dir = dir
		w.artifacts(planned)
		checkouts[name] = dir
	}
	return a, b, checkouts
}

// runBoth starts publish in both checkouts at the same moment (each its own
// workflow run id) and waits for both; during, when set, runs meanwhile.
func (w *world) runBoth(checkouts map[string]string, during func(done map[string]chan struct{})) map[string]result {
	var wg sync.WaitGroup
	results := map[string]result{}
	var mu sync.Mutex
	start := make(chan struct{})
	done := map[string]chan struct{}{"A": make(chan struct{}), "B": make(chan struct{})}
	for name, dir := range checkouts {
		wg.Add(1)
		go func(name, dir string) {
			defer wg.Done()
			<-start
			ww := *w
			ww.dir = dir
			// Two pushes start two workflow runs: each has its own run id.
			e := env.Env{}
			for k, v := range w.env {
				e[k] = v
			}
			e["GITHUB_RUN_ID"] = map[string]string{"A": "7001", "B": "7002"}[name]
			p := ww.start(e, "publish", "--json")
			code, _ := p.wait(3 * time.Minute)
			r := result{Code: code, Stdout: p.stdout.String(), Stderr: p.stderr.String()}
			var d publishDoc
			if json.Unmarshal([]byte(r.Stdout), &d) == nil {
				r.Doc = &d
			}
			mu.Lock()
			results[name] = r
			mu.Unlock()
			close(done[name])
		}(name, dir)
	}
	close(start)
	if during != nil {
		during(done)
	}
	wg.Wait()
	return results
}

// concurrencyProblems: each package reached an upload handler once; each tag
// on origin is at a commit whose run published that package.
func (w *world) concurrencyProblems(a, b string, results map[string]result) []string {
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
	return problems
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

// TestConcurrentPublishLateRun: the harder interleaving. Run X reads the
// registries (nothing published yet), then stalls (its PyPI trust exchange
// hangs) while run Y takes the locks, publishes everything and releases the
// locks; then X continues. X must not upload what Y published: what it read
// before holding the lock is stale.
func TestConcurrentPublishLateRun(t *testing.T) {
	needTools(t, "cargo")
	w := newWorld(t)
	w.useShim(shimNpm)
	a, b, checkouts := w.twoCheckouts()
	w.pypi.Faults.Add(fault.Rule{Method: http.MethodPost, PathPrefix: "/_/oidc/mint-token", Kind: fault.Hang})
	results := w.runBoth(checkouts, func(done map[string]chan struct{}) {
		if !waitFor(time.Minute, func() bool { return w.pypi.Faults.Hits() > 0 }) {
			return
		}
		// One run is stalled; let the other finish, then release the stalled one.
		select {
		case <-done["A"]:
		case <-done["B"]:
		case <-time.After(2 * time.Minute):
		}
		w.pypi.Faults.Clear()
	})
	problems := w.concurrencyProblems(a, b, results)
	if w.pypi.Faults.Hits() == 0 {
		t.Fatal("neither run reached the PyPI exchange")
	}
	// Uploads refused by the client (cargo reads the index first) never reach
	// the registry's handler; count the attempts publish itself made.
	for _, name := range []string{crateName, pyName, npmName} {
		n := 0
		for _, r := range results {
			n += strings.Count(r.Stderr, name+" "+planned+": publishing to ")
		}
		if n != 1 {
			problems = append(problems, fmt.Sprintf("%s %s: publish attempted %d times across the two runs, want 1", name, planned, n))
		}
	}
	for _, r := range results {
		if r.Code != 0 && r.Doc != nil && r.Doc.Error != nil && r.Doc.Error.Code != "PIOT_PUBLISH_LOCKED" {
			problems = append(problems, "the late run failed with "+r.Doc.Error.Code+" although the other run published everything: "+firstLine(r.Doc.Error.Message))
		}
	}
	for name, r := range results {
		t.Logf("run %s: exit %d\n%s\n%s", name, r.Code, r.Stdout, r.Stderr)
	}
	if len(problems) > 0 {
		t.Error(strings.Join(problems, "\n"))
	}
}
