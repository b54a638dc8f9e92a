package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The .crate artifact the checks read is the file crates.io receives: its
// bytes, not a re-packaging of the source tree.
func TestE2ECrateArtifactIsWhatShips(t *testing.T) {
	w := newWorld(t)
	doc, stderr, code := w.publishJSON()
	if code != 0 || doc.Outcome != "ok" {
		t.Fatalf("exit %d, doc %+v\nstderr:\n%s", code, doc, stderr)
	}
	want, err := os.ReadFile(filepath.Join(w.dir, "artifacts", "core-crate", "piot-core-0.1.0.crate"))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := w.crates.CrateData("piot-core", "0.1.0")
	if !ok || !bytes.Equal(got, want) {
		t.Fatalf("crates.io did not receive the checked .crate (%d vs %d bytes)", len(got), len(want))
	}
	for _, c := range w.runner.Calls() {
		if c.Name == "cargo" && len(c.Args) > 0 && c.Args[0] == "publish" {
			t.Fatalf("cargo publish ran (it re-packages the source tree): %v", c.Args)
		}
	}
}

// A crate whose Cargo.toml names another crate (config and .crate still say
// the planned name) stops the run before any upload: nothing reaches any
// registry, no tag, no release.
func TestE2EWrongCrateNameStopsBeforeUpload(t *testing.T) {
	w := newWorld(t)
	p := filepath.Join(w.dir, "core", "Cargo.toml")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(b, []byte(`name = "piot-core"`), []byte(`name = "totally-other-crate"`), 1), 0o644)
	gitRun(t, w.dir, w.env, "commit", "-qam", "rename the crate")
	gitRun(t, w.dir, w.env, "push", "-q", "origin", "main")
	for _, args := range [][]string{{"--dry-run"}, {}} {
		_, stderr, code := w.cli(append([]string{"publish"}, args...)...)
		if code == 0 || !strings.Contains(stderr, "PIOT_CRATE_NAME_MISMATCH") || !strings.Contains(stderr, "totally-other-crate") {
			t.Fatalf("publish %v: exit %d\n%s", args, code, stderr)
		}
	}
	if n := len(w.crates.Attempts()); n != 0 {
		t.Fatalf("%d crates.io upload attempts", n)
	}
	if v := w.crates.Versions("totally-other-crate"); len(v) != 0 {
		t.Fatalf("totally-other-crate published: %v", v)
	}
	if v := w.npm.Versions("js-core"); len(v) != 1 {
		t.Fatal("npm received an upload")
	}
	if tags := w.remoteTags(); tags != "" {
		t.Fatalf("tags pushed: %q", tags)
	}
}
