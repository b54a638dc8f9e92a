#!/usr/bin/env bash
# Installs the putitoutthere binary for the putitoutthere GitHub Action.
#
# Which version: the `version` input when given; else the action's ref when it
# is a release tag (v1.2.3); else the version recorded in action.yml when
# that ref was released (PIOT_RECORDED_VERSION; a commit SHA or the moving
# major tag v1 points at a commit whose action.yml names its release). Never
# "latest" unless the workflow asks for it with `version: latest`.
#
# Where from: PIOT_BINARY_SOURCE (default https://github.com/putitoutthere/putitoutthere)
# + /releases/download/v<version>/. On GitHub Enterprise Server point it at
# a mirror of the releases; it does not follow GITHUB_SERVER_URL, because the
# binaries are released on github.com.
#
# Verified: the binary's SHA-256 must match the release's SHA256SUMS. When
# PIOT_VERIFY_PROVENANCE is "true" (or "auto", the gh CLI and a token are
# available and the source is github.com),
# its GitHub build-provenance attestation is verified too; PIOT_VERIFY_HOOK,
# when set, is run with the binary's path and must exit 0.
#
# Cached: per version and platform under the runner's tool cache
# ($RUNNER_TOOL_CACHE/putitoutthere/<version>/<triple>), so a second use in
# the same job (or on a self-hosted runner, any later job) downloads nothing.
#
# Every failure is an ::error:: annotation that says what to do.
set -euo pipefail

fail() { echo "::error title=putitoutthere install::$*"; exit 1; }
notice() { echo "::notice title=putitoutthere install::$*"; }

os=${PIOT_RUNNER_OS:-${RUNNER_OS:-}}
arch=${PIOT_RUNNER_ARCH:-${RUNNER_ARCH:-}}
case "$os/$arch" in
  Linux/X64)   triple=x86_64-unknown-linux ;;
  Linux/ARM64) triple=aarch64-unknown-linux ;;
  macOS/X64)   triple=x86_64-apple-darwin ;;
  macOS/ARM64) triple=aarch64-apple-darwin ;;
  Windows/X64) triple=x86_64-pc-windows-msvc ;;
  *) fail "putitoutthere has no binary for runner $os/$arch; use a Linux (X64, ARM64), macOS (X64, ARM64) or Windows (X64) runner, or install it with \`go install github.com/putitoutthere/putitoutthere/cmd/putitoutthere@VERSION\` and call it in a run: step" ;;
esac
ext=""
[ "$os" = Windows ] && ext=".exe"

semver='^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'
want=${PIOT_VERSION:-}
want=${want#v}
ref=${PIOT_ACTION_REF:-}
recorded=${PIOT_RECORDED_VERSION:-}
recorded=${recorded#v}
if [ -n "$want" ]; then
  if [ "$want" = latest ]; then
    version=latest
  elif [[ "$want" =~ $semver ]]; then
    version=$want
  else
    fail "input version '$PIOT_VERSION' is not a version; use e.g. 1.4.0, or 'latest' to take the newest release"
  fi
elif [[ "${ref#v}" =~ $semver ]]; then
  version=${ref#v}
elif [ -n "$recorded" ] && [ "$recorded" != 0.0.0 ]; then
  version=$recorded
  [ -n "$ref" ] && notice "action ref $ref is not a release tag; installing putitoutthere $version, the version recorded in its action.yml"
else
  fail "cannot tell which putitoutthere to install: the action ref '${ref:-(local)}' is not a release tag and its action.yml records no released version; pin the action to a release (uses: putitoutthere/putitoutthere@v1 or @vX.Y.Z) or set \`with: version: X.Y.Z\`"
fi

source_url=${PIOT_BINARY_SOURCE:-https://github.com/putitoutthere/putitoutthere}
source_url=${source_url%/}
if [ "$version" = latest ]; then
  # Only when asked for by name; the version is resolved from the redirect.
  latest=$(curl -fsSL -o /dev/null -w '%{url_effective}' "$source_url/releases/latest" 2>/dev/null || true)
  version=${latest##*/v}
  [[ "$version" =~ $semver ]] || fail "could not find the latest release at $source_url/releases/latest; set \`with: version: X.Y.Z\`"
  notice "version: latest resolved to putitoutthere $version"
fi
base="$source_url/releases/download/v$version"
file="putitoutthere-$triple$ext"

cache_root=${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}
dir="$cache_root/putitoutthere/$version/$triple"
bin="$dir/putitoutthere$ext"

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

if [ -x "$bin" ] && [ -f "$dir/.sha256" ] && [ "$(sha256 "$bin")" = "$(cat "$dir/.sha256")" ]; then
  echo "putitoutthere $version ($triple) from the runner's tool cache"
else
  tmp=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/putitoutthere-dl.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  fetch() { # url out
    local code
    code=$(curl -sSL --retry "${PIOT_CURL_RETRIES:-3}" --retry-connrefused -o "$2" -w '%{http_code}' "$1" 2>"$tmp/curl.err") || {
      fail "downloading $1 failed: $(tr '\n' ' ' <"$tmp/curl.err"); check the runner can reach $source_url (on GitHub Enterprise Server set the binary-source input to a mirror of the releases)"; }
    case "$code" in
      200) ;;
      404) fail "$1 answered 404: release v$version has no $(basename "$1") (yet). If v$version was released minutes ago its binaries may still be uploading: re-run the job. Otherwise check that v$version exists at $source_url/releases, or set \`with: version:\` to one that does" ;;
      *) fail "$1 answered HTTP $code; re-run the job, or set the binary-source input to a mirror of the releases" ;;
    esac
  }
  echo "downloading putitoutthere $version for $triple from $base"
  fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS"
  fetch "$base/$file" "$tmp/$file"
  expected=$(awk -v f="$file" '$2 == f || $2 == "*"f { print $1 }' "$tmp/SHA256SUMS")
  [ -n "$expected" ] || fail "SHA256SUMS of v$version lists no $file; the release is incomplete: re-run later or pin another version"
  actual=$(sha256 "$tmp/$file")
  [ "$actual" = "$expected" ] || fail "checksum mismatch for $file of v$version: SHA256SUMS says $expected, the download is $actual; do not use this binary: re-run the job, and report it if it persists"
  verify=${PIOT_VERIFY_PROVENANCE:-auto}
  # auto: when gh and a token are there and the binaries come from github.com
  # (a mirror on GitHub Enterprise Server cannot be checked against it).
  if [ "$verify" = true ] || { [ "$verify" = auto ] && command -v gh >/dev/null 2>&1 && [ -n "${GH_TOKEN:-}" ] && [[ "$source_url" == https://github.com/* ]]; }; then
    repo=${source_url#*://*/}
    if gh attestation verify "$tmp/$file" --repo "$repo" >"$tmp/attest.out" 2>&1; then
      echo "build provenance of $file verified (gh attestation verify --repo $repo)"
    else
      fail "build provenance of $file could not be verified: $(tail -n 3 "$tmp/attest.out" | tr '\n' ' '); set verify-provenance: false only if you trust $source_url without it"
    fi
  fi
  if [ -n "${PIOT_VERIFY_HOOK:-}" ]; then
    "$PIOT_VERIFY_HOOK" "$tmp/$file" || fail "the verification hook $PIOT_VERIFY_HOOK refused $file"
  fi
  mkdir -p "$dir"
  mv "$tmp/$file" "$bin"
  chmod +x "$bin"
  echo "$actual" >"$dir/.sha256"
fi

if [ -n "${GITHUB_PATH:-}" ]; then echo "$dir" >>"$GITHUB_PATH"; fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  { echo "version=$version"; echo "path=$bin"; } >>"$GITHUB_OUTPUT"
fi
echo "putitoutthere $version installed at $bin"
