#!/usr/bin/env bash
# Measures `putitoutthere plan --json` on synthetic monorepos built with
# `git fast-import` (bench/gen), and the bare git commands plan needs for the
# same answer (bench/facts lists their inputs), reporting medians.
#
#   bench/plan.sh            # RUNS=7 by default
#   RUNS=15 bench/plan.sh
#
# Shapes: 500 packages / 10,000 commits / 90% of packages tagged,
# 200 packages / 5,000 commits / 100 packages tagged, and a 50,000-commit
# history (100 packages, 90 tagged) compared with a bare `git log` walk of
# the whole history: plan must stay within 1.5x of it (it reads every tag,
# reachable or not, the manifests and where the config first appeared, on
# top of the windows' history).
set -euo pipefail

RUNS=${RUNS:-7}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$root" && go build -o "$work/putitoutthere" ./cmd/putitoutthere && go build -o "$work/gen" ./bench/gen && go build -o "$work/facts" ./bench/facts)

# Isolate git from the user's config (after building: HOME also locates Go's caches).
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME="$work" LC_ALL=C
export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.com
piot="$work/putitoutthere"

now_us() { echo $(( $(date +%s%N) / 1000 )); }

# measure CMD...: run CMD $RUNS times (after one warm-up); print the median
# wall time and the median CPU time (user+sys, children included) in ms.
# CPU time is the steadier figure on a loaded machine.
measure() {
	"$@" >/dev/null 2>&1
	local walls=() cpus=() out
	local TIMEFORMAT='%R %U %S'
	for _ in $(seq "$RUNS"); do
		out=$( { time "$@" >/dev/null 2>&1; } 2>&1 )
		read -r r u s <<<"$out"
		walls+=("$r")
		cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')")
	done
	local w c
	w=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)]*1000}')
	c=$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)]*1000}')
	echo "$w $c"
}

run_plan() { "$piot" plan --json; }

# The git commands plan runs, one after the other: rev-parse, for-each-ref,
# one diff-tree for every distinct last-tag commit, the first-parent log over
# the widest window, the merged tips' messages.
bare_git() {
	git rev-parse --is-shallow-repository --show-toplevel --verify 'HEAD^{commit}'
	git for-each-ref --format='%(refname)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)' refs/tags
	if [ -n "$tags" ]; then
		for t in $tags; do echo "$t $head"; done | git diff-tree --stdin -r --name-only --no-renames -z
	fi
	git log --first-parent --diff-merges=first-parent --no-renames --name-only -z \
		--format='%x1e%H%x00%P%x00%B%x00' -n "$((window + 1))" HEAD --
	if [ -n "$tips" ]; then
		printf '%s\n' $tips | git log --no-walk=unsorted --stdin -z --format='%x1e%H%x00%P%x00%B%x00'
	fi
}

# The same with SPEC §3's literal form: one `git diff <tag>..HEAD` process per
# distinct tag commit.
bare_git_diffs() {
	git rev-parse --is-shallow-repository --verify 'HEAD^{commit}'
	git for-each-ref --merged HEAD --format='%(refname)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)' refs/tags
	for t in $tags; do git diff --name-only --no-renames "$t..HEAD"; done
	git log --first-parent --diff-merges=first-parent --no-renames --name-only -z \
		--format='%x1e%H%x00%P%x00%B%x00' -n "$((window + 1))" HEAD --
	if [ -n "$tips" ]; then
		printf '%s\n' $tips | git log --no-walk=unsorted --stdin -z --format='%x1e%H%x00%P%x00%B%x00'
	fi
}

shape() {
	local packages=$1 commits=$2 tagged=$3 dir="$work/repo-$1-$2"
	local s e
	s=$(now_us)
	git init -q -b main "$dir"
	"$work/gen" -packages "$packages" -commits "$commits" -tagged "$tagged" | git -C "$dir" fast-import --quiet
	# A clone from a forge is delta-packed with packed refs; fast-import's
	# pack is not, which would make every tree read slower than in real life.
	git -C "$dir" repack -adq
	git -C "$dir" pack-refs --all
	git -C "$dir" reset -q --hard main
	e=$(now_us)
	cd "$dir"
	head=$(git rev-parse HEAD)
	local facts
	facts=$("$work/facts")
	tags=$(echo "$facts" | awk '$1=="tag"{print $2}')
	tips=$(echo "$facts" | awk '$1=="tip"{print $2}')
	window=$(echo "$facts" | awk '$1=="window"{print $2}')
	local ntags nrel nrows
	ntags=$(git tag | wc -l)
	# A plan over 256 rows stops (PIOT_PLAN_TOO_LARGE) after all its work:
	# the timings stand, the counts read 0.
	nrel=$("$piot" plan 2>/dev/null | awk '/^PACKAGE/{on=1; next} /^$/{on=0} on' | wc -l || true)
	nrows=$(run_plan 2>/dev/null | grep -c '"artifact_name"' || true)
	read -r p_wall p_cpu <<<"$(measure run_plan)"
	read -r b_wall b_cpu <<<"$(measure bare_git)"
	read -r d_wall d_cpu <<<"$(measure bare_git_diffs)"
	echo "shape: $packages packages, $(git rev-list --count HEAD) commits, $ntags tags on $(git tag | sed 's/-v[0-9].*//' | sort -u | wc -l) packages (built in $(((e - s) / 1000)) ms)"
	echo "  plan reads: $(echo "$tags" | grep -c . || true) distinct last-tag commits, window $window first-parent commits, $(echo "$tips" | grep -c . || true) merged tips; plan: $nrel releases, $nrows rows"
	printf '  %-36s wall %6s ms   cpu %6s ms\n' "putitoutthere plan --json" "$p_wall" "$p_cpu"
	printf '  %-36s wall %6s ms   cpu %6s ms   plan/bare: wall %sx cpu %sx\n' "bare git (the same commands)" "$b_wall" "$b_cpu" \
		"$(awk -v a="$p_wall" -v b="$b_wall" 'BEGIN{printf "%.2f", a/b}')" "$(awk -v a="$p_cpu" -v b="$b_cpu" 'BEGIN{printf "%.2f", a/b}')"
	printf '  %-36s wall %6s ms   cpu %6s ms\n' "bare git (one git diff per tag)" "$d_wall" "$d_cpu"
	read -r l_wall l_cpu <<<"$(measure git log --first-parent --format=%H HEAD)"
	printf '  %-36s wall %6s ms   cpu %6s ms   plan/walk: wall %sx cpu %sx\n' "bare git log walk (whole history)" "$l_wall" "$l_cpu" \
		"$(awk -v a="$p_wall" -v b="$l_wall" 'BEGIN{printf "%.2f", a/b}')" "$(awk -v a="$p_cpu" -v b="$l_cpu" 'BEGIN{printf "%.2f", a/b}')"
	echo "  phases inside plan: $("$work/facts" -cpuprofile "$work/cpu-$packages.prof" -n "$RUNS")"
	cd "$root"
}

echo "runs per measurement: $RUNS (median), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(git --version)"
# SHAPES="packages commits tagged; ..." picks shapes (default: all three).
SHAPES=${SHAPES:-"500 10000 450; 200 5000 100; 100 50000 90"}
IFS=';' read -ra shapes <<<"$SHAPES"
for sh in "${shapes[@]}"; do
	# shellcheck disable=SC2086
	shape $sh
done
