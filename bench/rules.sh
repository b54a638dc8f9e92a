#!/usr/bin/env bash
# Measures the registry-rules check publish runs on every artifact before the
# first upload (internal/artifacts CheckRules): one wheel, one sdist and one
# .crate, read and checked against PyPI's and crates.io's rules. Prints the
# time per package set.
#
#   bench/rules.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
go test ./internal/artifacts -run '^$' -bench 'BenchmarkCheckRules$' -benchtime 500x |
	awk '/^BenchmarkCheckRules/ { printf "registry rules: %.2f ms for a wheel, an sdist and a .crate\n", $3 / 1e6 }'
