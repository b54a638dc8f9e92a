package doctor

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchRepo is a repository with n workflows: a release workflow calling a
// reusable publish workflow, and n-2 CI workflows of realistic size.
func benchRepo(tb testing.TB, n int) string {
	files := map[string]string{
		"putitoutthere.toml":         crateToml + "\n[package.trust_policy]\nworkflow = \"release.yml\"\nenvironment = \"release\"\nrepository = \"my-org/my-repo\"\n",
		"crates/my-crate/Cargo.toml": cargo,
		".github/workflows/release.yml": `on: push
jobs:
  release:
    permissions: {contents: write, id-token: write}
    uses: ./.github/workflows/publish.yml
`,
		".github/workflows/publish.yml": `on: workflow_call
jobs:
  publish:
    runs-on: ubuntu-latest
    environment: release
    steps:
      - run: npx putitoutthere publish
`,
	}
	for i := 0; i < n-2; i++ {
		var b strings.Builder
		fmt.Fprintf(&b, "name: ci-%d\non:\n  pull_request:\n  push:\n    branches: [main]\npermissions:\n  contents: read\njobs:\n", i)
		for j := 0; j < 4; j++ {
			fmt.Fprintf(&b, "  job-%d:\n    runs-on: ${{ matrix.os }}\n    strategy:\n      matrix:\n        os: [ubuntu-latest, macos-latest, windows-latest]\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-node@v4\n        with: {node-version: 24}\n      - run: |\n          npm ci\n          npm test -- --shard=%d\n          # putitoutthere plan\n      - run: npx putitoutthere publish --dry-run\n", j, j)
		}
		files[fmt.Sprintf(".github/workflows/ci-%02d.yml", i)] = b.String()
	}
	return writeRepo(tb, files)
}

// BenchmarkDoctor50Workflows: doctor on a repository with 50 workflows must
// answer in well under 100 ms (no registry token, outside Actions).
func BenchmarkDoctor50Workflows(b *testing.B) {
	root := benchRepo(b, 50)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := run(b, root, nil)
		if r.ExitCode() != 0 {
			b.Fatalf("exit %d:\n%s", r.ExitCode(), text(r))
		}
	}
}

// TestDoctor50WorkflowsFast guards against regressions. The 100 ms target is
// measured by BenchmarkDoctor50Workflows (bench/doctor.sh); here the best of
// several runs must stay under a bound loose enough for a loaded CI machine.
func TestDoctor50WorkflowsFast(t *testing.T) {
	root := benchRepo(t, 50)
	best := time.Hour
	for i := 0; i < 5; i++ {
		start := time.Now()
		if r := run(t, root, nil); r.ExitCode() != 0 {
			t.Fatalf("exit %d:\n%s", r.ExitCode(), text(r))
		}
		best = min(best, time.Since(start))
	}
	if best > 500*time.Millisecond {
		t.Errorf("doctor took %s (best of 5) on 50 workflows; the target is < 100ms", best)
	}
	t.Logf("best of 5: %s", best)
}
