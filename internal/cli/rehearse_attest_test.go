package cli

import (
	"strings"
	"testing"
)

const rehearseCaller = `name: release
on:
  push:
    branches: [main]
jobs:
  publish:
    permissions:
      contents: write
      id-token: write
    uses: ./.github/workflows/publish.yml
`

const rehearseCalled = `name: publish
on:
  workflow_call:
jobs:
  publish:
    runs-on: ubuntu-latest
    environment: release
    permissions:
      contents: write
      id-token: write
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - run: npx putitoutthere publish
`

// A release job in a reusable workflow passes PyPI's exchange (matched on
// job_workflow_ref) but its attestations name the caller (workflow_ref), so
// PyPI would refuse the upload: the rehearsal stops before the first upload
// with PyPI's text. With attestations = false the same release goes through.
func TestRehearseAttestationIdentityFromReusableWorkflow(t *testing.T) {
	for _, off := range []bool{false, true} {
		dir := rehearsalRepo(t, rehearseCaller, false)
		// PyPI's trusted publisher names the called workflow.
		cfg := strings.Replace(rehearseConfig, `workflow = "release.yml"`, `workflow = "publish.yml"`, 1)
		if off {
			cfg = strings.Replace(cfg, `pypi = "rehearse-utils"`, "pypi = \"rehearse-utils\"\nattestations = false", 1)
		}
		files := map[string]string{".github/workflows/publish.yml": rehearseCalled, "putitoutthere.toml": cfg}
		writeFiles(t, dir, files)
		gitIn(t, dir, "add", "-A")
		gitIn(t, dir, "commit", "-qm", "release through a reusable workflow")
		code, out, _ := rehearseIn(t, dir)
		if off {
			if code != 0 || !strings.Contains(out, "attestations = false: uploading without PEP 740 attestations") {
				t.Fatalf("attestations = false: exit %d\n%s", code, out)
			}
			continue
		}
		want := "Invalid attestations supplied during upload: Could not verify the uploaded artifact using the included attestation: Verification failed: Certificate's Build Config URI (https://github.com/acme/mono/.github/workflows/release.yml@refs/heads/main) does not match expected Trusted Publisher (publish.yml @ acme/mono)"
		if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, "PIOT_PYPI_ATTESTATION_REFUSED") {
			t.Fatalf("exit %d, want 1 with %q\n%s", code, want, out)
		}
		if strings.Contains(out, `"path": "/legacy/"`) {
			t.Fatalf("uploaded although the attestation would be refused\n%s", out)
		}
	}
}
