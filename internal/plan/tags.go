package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
)

// Tag is a git tag reachable from HEAD and the commit it points at (peeled
// for annotated tags).
type Tag struct {
	Name   string
	Commit string
}

// TagInfo is a package's last release tag.
type TagInfo struct {
	Tag     string `json:"tag"`
	Version string `json:"version"`
	Commit  string `json:"commit"`
}

// LastTags picks, for every package, the highest version (semver order)
// among tags that match its tag_format (config.TagPattern). tags must already
// be limited to those reachable from HEAD. Packages without a tag are absent
// from the result.
func LastTags(cfg *config.Config, tags []Tag) (map[string]TagInfo, error) {
	n := len(cfg.Packages)
	matchers := make([]*config.TagMatcher, n)
	// Packages by the literal text before {version} ("pkg-v"): a tag is only
	// matched against packages whose prefix ends where one of its runs of
	// digits starts, so 500 packages x thousands of tags stays linear.
	byPrefix := map[string][]int{}
	var scanAll []int
	for i := range cfg.Packages {
		m, err := config.TagPattern(&cfg.Packages[i])
		if err != nil {
			return nil, diag.Usage(config.CodeConfigInvalid, "%s: %v", cfg.File, err)
		}
		matchers[i] = m
		prefix, _, _ := strings.Cut(m.Glob(), "*")
		if prefix != "" && isDigit(prefix[len(prefix)-1]) {
			// The version's first digit does not start a run of digits (e.g.
			// tag_format "{name}{version}", name "h2"): try every tag.
			scanAll = append(scanAll, i)
		} else {
			byPrefix[prefix] = append(byPrefix[prefix], i)
		}
	}
	best := make([]*semver.Version, n)
	bestTag := make([]Tag, n)
	consider := func(i int, t Tag) {
		s, ok := matchers[i].Match(t.Name)
		if !ok {
			return
		}
		v, err := semver.StrictNewVersion(s)
		if err != nil {
			return
		}
		// Ties (same precedence, e.g. different build metadata) go to the
		// lexically smaller name so the choice is deterministic.
		if b := best[i]; b == nil || v.GreaterThan(b) || (v.Equal(b) && t.Name < bestTag[i].Name) {
			best[i], bestTag[i] = v, t
		}
	}
	for _, t := range tags {
		for j := 0; j < len(t.Name); j++ {
			if isDigit(t.Name[j]) && (j == 0 || !isDigit(t.Name[j-1])) {
				for _, i := range byPrefix[t.Name[:j]] {
					consider(i, t)
				}
			}
		}
		for _, i := range scanAll {
			consider(i, t)
		}
	}
	out := make(map[string]TagInfo, n)
	for i, p := range cfg.Packages {
		if best[i] != nil {
			out[p.Name] = TagInfo{Tag: bestTag[i].Name, Version: best[i].Original(), Commit: bestTag[i].Commit}
		}
	}
	return out, nil
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// Bump returns version bumped by level. A pre-release is released rather than
// skipped over: 1.2.0-rc.1 bumped by minor is 1.2.0 (semver precedence, as
// npm's `semver.inc` does).
func Bump(version, level string) (string, error) {
	v, err := semver.StrictNewVersion(version)
	if err != nil {
		return "", fmt.Errorf("version %q is not semver x.y.z: %w", version, err)
	}
	x, y, z := v.Major(), v.Minor(), v.Patch()
	pre := v.Prerelease() != ""
	switch level {
	case BumpPatch:
		if !pre {
			z++
		}
	case BumpMinor:
		if !pre || z != 0 {
			y, z = y+1, 0
		}
	case BumpMajor:
		if !pre || y != 0 || z != 0 {
			x, y, z = x+1, 0, 0
		}
	default:
		return "", fmt.Errorf("unknown bump %q", level)
	}
	return strconv.FormatUint(x, 10) + "." + strconv.FormatUint(y, 10) + "." + strconv.FormatUint(z, 10), nil
}

// bumpRank orders bump levels; higher wins.
func bumpRank(b string) int {
	switch b {
	case BumpPatch:
		return 1
	case BumpMinor:
		return 2
	case BumpMajor:
		return 3
	}
	return 0
}

// sortedKeys returns m's keys in order (deterministic iteration).
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
