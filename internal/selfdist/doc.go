// Package selfdist holds the checks that keep this repository's own
// distribution true: the GitHub Action's metadata against its docs, the
// workflows against actionlint, and the release binaries' reproducibility.
// It has no code of its own; see scripts/dist.sh and action.yml.
package selfdist
