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
	out := make(map[string]TagInfo, len(cfg.Packages))
	// Index tags by every text that precedes a run of digits ("p2-v1.2.3"
	// is filed under "p", "p2-v", "p2-v1.", "p2-v1.2."), so each package only
	// runs its matcher on tags that start with its own prefix (500 packages x
	// thousands of tags).
	byStem := map[string][]int{}
	for i, t := range tags {
		for j := 0; j < len(t.Name); j++ {
			if isDigit(t.Name[j]) && (j == 0 || !isDigit(t.Name[j-1])) {
				byStem[t.Name[:j]] = append(byStem[t.Name[:j]], i)
			}
		}
	}
	for i := range cfg.Packages {
		p := &cfg.Packages[i]
		m, err := config.TagPattern(p)
		if err != nil {
			return nil, diag.Usage(config.CodeConfigInvalid, "%s: %v", cfg.File, err)
		}
		var best *semver.Version
		var bestTag Tag
		consider := func(t Tag) {
			s, ok := m.Match(t.Name)
			if !ok {
				return
			}
			v, err := semver.StrictNewVersion(s)
			if err != nil {
				return
			}
			// Ties (same precedence, e.g. different build metadata) go to the
			// lexically smaller name so the choice is deterministic.
			if best == nil || v.GreaterThan(best) || (v.Equal(best) && t.Name < bestTag.Name) {
				best, bestTag = v, t
			}
		}
		// The literal text before {version}, e.g. "pkg-v".
		prefix, _, _ := strings.Cut(m.Glob(), "*")
		if prefix != "" && isDigit(prefix[len(prefix)-1]) {
			// The index cannot help when the version's first digit does not
			// start a run of digits (e.g. tag_format "{name}{version}", name "h2").
			for _, t := range tags {
				consider(t)
			}
		} else {
			for _, j := range byStem[prefix] {
				consider(tags[j])
			}
		}
		if best != nil {
			out[p.Name] = TagInfo{Tag: bestTag.Name, Version: best.Original(), Commit: bestTag.Commit}
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
