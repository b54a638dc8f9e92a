#!/usr/bin/env bash
# Measures `putitoutthere doctor` on a repository with 50 workflows.
# Prints the Go benchmark's time per run (doctor.Run in process) and the
# wall time of the real binary (process start, git remote lookup included).
# Target: under 100 ms.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== go benchmark (in process)"
go test ./internal/doctor/ -run '^$' -bench 'BenchmarkDoctor50Workflows' -benchtime 20x -count 3 |
	awk '/^BenchmarkDoctor50Workflows/ { printf "doctor, 50 workflows: %.1f ms/run\n", $3 / 1e6 }'

echo "== binary (end to end)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/putitoutthere" ./cmd/putitoutthere
repo="$tmp/repo"
mkdir -p "$repo/.github/workflows" "$repo/crates/core"
printf '[package]\nname = "core"\nversion = "0.1.0"\n' >"$repo/crates/core/Cargo.toml"
cat >"$repo/putitoutthere.toml" <<'TOML'
[putitoutthere]
version = 1

[[package]]
name = "core"
kind = "crates"
path = "crates/core"
paths = ["crates/core/**"]

[package.trust_policy]
workflow = "release.yml"
environment = "release"
TOML
cat >"$repo/.github/workflows/release.yml" <<'YAML'
on: push
jobs:
  publish:
    runs-on: ubuntu-latest
    permissions: {contents: write, id-token: write}
    environment: release
    steps:
      - run: npx putitoutthere publish
YAML
for i in $(seq -w 1 49); do
	{
		printf 'name: ci-%s\non:\n  pull_request:\n  push:\n    branches: [main]\npermissions:\n  contents: read\njobs:\n' "$i"
		for j in 1 2 3 4; do
			printf '  job-%s:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: |\n          npm ci\n          npm test\n      - run: npx putitoutthere publish --dry-run\n' "$j"
		done
	} >"$repo/.github/workflows/ci-$i.yml"
done
git -C "$repo" init -q
runs=20
start=$(date +%s%N)
for _ in $(seq $runs); do
	"$tmp/putitoutthere" --cwd "$repo" doctor >/dev/null
done
end=$(date +%s%N)
echo "doctor binary, 50 workflows: $(((end - start) / runs / 1000000)) ms/run wall (mean of $runs)"
# CPU time is what the run costs on an idle machine; wall time on a busy one
# includes waiting for a core.
cpu() { "$tmp/putitoutthere" --cwd "$repo" doctor >/dev/null; }
TIMEFORMAT='%U %S'
t=$( { time (for _ in $(seq $runs); do cpu; done) ; } 2>&1 )
read -r user sys <<<"$t"
awk -v u="$user" -v s="$sys" -v n="$runs" 'BEGIN { printf "doctor binary, 50 workflows: %.0f ms/run CPU (user+sys, mean of %d)\n", (u + s) * 1000 / n, n }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
