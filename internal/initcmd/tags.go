package initcmd

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/putitoutthere/putitoutthere/internal/config"
)

// GroupFound is a lockstep group init proposes (SPEC §2): packages that
// share one tag (or one inherited Cargo workspace version).
type GroupFound struct {
	Name               string   `json:"name"`
	TagFormat          string   `json:"tag_format"`
	PreviousTagFormats []string `json:"previous_tag_formats,omitempty"`
	Members            []string `json:"members"`
	Why                string   `json:"why"`
	TagEvidence        string   `json:"tag_evidence,omitempty"`
}

// tagVersionRe splits a tag into the scheme's prefix and a version at its end.
var tagVersionRe = regexp.MustCompile(`^(.*?)(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$`)

// prefixStat is what the tag list says about one scheme ("v", "python-v",
// "@changesets/cli@").
type prefixStat struct {
	prefix string
	count  int
	latest *semver.Version
	tag    string // the latest tag
}

func (p *prefixStat) format() string { return p.prefix + "{version}" }

func (p *prefixStat) evidence() string {
	return fmt.Sprintf("%d tag(s) match %s{version}, latest %s", p.count, p.prefix, p.tag)
}

// tagPrefixes groups tags by the text before their version.
func tagPrefixes(tags []string) map[string]*prefixStat {
	out := map[string]*prefixStat{}
	for _, t := range tags {
		m := tagVersionRe.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		v, err := semver.StrictNewVersion(m[2])
		if err != nil {
			continue
		}
		st := out[m[1]]
		if st == nil {
			st = &prefixStat{prefix: m[1]}
			out[m[1]] = st
		}
		st.count++
		if st.latest == nil || v.GreaterThan(st.latest) {
			st.latest, st.tag = v, t
		}
	}
	return out
}

// nameSeps join a package's name to its version in tag schemes seen in real
// repositories: tauri-v2.0.0, @changesets/cli@3.0.1, oxc_parser@0.1.0,
// cli/v1.9.4, pkg_v1.0.0, pkg-1.0.0.
var nameSeps = []string{"-v", "@", "/v", "_v", "-", "/", "_", "@v"}

// kindPrefixes: schemes that name the ecosystem instead of the package
// (tokenizers' python-v0.21.0 / node-v0.21.0; oxc's crates_v0.1.0).
var kindPrefixes = map[string][]string{
	config.KindCrates: {"rust-v", "rust_v", "crates-v", "crates_v", "cargo-v", "cargo_v", "rs-v"},
	config.KindPyPI:   {"python-v", "python_v", "py-v", "py_v", "pypi-v", "pypi_v"},
	config.KindNPM:    {"node-v", "node_v", "js-v", "js_v", "npm-v", "npm_v", "napi-v", "napi_v"},
}

// TagSchemes reads each package's real tag scheme from the repository's tag
// list (every tag, reachable or not), and proposes lockstep groups:
//   - a scheme naming the package (its registry name, config name or
//     directory) is its own; when it used two, the one with the latest
//     release is tag_format and the other a previous_tag_format;
//   - a scheme naming the ecosystem (python-v, node-v, crates_v) belongs to
//     the packages of that kind without a scheme of their own; several of
//     them share it in a group;
//   - a bare v{version} (or {version}) goes to the packages still without
//     a scheme: one package takes it, several share it in a group;
//   - crates inheriting one Cargo workspace version are one group whatever
//     the tags say (config validation requires it).
//
// It sets Found.TagFormat/PreviousTagFormats/TagEvidence/Group and returns
// the groups.
func TagSchemes(found []Found, tags []string) []GroupFound {
	stats := tagPrefixes(tags)
	claimed := map[string]bool{}
	own := make([][]*prefixStat, len(found))
	for i := range found {
		f := &found[i]
		names := []string{f.RegistryName, f.Name, path.Base(f.Path)}
		if j := strings.LastIndexByte(f.RegistryName, '/'); j >= 0 {
			names = append(names, f.RegistryName[j+1:])
		}
		seen := map[string]bool{}
		for _, n := range names {
			if n == "" || n == "." {
				continue
			}
			for _, sep := range nameSeps {
				p := n + sep
				if st, ok := stats[p]; ok && !seen[p] {
					seen[p] = true
					own[i] = append(own[i], st)
				}
			}
		}
	}
	// A prefix two packages both match by name (a crate and a wheel both
	// called "maturin") is shared: handled like a kind prefix below.
	users := map[string][]int{}
	for i, sts := range own {
		for _, st := range sts {
			users[st.prefix] = append(users[st.prefix], i)
		}
	}
	var groups []GroupFound
	shared := map[string][]int{}
	cur := map[int]*prefixStat{} // a package's own current scheme
	for i, sts := range own {
		var mine []*prefixStat
		for _, st := range sts {
			if len(users[st.prefix]) == 1 {
				mine = append(mine, st)
			} else {
				shared[st.prefix] = users[st.prefix]
			}
		}
		if len(mine) == 0 {
			continue
		}
		sort.SliceStable(mine, func(a, b int) bool { return mine[a].latest.GreaterThan(mine[b].latest) })
		setScheme(&found[i], mine)
		cur[i] = mine[0]
		for _, st := range mine {
			claimed[st.prefix] = true
		}
	}
	unassigned := func(i int) bool { return found[i].TagFormat == "" && found[i].Group == "" }

	// Kind prefixes: each package without a scheme of its own takes the
	// newest scheme naming its ecosystem, as a candidate.
	// A package whose own scheme is older than its ecosystem's (oxc's
	// one-off oxc_parser@0.1.0 before crates_v0.146.0) moves to the latter.
	kindCand := map[int]*prefixStat{}
	for i := range found {
		if found[i].Group != "" || inShared(shared, i) {
			continue
		}
		for _, p := range kindPrefixes[found[i].Kind] {
			st, ok := stats[p]
			if !ok || claimed[p] {
				continue
			}
			if c := cur[i]; c != nil && !st.latest.GreaterThan(c.latest) {
				continue
			}
			if c := kindCand[i]; c == nil || st.latest.GreaterThan(c.latest) {
				kindCand[i] = st
			}
		}
	}
	// Bare v{version} / {version}: the packages without a scheme, and those
	// whose ecosystem scheme is older than it (tokenizers moved from
	// python-v/rust-v tags to v tags), on its version line.
	prevOf := map[int]*prefixStat{}
	type prevEntry struct {
		i      int
		format string
	}
	var prevOf2 []prevEntry
	for _, p := range []string{"v", ""} {
		st, ok := stats[p]
		if !ok || claimed[p] {
			continue
		}
		var members []int
		for i := range found {
			if inShared(shared, i) || found[i].Group != "" {
				continue
			}
			if c := cur[i]; c != nil && !st.latest.GreaterThan(c.latest) {
				continue // its own scheme is as recent
			}
			if c := kindCand[i]; c != nil && !st.latest.GreaterThan(c.latest) {
				continue
			}
			members = append(members, i)
		}
		if len(members) > 1 {
			var near []int
			for _, i := range members {
				if nearVersion(found[i].Version, st.latest) {
					near = append(near, i)
				}
			}
			members = near
		}
		if len(members) == 0 {
			continue
		}
		claimed[p] = true
		shared[p] = members
		for _, i := range members {
			if c := kindCand[i]; c != nil {
				prevOf[i] = c
				delete(kindCand, i)
			}
			if c := cur[i]; c != nil {
				// Its own scheme is older than the v tags: v is current.
				prev := append([]string{c.format()}, found[i].PreviousTagFormats...)
				found[i].TagFormat, found[i].TagEvidence, found[i].PreviousTagFormats = "", "", nil
				for _, f := range prev {
					prevOf2 = append(prevOf2, prevEntry{i, f})
				}
			}
		}
	}
	for i := range found {
		if st, ok := kindCand[i]; ok {
			claimed[st.prefix] = true
			shared[st.prefix] = append(shared[st.prefix], i)
			if c := cur[i]; c != nil {
				prev := append([]string{c.format()}, found[i].PreviousTagFormats...)
				found[i].TagFormat, found[i].TagEvidence, found[i].PreviousTagFormats = "", "", nil
				for _, f := range prev {
					prevOf2 = append(prevOf2, prevEntry{i, f})
				}
			}
		}
	}
	for p := range shared {
		sort.Ints(shared[p])
	}
	// Shared prefixes: one member takes it alone; several form a group.
	prefixes := make([]string, 0, len(shared))
	for p := range shared {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)
	for _, p := range prefixes {
		members := shared[p]
		st := stats[p]
		var free []int
		for _, i := range members {
			if unassigned(i) {
				free = append(free, i)
			}
		}
		switch {
		case len(free) == 0:
			// Every user has a scheme of its own: an older shared one is
			// their previous scheme.
			for _, i := range members {
				found[i].PreviousTagFormats = appendNew(found[i].PreviousTagFormats, st.format())
			}
		case len(free) == 1:
			setScheme(&found[free[0]], []*prefixStat{st})
		default:
			name := groupName(p, found, free)
			g := GroupFound{Name: name, TagFormat: st.format(), TagEvidence: st.evidence(),
				Why: "they share the tag " + st.tag}
			for _, i := range free {
				found[i].Group = name
				found[i].TagEvidence = st.evidence()
				g.Members = append(g.Members, found[i].Name)
			}
			groups = append(groups, g)
		}
	}
	// Packages without a scheme at exactly a group's latest released
	// version are released with it (oxc's napi and npm packages at the
	// crates_v version).
	for k := range groups {
		st := stats[strings.TrimSuffix(groups[k].TagFormat, "{version}")]
		if st == nil {
			continue
		}
		for i := range found {
			if unassigned(i) && !inShared(shared, i) && sameRelease(found[i].Version, st.latest) {
				found[i].Group = groups[k].Name
				found[i].TagEvidence = st.evidence()
				groups[k].Members = append(groups[k].Members, found[i].Name)
			}
		}
	}
	for i := range found {
		if st, ok := prevOf[i]; ok {
			addPrevious(found, groups, i, st)
		}
	}
	for _, e := range prevOf2 {
		addPrevious(found, groups, e.i, &prefixStat{prefix: strings.TrimSuffix(e.format, "{version}")})
	}
	// Older ecosystem-named schemes for packages that now have their own
	// (tokenizers' rust-v tags before v tags).
	for _, kind := range []string{config.KindCrates, config.KindPyPI, config.KindNPM} {
		for _, p := range kindPrefixes[kind] {
			st, ok := stats[p]
			if !ok || claimed[p] {
				continue
			}
			var members []int
			for i := range found {
				if found[i].Kind == kind {
					members = append(members, i)
				}
			}
			if len(members) == 1 {
				addPrevious(found, groups, members[0], st)
				claimed[p] = true
			}
		}
	}
	return inheritGroups(found, groups)
}

func inShared(shared map[string][]int, i int) bool {
	for _, ms := range shared {
		for _, m := range ms {
			if m == i {
				return true
			}
		}
	}
	return false
}

// addPrevious gives package i (or its group) an older scheme.
func addPrevious(found []Found, groups []GroupFound, i int, st *prefixStat) {
	if g := found[i].Group; g != "" {
		for k := range groups {
			if groups[k].Name == g {
				groups[k].PreviousTagFormats = appendNew(groups[k].PreviousTagFormats, st.format())
			}
		}
		return
	}
	if found[i].TagFormat != "" {
		found[i].PreviousTagFormats = appendNew(found[i].PreviousTagFormats, st.format())
	}
}

func appendNew(l []string, ss ...string) []string {
	for _, s := range ss {
		if !contains(l, s) {
			l = append(l, s)
		}
	}
	return l
}

// setScheme: the scheme with the latest release is current, the others
// previous (a renamed scheme: cli/v1.9.4 before @biomejs/biome@2.0.0).
func setScheme(f *Found, sts []*prefixStat) {
	f.TagFormat = sts[0].format()
	f.TagEvidence = sts[0].evidence()
	for _, st := range sts[1:] {
		f.PreviousTagFormats = appendNew(f.PreviousTagFormats, st.format())
	}
}

// sameRelease: the manifest's version is v's release (0.146.0 = 0.146.0).
func sameRelease(mv string, v *semver.Version) bool {
	x, err := semver.NewVersion(mv)
	if err != nil || v == nil {
		return false
	}
	return x.Major() == v.Major() && x.Minor() == v.Minor() && x.Patch() == v.Patch()
}

// nearVersion: the manifest's version is on the latest tag's line (same
// major and minor, or the next minor being prepared).
func nearVersion(v string, latest *semver.Version) bool {
	mv, err := semver.NewVersion(v)
	if err != nil || latest == nil {
		return false
	}
	return mv.Major() == latest.Major() && (mv.Minor() == latest.Minor() || mv.Minor() == latest.Minor()+1)
}

var groupNameRe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// groupName names a group after its tag prefix (crates_v → crates), or
// "release" for a bare v tag; never a package's name.
func groupName(prefix string, found []Found, members []int) string {
	n := strings.TrimRight(prefix, "-_/@")
	n = strings.TrimSuffix(strings.TrimSuffix(n, "_v"), "-v")
	if strings.HasSuffix(n, "v") && len(n) > 1 && strings.ContainsAny(n[len(n)-2:len(n)-1], "-_/") {
		n = n[:len(n)-2]
	}
	n = strings.Trim(groupNameRe.ReplaceAllString(n, "-"), "-._")
	if n == "" || n == "v" {
		n = "release"
	}
	taken := map[string]bool{}
	for _, f := range found {
		taken[f.Name] = true
	}
	base := n
	for k := 2; taken[n]; k++ {
		n = fmt.Sprintf("%s-group%d", base, k-1)
	}
	return n
}

// inheritGroups puts crates that inherit one Cargo workspace version into
// one group: their existing group when some member has one, else a new
// "crates" group with the default tag.
func inheritGroups(found []Found, groups []GroupFound) []GroupFound {
	byRoot := map[string][]int{}
	var roots []string
	for i, f := range found {
		if f.inherits {
			if _, ok := byRoot[f.wsRoot]; !ok {
				roots = append(roots, f.wsRoot)
			}
			byRoot[f.wsRoot] = append(byRoot[f.wsRoot], i)
		}
	}
	for _, r := range roots {
		idx := byRoot[r]
		if len(idx) < 2 {
			continue
		}
		target := ""
		for _, i := range idx {
			if found[i].Group != "" {
				target = found[i].Group
				break
			}
		}
		if target == "" {
			target = groupName("crates-v", found, idx)
			for _, g := range groups {
				if g.Name == target {
					target += "-ws"
				}
			}
			g := GroupFound{Name: target, TagFormat: "{name}-v{version}", Why: "they inherit one version from the Cargo workspace (version.workspace = true)"}
			// A tag scheme of one member becomes the group's.
			for _, i := range idx {
				if found[i].TagFormat != "" {
					g.TagFormat, g.TagEvidence = found[i].TagFormat, found[i].TagEvidence
					g.PreviousTagFormats = found[i].PreviousTagFormats
					break
				}
			}
			groups = append(groups, g)
		}
		for k := range groups {
			if groups[k].Name != target {
				continue
			}
			for _, i := range idx {
				// Each member's own schemes stay releases of the group.
				for _, f := range append([]string{found[i].TagFormat}, found[i].PreviousTagFormats...) {
					if f != "" && f != groups[k].TagFormat {
						groups[k].PreviousTagFormats = appendNew(groups[k].PreviousTagFormats, f)
					}
				}
				if found[i].Group == target {
					continue
				}
				if found[i].Group != "" {
					// Member of another group: move it (the workspace wins).
					for gk := range groups {
						groups[gk].Members = remove(groups[gk].Members, found[i].Name)
					}
				}
				found[i].Group = target
				groups[k].Members = append(groups[k].Members, found[i].Name)
			}
		}
	}
	for i := range found {
		if found[i].Group != "" {
			found[i].TagFormat, found[i].PreviousTagFormats = "", nil
		}
	}
	var out []GroupFound
	for _, g := range groups {
		if len(g.Members) > 0 {
			out = append(out, g)
		}
	}
	return out
}

func remove(l []string, s string) []string {
	var out []string
	for _, x := range l {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
