#!/usr/bin/env bash
# Builds putitoutthere, materialises the polyglot example as a git repository
# with a short release history, and runs the tool's main job on it:
#   plan      what changed since each package's last tag, and at which version
#   doctor    would trusted publishing refuse this release, and why
#   rehearse  the whole publish against in-process registry emulators
# Nothing outside a temporary directory is touched.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/putitoutthere-demo.XXXXXX")"
bin="$work/putitoutthere"

echo "==> building putitoutthere"
(cd "$here/.." && go build -o "$bin" ./cmd/putitoutthere)

echo "==> materialising examples/polyglot as a git repository"
repo="$("$here/make-example-repo.sh" "$work/polyglot")"
git -C "$repo" log --oneline --graph --decorate

cd "$repo"
echo
echo "==> putitoutthere plan"
"$bin" plan
echo
echo "==> putitoutthere doctor"
"$bin" doctor
echo
echo "==> putitoutthere rehearse"
"$bin" rehearse
echo
echo "The example repository is in $repo; run $bin there to try more."
