package plan

import (
	"fmt"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// bitset is a set of package indexes.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int)      { b[i/64] |= 1 << (uint(i) % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(uint(i)%64)) != 0 }
func (b bitset) or(o bitset) {
	for i := range b {
		b[i] |= o[i]
	}
}
func (b bitset) intersects(o bitset) bool {
	for i := range min(len(b), len(o)) {
		if b[i]&o[i] != 0 {
			return true
		}
	}
	return false
}
func (b bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

// globEntry is one `paths` glob of one package.
type globEntry struct {
	pattern string
	pkg     int
	// all: the pattern is "<prefix>**", so every file under the prefix matches
	// without running the matcher.
	all bool
}

// globIndex answers "which packages' own paths match this file" quickly for
// hundreds of packages: globs are filed under their literal directory prefix
// (the part before the first wildcard, cut at a slash), so a file only meets
// the globs filed under one of its own parent directories. Results are
// memoised per file, since the same paths recur across diffs and commits.
type globIndex struct {
	n        int
	byPrefix map[string][]globEntry
	cache    map[string]bitset
}

func newGlobIndex(n int) *globIndex {
	return &globIndex{n: n, byPrefix: map[string][]globEntry{}, cache: map[string]bitset{}}
}

func (g *globIndex) add(pkg int, pattern string) error {
	pattern = strings.TrimPrefix(pattern, "./")
	if !doublestar.ValidatePattern(pattern) {
		return fmt.Errorf("invalid glob %q", pattern)
	}
	prefix := pattern
	if i := strings.IndexAny(pattern, `*?[{\`); i >= 0 {
		prefix = pattern[:i]
	}
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		prefix = prefix[:i+1]
	} else {
		prefix = ""
	}
	all := pattern == prefix+"**"
	g.byPrefix[prefix] = append(g.byPrefix[prefix], globEntry{pattern: pattern, pkg: pkg, all: all})
	return nil
}

// match returns the packages whose own globs match file. The result is shared:
// callers must not modify it.
func (g *globIndex) match(file string) bitset {
	if b, ok := g.cache[file]; ok {
		return b
	}
	var b bitset
	check := func(prefix string) {
		for _, e := range g.byPrefix[prefix] {
			if b != nil && b.has(e.pkg) {
				continue
			}
			if e.all || doublestar.MatchUnvalidated(e.pattern, file) {
				if b == nil {
					b = newBitset(g.n)
				}
				b.set(e.pkg)
			}
		}
	}
	check("")
	for i := 0; i < len(file); i++ {
		if file[i] == '/' {
			check(file[:i+1])
		}
	}
	if b == nil {
		b = emptySet
	}
	g.cache[file] = b
	return b
}

// emptySet stands for "no package"; intersects/empty treat a nil-length
// bitset as empty.
var emptySet = bitset{}

// matchAll returns the union of match(f) for files.
func (g *globIndex) matchAll(files []string) bitset {
	out := newBitset(g.n)
	for _, f := range files {
		if b := g.match(f); len(b) > 0 {
			out.or(b)
		}
	}
	return out
}
