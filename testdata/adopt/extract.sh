#!/usr/bin/env bash
# Builds a practice-corpus fixture from a clone of a real repository: the
# data files putitoutthere reads (Cargo.toml, pyproject.toml, package.json,
# .github/workflows/*) at one commit, and the shape of its tag history: each
# tag with its distance in first-parent commits from that commit ("main N"),
# or, for a tag HEAD cannot reach (a release branch), the distance of the
# point its branch left the first-parent line ("side N"). No source code.
#
#   testdata/adopt/extract.sh GIT_DIR OWNER/NAME > testdata/adopt/NAME.txtar
set -euo pipefail
gd=$1 repo=$2
g() { git --git-dir="$gd" "$@"; }
head=$(g rev-parse HEAD)
echo "repo: $repo"
echo "commit: $head"
echo "tags: $(g tag | wc -l)"
declare -A pos
i=0
while read -r c; do pos[$c]=$i; i=$((i+1)); done < <(g rev-list --first-parent HEAD)
echo "-- tags --"
g for-each-ref --format='%(refname:short) %(objectname) %(*objectname)' refs/tags | while read -r t o p; do
	c=${p:-$o}
	[ "$(g cat-file -t "$c" 2>/dev/null)" = commit ] || continue
	if [ -n "${pos[$c]:-}" ]; then
		echo "$t main ${pos[$c]}"
	elif g merge-base --is-ancestor "$c" HEAD; then
		echo "$t main $(g rev-list --first-parent --count HEAD "^$c")"
	else
		mb=$(g merge-base "$c" HEAD || true)
		if [ -n "$mb" ] && [ -n "${pos[$mb]:-}" ]; then
			echo "$t side ${pos[$mb]}"
		elif [ -n "$mb" ]; then
			echo "$t side $(g rev-list --first-parent --count HEAD "^$mb")"
		fi
	fi
done | sort -k3,3n -k1,1
g ls-tree -r --name-only HEAD | grep -E '(^|/)(Cargo\.toml|pyproject\.toml|package\.json)$|^\.github/workflows/[^/]+\.ya?ml$' | while read -r f; do
	echo "-- files/$f --"
	# The public npm registry's address becomes a neutral one: the fixtures
	# name no registry host (nothing in the tests reads it).
	g show "HEAD:$f" | sed -E -e 's#//registry\.[a-z]+\.org#//npm-registry.invalid#g' -e '$a\'
done
