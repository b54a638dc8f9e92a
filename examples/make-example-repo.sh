#!/usr/bin/env bash
# make-example-repo.sh [DEST]
#
# Materialises examples/polyglot as a git repository in DEST (default: a new
# temporary directory) with a short release history, and prints DEST.
#
#   1. initial import; every package released at 0.1.0
#      (tags core-v0.1.0, core-py-v0.1.0, cli-v0.1.0, utils-v0.1.0)
#   2. utils: a fix on main (no trailer: patch)
#   3. a feature branch touching crates/core, merged with `release: minor`
#   4. utils: a docstring fix with a scoped trailer `release: patch [utils]`
#   5. docs only (touches no package)
#
# Expected plan afterwards: core minor (0.2.0); core-py and cli cascade from
# core (depends_on) and take the merge's minor too; utils patch (0.1.1).
#
# Needs only bash and git. The origin remote points at
# https://github.com/polyglot-example/polyglot.git and is never pushed to.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/polyglot"

dest="${1:-}"
if [ -z "$dest" ]; then
  dest="$(mktemp -d "${TMPDIR:-/tmp}/polyglot-example.XXXXXX")"
elif [ -e "$dest" ] && [ -n "$(ls -A "$dest" 2>/dev/null)" ]; then
  echo "make-example-repo.sh: $dest exists and is not empty" >&2
  exit 2
fi
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"

# A fixed identity and clock, independent of the user's git config, so the
# history (and its commit ids) is the same on every machine.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="Polyglot Maintainer" GIT_AUTHOR_EMAIL="maintainer@polyglot.example"
export GIT_COMMITTER_NAME="Polyglot Maintainer" GIT_COMMITTER_EMAIL="maintainer@polyglot.example"
tick=1735722000 # 2025-01-01T09:00:00Z
step() {
  tick=$((tick + 3600))
  export GIT_AUTHOR_DATE="@$tick +0000" GIT_COMMITTER_DATE="@$tick +0000"
}
g() { git -C "$dest" -c commit.gpgsign=false -c tag.gpgsign=false -c core.autocrlf=false "$@"; }

cp -R "$src/." "$dest/"

g init -q
g symbolic-ref HEAD refs/heads/main
g remote add origin https://github.com/polyglot-example/polyglot.git

# 1. Initial import and the first releases.
step
g add -A
g commit -q -m "Initial import of the polyglot monorepo

Rust core (crates/core), its Python bindings (python/core-py), the npm CLI
(npm/cli) and pure-Python helpers (python/utils), released with
putitoutthere."
for t in core core-py cli utils; do
  g tag -a "$t-v0.1.0" -m "$t 0.1.0"
done

# 2. utils: a fix on main, no trailer (a patch).
step
cat >>"$dest/python/utils/src/polyglot_utils/__init__.py" <<'EOF'


def is_blank(text: str) -> bool:
    """True when text is empty or only whitespace."""
    return not text.strip()
EOF
g add python/utils
g commit -q -m "utils: add is_blank"

# 3. A feature branch on the core, merged with a minor bump.
step
g checkout -q -b feature/core-chars
cat >>"$dest/crates/core/src/lib.rs" <<'EOF'

/// Number of Unicode scalar values in `text`.
pub fn chars(text: &str) -> usize {
    text.chars().count()
}
EOF
g add crates/core
g commit -q -m "core: add chars()"
step
cat >>"$dest/crates/core/README.md" <<'EOF'

`chars()` counts Unicode scalar values, not bytes.
EOF
g add crates/core
g commit -q -m "core: document chars()"
step
g checkout -q main
g merge -q --no-ff feature/core-chars -m "Merge branch 'feature/core-chars'

Adds chars() to the core; new API, so a minor release.

release: minor"
g branch -q -d feature/core-chars

# 4. utils: a scoped trailer.
step
sed -i.bak 's/Lower-cases text and collapses runs of whitespace./Lower-case text and collapse runs of whitespace./' \
  "$dest/python/utils/src/polyglot_utils/__init__.py"
rm -f "$dest/python/utils/src/polyglot_utils/__init__.py.bak"
g add python/utils
g commit -q -m "utils: fix the normalize docstring

release: patch [utils]"

# 5. Docs only: releases nothing.
step
cat >>"$dest/README.md" <<'EOF'

Run `putitoutthere plan` in this repository to see what the next push to
`main` would release.
EOF
g add README.md
g commit -q -m "docs: say how to preview the next release"

echo "$dest"
