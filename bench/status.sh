#!/usr/bin/env bash
# Measures `putitoutthere status` on 40 npm packages over a registry that
# answers every read after 200 ms (a local server started by the Go
# benchmark BenchmarkStatus40Packages200ms in internal/cli). Target: under 3 s.
#
#   bench/status.sh          # COUNT=3 runs by default
set -euo pipefail
COUNT=${COUNT:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=$(go test ./internal/cli -run '^$' -bench '^BenchmarkStatus40Packages200ms$' -benchtime "${COUNT}x" -count 1)
echo "$out" | grep -E '^status, 40 packages' || true
echo "$out" | grep -E '^BenchmarkStatus40' | awk '{for (i=1;i<=NF;i++) if ($(i+1)=="s/status") printf "mean over %s runs: %s s per status (target < 3 s)\n", $2, $i}'
