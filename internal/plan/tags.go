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
// among tags that match its tag_format or one of its previous_tag_formats
// (config.TagPatterns). tags must already be limited to those reachable from
// HEAD. Packages without a tag are absent from the result.
func LastTags(cfg *config.Config, tags []Tag) (map[string]TagInfo, error) {
	idx, err := newTagIndex(cfg)
	if err != nil {
		return nil, err
	}
	best := idx.best(tags)
	out := make(map[string]TagInfo, len(cfg.Packages))
	for i, p := range cfg.Packages {
		if best[i].v != nil {
			out[p.Name] = TagInfo{Tag: best[i].tag.Name, Version: best[i].v.Original(), Commit: best[i].tag.Commit}
		}
	}
	return out, nil
}

// tagIndex matches tags against every package's formats. Packages are
// indexed by the literal text before {version} ("pkg-v"): a tag is only
// matched against formats whose prefix ends where one of its runs of digits
// starts, so 500 packages x thousands of tags stays linear.
type tagIndex struct {
	n        int
	matchers [][]*config.TagMatcher
	byPrefix map[string][]int // prefix -> packages (deduplicated per prefix)
	scanAll  []int
}

func newTagIndex(cfg *config.Config) (*tagIndex, error) {
	n := len(cfg.Packages)
	ix := &tagIndex{n: n, matchers: make([][]*config.TagMatcher, n), byPrefix: map[string][]int{}}
	for i := range cfg.Packages {
		ms, err := config.TagPatterns(&cfg.Packages[i])
		if err != nil {
			return nil, diag.Usage(config.CodeConfigInvalid, "%s: %v", cfg.File, err)
		}
		ix.matchers[i] = ms
		all := false
		seen := map[string]bool{}
		for _, m := range ms {
			prefix, _, _ := strings.Cut(m.Glob(), "*")
			if prefix != "" && isDigit(prefix[len(prefix)-1]) {
				// The version's first digit does not start a run of digits
				// (e.g. tag_format "{name}{version}", name "h2"): try every tag.
				all = true
			} else if !seen[prefix] {
				seen[prefix] = true
				ix.byPrefix[prefix] = append(ix.byPrefix[prefix], i)
			}
		}
		if all {
			ix.scanAll = append(ix.scanAll, i)
		}
	}
	return ix, nil
}

// match returns the version tag t releases for package i.
func (ix *tagIndex) match(i int, name string) (*semver.Version, bool) {
	for _, m := range ix.matchers[i] {
		if s, ok := m.Match(name); ok {
			if v, err := semver.StrictNewVersion(s); err == nil {
				return v, true
			}
		}
	}
	return nil, false
}

// each calls fn for every (package, version) a tag is a release of.
func (ix *tagIndex) each(tags []Tag, fn func(i int, t Tag, v *semver.Version)) {
	for _, t := range tags {
		var done []int // packages already given t (a package may list two prefixes)
		try := func(i int) {
			for _, d := range done {
				if d == i {
					return
				}
			}
			done = append(done, i)
			if v, ok := ix.match(i, t.Name); ok {
				fn(i, t, v)
			}
		}
		for j := 0; j < len(t.Name); j++ {
			if isDigit(t.Name[j]) && (j == 0 || !isDigit(t.Name[j-1])) {
				for _, i := range ix.byPrefix[t.Name[:j]] {
					try(i)
				}
			}
		}
		for _, i := range ix.scanAll {
			try(i)
		}
	}
}

// Candidates lists, for every package, the tags of its formats in release
// order, newest first (ties by name): the order in which the git layer asks
// whether they are reachable, so it asks only about the few newest.
func Candidates(cfg *config.Config, tags []Tag) ([][]Tag, error) {
	ix, err := newTagIndex(cfg)
	if err != nil {
		return nil, err
	}
	type cand struct {
		t Tag
		v *semver.Version
	}
	per := make([][]cand, ix.n)
	ix.each(tags, func(i int, t Tag, v *semver.Version) {
		per[i] = append(per[i], cand{t, v})
	})
	out := make([][]Tag, ix.n)
	for i, cs := range per {
		sort.Slice(cs, func(a, b int) bool {
			if !cs[a].v.Equal(cs[b].v) {
				return cs[a].v.GreaterThan(cs[b].v)
			}
			return cs[a].t.Name < cs[b].t.Name
		})
		for _, c := range cs {
			out[i] = append(out[i], c.t)
		}
	}
	return out, nil
}

type bestTag struct {
	v   *semver.Version
	tag Tag
}

// best is, per package, its highest release among tags.
func (ix *tagIndex) best(tags []Tag) []bestTag {
	out := make([]bestTag, ix.n)
	ix.each(tags, func(i int, t Tag, v *semver.Version) {
		// Ties (same precedence, e.g. different build metadata) go to the
		// lexically smaller name so the choice is deterministic.
		if b := out[i].v; b == nil || v.GreaterThan(b) || (v.Equal(b) && t.Name < out[i].tag.Name) {
			out[i] = bestTag{v, t}
		}
	})
	return out
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
