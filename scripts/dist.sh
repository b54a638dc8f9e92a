#!/usr/bin/env bash
# Cross-compiles putitoutthere for every platform the npm family ships, into
# artifacts/putitoutthere-<triple>/ (the layout `publish` expects), with the
# version embedded, reproducibly (-trimpath, empty build id, no cgo), and writes
# dist/SHA256SUMS plus dist/putitoutthere-<triple>[.exe] copies for the
# GitHub Release and the action's checksum-verified install.
#
# usage: scripts/dist.sh VERSION [OUT_DIR]
set -euo pipefail
version=${1:?usage: scripts/dist.sh VERSION [OUT_DIR]}
out=${2:-.}
# OUT is relative to the caller's directory, not to the repository root.
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.."
root=$(pwd)

targets=(
  "x86_64-unknown-linux linux amd64"
  "aarch64-unknown-linux linux arm64"
  "x86_64-apple-darwin darwin amd64"
  "aarch64-apple-darwin darwin arm64"
  "x86_64-pc-windows-msvc windows amd64"
)

# The commit goes into `putitoutthere version` (empty outside a checkout).
commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || true)

mkdir -p "$out/dist"
: > "$out/dist/SHA256SUMS"
for t in "${targets[@]}"; do
  read -r triple goos goarch <<<"$t"
  ext=""
  [ "$goos" = windows ] && ext=".exe"
  dir="$out/artifacts/putitoutthere-$triple"
  mkdir -p "$dir"
  # A static Go binary runs on glibc and musl alike: one linux member per
  # CPU, without npm's libc field.
  (cd "$root" && CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath \
    -ldflags "-s -w -buildid= -X github.com/putitoutthere/putitoutthere/internal/cli.Version=$version -X github.com/putitoutthere/putitoutthere/internal/cli.Commit=$commit" \
    -o "$dir/putitoutthere$ext" ./cmd/putitoutthere)
  cp "$dir/putitoutthere$ext" "$out/dist/putitoutthere-$triple$ext"
  (cd "$out/dist" && sha256sum "putitoutthere-$triple$ext" >> SHA256SUMS)
done
# The top-level package's artifact is its source folder (launcher + package.json).
mkdir -p "$out/artifacts/putitoutthere-main"
cp -R npm/putitoutthere/. "$out/artifacts/putitoutthere-main/"
cat "$out/dist/SHA256SUMS"
