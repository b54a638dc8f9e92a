package ghactions_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGH stands in for `gh attestation verify FILE --repo REPO`: like gh it
// looks the file's sha256 up among the repository's attestations (here, a
// directory of "sha256:<hex>" files the release workflow "attested") and
// fails when there is none. Verifying the Sigstore bundle itself is gh's
// job; what is tested is that the action refuses what gh refuses.
func fakeGH(t *testing.T, attested ...[]byte) (pathDir string) {
	t.Helper()
	dir := t.TempDir()
	store := filepath.Join(dir, "attestations")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range attested {
		sum := sha256.Sum256(b)
		if err := os.WriteFile(filepath.Join(store, "sha256:"+hex.EncodeToString(sum[:])), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `#!/bin/bash
[ "$1 $2" = "attestation verify" ] || { echo "unexpected: gh $*" >&2; exit 2; }
file=$3; [ "$4" = --repo ] || { echo "no --repo" >&2; exit 2; }
d=$( (sha256sum "$file" 2>/dev/null || shasum -a 256 "$file") | cut -d' ' -f1)
if [ -e "` + store + `/sha256:$d" ]; then
  echo "Loaded 1 attestation from GitHub API"
  echo "✓ Verification succeeded!"
  exit 0
fi
echo "Loaded 0 attestations from GitHub API" >&2
echo "✗ Loading attestations from GitHub API failed" >&2
echo "Error: failed to fetch attestations for subject: sha256:$d" >&2
exit 1
`
	if err := os.WriteFile(filepath.Join(dir, "gh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A binary whose build provenance does not verify is not installed, even
// when SHA256SUMS (published beside it, so replaceable with it) agrees.
func TestActionInstallRefusesBinaryWithoutProvenance(t *testing.T) {
	f := newFakeReleases(t)
	f.publish("1.4.0", false)
	genuine := f.releases["1.4.0"].files["putitoutthere-x86_64-unknown-linux"]

	// The release workflow attested the genuine binary.
	r := newRunner(t, f)
	gh := fakeGH(t, genuine)
	r.run(map[string]string{"PIOT_RECORDED_VERSION": "1.4.0", "PIOT_VERIFY_PROVENANCE": "true", "GH_TOKEN": "ghs_x", "PATH": gh + ":" + os.Getenv("PATH")})
	if r.exitCode != 0 || !strings.Contains(r.out, "build provenance of putitoutthere-x86_64-unknown-linux verified (gh attestation verify --repo org/tool)") {
		t.Fatalf("genuine binary: exit %d\n%s", r.exitCode, r.out)
	}
	if got := r.installed(); got != "putitoutthere 1.4.0" {
		t.Fatalf("installed %q", got)
	}

	// Someone replaced the binary and its checksum line in the release.
	f.publish("1.5.0", false)
	evil := []byte("#!/bin/sh\necho owned\n")
	sum := sha256.Sum256(evil)
	f.edit(func() {
		f.releases["1.5.0"].files["putitoutthere-x86_64-unknown-linux"] = evil
		f.releases["1.5.0"].files["SHA256SUMS"] = []byte(hex.EncodeToString(sum[:]) + "  putitoutthere-x86_64-unknown-linux\n")
	})
	r = newRunner(t, f)
	r.run(map[string]string{"PIOT_RECORDED_VERSION": "1.5.0", "PIOT_VERIFY_PROVENANCE": "true", "GH_TOKEN": "ghs_x", "PATH": gh + ":" + os.Getenv("PATH")})
	if r.exitCode == 0 {
		t.Fatalf("a binary without provenance was installed\n%s", r.out)
	}
	for _, want := range []string{"::error", "build provenance of putitoutthere-x86_64-unknown-linux could not be verified", "Loading attestations from GitHub API failed"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q\n%s", want, r.out)
		}
	}
	if b, _ := os.ReadFile(r.env["GITHUB_PATH"]); len(b) > 0 {
		t.Errorf("refused binary added to PATH: %s", b)
	}
	entries, _ := filepath.Glob(filepath.Join(r.toolDir, "*", "*", "*", "putitoutthere"))
	for _, e := range entries {
		if b, _ := os.ReadFile(e); string(b) == string(evil) {
			t.Errorf("refused binary left in the tool cache at %s", e)
		}
	}
}
