#!/usr/bin/env bash
# Finishes a release of putitoutthere for the GitHub Action, after publish
# created tag vVERSION and its GitHub Release and the binaries were attached:
#
# 1. verifies that every binary listed in dist/SHA256SUMS can be downloaded
#    from the release and matches its checksum (what the action will do);
# 2. creates the action commit: vVERSION's tree with action.yml recording
#    VERSION (PIOT_RECORDED_VERSION), so a workflow pinned to that commit's SHA
#    or to the major tag installs exactly this version;
# 3. moves the major tag (v1) to that commit, unless VERSION is a prerelease
#    or a higher release of the same major exists.
#
# Nothing moves unless step 1 passed. Prints the commit to pin by SHA.
#
# usage: scripts/release-action.sh VERSION [DIST_DIR]
# env:   PIOT_BINARY_SOURCE (default https://github.com/$GITHUB_REPOSITORY),
#        PIOT_REMOTE (default origin), PIOT_DRY_RUN=1 to stop before pushing.
set -euo pipefail
version=${1:?usage: scripts/release-action.sh VERSION [DIST_DIR]}
version=${version#v}
dist=${2:-dist}
remote=${PIOT_REMOTE:-origin}
source_url=${PIOT_BINARY_SOURCE:-https://github.com/${GITHUB_REPOSITORY:?set GITHUB_REPOSITORY or PIOT_BINARY_SOURCE}}
source_url=${source_url%/}
tag="v$version"

fail() { echo "::error title=release-action::$*"; exit 1; }

[[ "$version" =~ ^([0-9]+)\.[0-9]+\.[0-9]+(-.+)?$ ]] || fail "VERSION '$version' is not X.Y.Z"
major="v${BASH_REMATCH[1]}"
prerelease=${BASH_REMATCH[2]:-}
[ -f "$dist/SHA256SUMS" ] || fail "$dist/SHA256SUMS not found; run scripts/dist.sh first"

# 1. Every attached binary matches.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
while read -r sum name; do
  name=${name#\*}
  [ -n "$name" ] || continue
  code=$(curl -sSL --retry 5 --retry-all-errors -o "$tmp/$name" -w '%{http_code}' "$source_url/releases/download/$tag/$name") ||
    fail "downloading $name of $tag failed"
  [ "$code" = 200 ] || fail "$name is not attached to release $tag (HTTP $code); the major tag was not moved"
  got=$( (command -v sha256sum >/dev/null && sha256sum "$tmp/$name" || shasum -a 256 "$tmp/$name") | cut -d' ' -f1)
  [ "$got" = "$sum" ] || fail "$name attached to $tag has SHA-256 $got, SHA256SUMS says $sum; the major tag was not moved"
  n=$((n + 1))
done <"$dist/SHA256SUMS"
[ "$n" -gt 0 ] || fail "$dist/SHA256SUMS lists no binary"
code=$(curl -sSL -o "$tmp/SHA256SUMS.remote" -w '%{http_code}' "$source_url/releases/download/$tag/SHA256SUMS") || true
[ "$code" = 200 ] && cmp -s "$tmp/SHA256SUMS.remote" "$dist/SHA256SUMS" || fail "SHA256SUMS attached to $tag is missing or differs from $dist/SHA256SUMS"
echo "verified $n binaries attached to $tag"

# 2. The action commit: the release's tree, action.yml recording the version.
git rev-parse -q --verify "refs/tags/$tag^{commit}" >/dev/null || fail "tag $tag does not exist here; fetch tags first"
work=$(mktemp -d)
git worktree add -q --detach "$work" "$tag^{commit}"
trap 'rm -rf "$tmp"; git worktree remove --force "$work" >/dev/null 2>&1 || true' EXIT
grep -q 'PIOT_RECORDED_VERSION: "' "$work/action.yml" || fail "action.yml of $tag has no PIOT_RECORDED_VERSION line"
sed -i.bak -E "s/(PIOT_RECORDED_VERSION: \")[^\"]*(\")/\1$version\2/" "$work/action.yml" && rm -f "$work/action.yml.bak"
git -C "$work" add action.yml
git -C "$work" -c user.name="${GIT_COMMITTER_NAME:-github-actions[bot]}" -c user.email="${GIT_COMMITTER_EMAIL:-41898282+github-actions[bot]@users.noreply.github.com}" \
  commit -q -m "action: install putitoutthere $version" -m "The commit the $major tag points to; action.yml records the release it installs."
commit=$(git -C "$work" rev-parse HEAD)
echo "action commit for $tag: $commit"

# 3. Move the major tag, forward only.
if [ -n "$prerelease" ]; then
  echo "$version is a prerelease: $major not moved"
  move=false
else
  highest=$(git tag --list "$major.*" | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' | sed 's/^v//' | sort -t. -k1,1n -k2,2n -k3,3n | tail -n1)
  if [ "$highest" != "$version" ]; then
    echo "$major stays: v$highest is a higher release of $major"
    move=false
  else
    move=true
  fi
fi
# The action commit is reachable only through tags, so it gets its own.
git tag -f "action-$tag" "$commit" >/dev/null
refs=("+refs/tags/action-$tag")
if [ "$move" = true ]; then
  git tag -f "$major" "$commit" >/dev/null
  refs+=("+refs/tags/$major")
fi
if [ "${PIOT_DRY_RUN:-}" = 1 ]; then
  echo "dry run: would push ${refs[*]} to $remote"
else
  git push -q "$remote" "${refs[@]}"
  [ "$move" = true ] && echo "moved $major to $commit"
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  {
    echo "### putitoutthere $version: action"
    echo
    echo "Pin the action by SHA (installs exactly $version):"
    echo
    echo '```yaml'
    echo "- uses: ${GITHUB_REPOSITORY:-putitoutthere/putitoutthere}@$commit # $tag"
    echo '```'
    [ "$move" = true ] && echo && echo "\`$major\` now points to this commit."
  } >>"$GITHUB_STEP_SUMMARY"
fi
echo "pin: uses: ${GITHUB_REPOSITORY:-putitoutthere/putitoutthere}@$commit # $tag"
