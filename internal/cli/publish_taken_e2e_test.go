package cli

import (
	"strings"
	"testing"
)

// A registry already holds the planned version, published from elsewhere
// (before the repository adopted putitoutthere): publish stops before the
// first upload with PIOT_VERSION_TAKEN instead of tagging HEAD with another
// commit's release. A version this tool released from this commit (a run
// that died before tagging) is still repaired.
func TestE2EVersionTakenStopsBeforeFirstUpload(t *testing.T) {
	w := newWorld(t)
	if err := w.npm.CreatePackageVersion("js-core", "octocat", "0.1.0"); err != nil {
		t.Fatal(err)
	}
	doc, stderr, code := w.publishJSON()
	if code != 1 || doc.Error == nil || doc.Error.Code != "PIOT_VERSION_TAKEN" {
		t.Fatalf("exit %d, doc %+v\nstderr:\n%s", code, doc, stderr)
	}
	if !strings.Contains(doc.Error.Message, "js-core 0.1.0 is already on npm") || !strings.Contains(doc.Error.Hint, "tag the commit that released it") {
		t.Errorf("message = %s\nhint = %s", doc.Error.Message, doc.Error.Hint)
	}
	if len(w.crates.Attempts())+len(w.npm.Attempts()) != 0 || w.remoteTags() != "" {
		t.Errorf("side effects before the stop: crates %d npm %d tags %q", len(w.crates.Attempts()), len(w.npm.Attempts()), w.remoteTags())
	}
}

func TestE2EOwnReleaseIsRepairedNotTaken(t *testing.T) {
	w := newWorld(t)
	// First run publishes everything, then the tags are lost (a run killed
	// between upload and tag leaves the same state).
	if _, stderr, code := w.publishJSON(); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	for _, tag := range strings.Fields(w.remoteTags()) {
		gitRun(t, w.origin, w.env, "tag", "-d", tag)
		gitRun(t, w.dir, w.env, "tag", "-d", tag)
	}
	doc, stderr, code := w.publishJSON()
	if code != 0 || statusesOf(doc) != "core=already-published py-core=already-published js-core=already-published" {
		t.Fatalf("re-run: exit %d %s\n%s", code, statusesOf(doc), stderr)
	}
	if got := strings.Fields(w.remoteTags()); len(got) != 3 {
		t.Errorf("tags not repaired: %v", got)
	}
}
