package plan

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
)

// CodeTrailerInvalid is raised for a malformed `release:` trailer, or one
// naming a package that is not in the config, in a commit the plan reads.
const CodeTrailerInvalid = "PIOT_TRAILER_INVALID"

// Commit is one commit of the first-parent history from HEAD.
type Commit struct {
	SHA     string
	Parents []string
	Message string
	// Files changed against the first parent (both sides of a rename).
	Files []string
	// MergedTips are parents 2..n of a merge commit whose own message has no
	// release line, with their messages; the last trailer among them stands
	// in for the merge's own.
	MergedTips []MergedTip
}

// MergedTip is the tip commit of a merged branch.
type MergedTip struct {
	SHA     string
	Message string
}

// Facts is everything the plan needs to know about the repository.
type Facts struct {
	Head string
	// Tags reachable from HEAD.
	Tags []Tag
	// Changed maps a tag commit to the files changed between it and HEAD
	// (`git diff --name-only --no-renames <tag>..HEAD`), for every distinct
	// commit among the packages' last tags.
	Changed map[string][]string
	// Commits is the first-parent history from HEAD, newest first. It starts
	// with HEAD and covers every package's window.
	Commits []Commit
	// Windows maps a tag commit to the number of leading Commits not
	// reachable from it: the commits a package last tagged there reads.
	Windows map[string]int
	// LastTags, when set, is LastTags(cfg, Tags) already computed.
	LastTags map[string]TagInfo
	// AllTags is every tag in the repository, reachable or not (a release
	// branch's tags): a version whose tag exists anywhere is never proposed
	// again, and never one below a release known here. nil: Tags only.
	AllTags []Tag
	// Manifest maps a package name to the version its manifest declares
	// ("" when it declares none): the baseline of a package with no release
	// tag reachable from HEAD.
	Manifest map[string]string
	// Adopted is how many leading Commits were made since the config file
	// first appeared in the first-parent history; trailers are read only from
	// those, so history from before adoption never blocks a plan. Only used
	// when AdoptionKnown.
	Adopted       int
	AdoptionKnown bool
	// Forced names packages to release whatever changed, with the reason
	// (a sibling moves to a version their requirement must be rewritten for).
	Forced map[string]string
}

// NeededTagCommits returns the distinct commits of last, sorted: the commits
// the git layer must diff against HEAD and find windows for.
func NeededTagCommits(last map[string]TagInfo) []string {
	set := map[string]bool{}
	for _, t := range last {
		set[t.Commit] = true
	}
	return sortedKeys(set)
}

// readTrailer is a commit's effective trailer and where it was written.
type readTrailer struct {
	t    *Trailer
	from string // commit the line is in (the merge or a merged tip)
	pkgs []int  // resolved list
}

// Compute makes the plan. It is pure: the same config and facts give the same
// plan.
func Compute(cfg *config.Config, f *Facts) (*Plan, error) {
	n := len(cfg.Packages)
	index := make(map[string]int, n)
	lower := make(map[string]int, n)
	for i, p := range cfg.Packages {
		index[p.Name] = i
		if _, dup := lower[strings.ToLower(p.Name)]; dup {
			lower[strings.ToLower(p.Name)] = -1
		} else {
			lower[strings.ToLower(p.Name)] = i
		}
	}
	closure := closures(cfg, index)
	globs := newGlobIndex(n)
	for i, p := range cfg.Packages {
		for _, g := range p.Paths {
			if err := globs.add(i, g); err != nil {
				return nil, diag.Usage(config.CodeConfigInvalid, "%s: package %s: paths: %v", cfg.File, p.Name, err).
					WithHint("globs are anchored at the repository root; `**` crosses directories")
			}
		}
	}
	var err error
	last := f.LastTags
	if last == nil {
		if last, err = LastTags(cfg, f.Tags); err != nil {
			return nil, err
		}
	}

	// Every commit the plan reads (HEAD, and every package's window) has its
	// trailer parsed and checked, so a typo anywhere in a window stops the
	// plan instead of shipping a patch.
	read := min(1, len(f.Commits))
	for _, lt := range last {
		read = max(read, min(f.Windows[lt.Commit], len(f.Commits)))
	}
	if f.AdoptionKnown {
		read = min(read, max(f.Adopted, 0))
	}
	// A valid trailer on a newer commit supersedes a malformed one below it:
	// history cannot be rewritten, so "push a commit with a correct trailer"
	// must be a way out. Walking newest first, a malformed trailer is fatal
	// only until a valid one has been seen.
	trailers := make([]*readTrailer, len(f.Commits))
	seenValid := false
	for i := range read {
		rt, err := effectiveTrailer(&f.Commits[i], index, lower)
		if err != nil {
			if !seenValid {
				return nil, err
			}
			continue
		}
		trailers[i] = rt
		seenValid = seenValid || rt != nil
	}

	// `release: skip` on HEAD (or a merged tip of a HEAD merge).

	skipAll := false
	skip := newBitset(n)
	if read > 0 && (f.Head == "" || f.Commits[0].SHA == f.Head) {
		if rt := trailers[0]; rt != nil && rt.t.Bump == BumpSkip {
			if !rt.t.HasList {
				skipAll = true
			}
			for _, i := range rt.pkgs {
				skip.set(i)
			}
		}
	}

	out := &Plan{Releases: []Release{}, Rows: []Row{}}
	if skipAll {
		return out, nil
	}
	tagIx, err := newTagIndex(cfg)
	if err != nil {
		return nil, err
	}
	allTags := f.AllTags
	if allTags == nil {
		allTags = f.Tags
	}
	known := tagIx.best(allTags) // highest release anywhere in the repository
	exists := make(map[string]bool, len(allTags))
	for _, t := range allTags {
		exists[t.Name] = true
	}

	// trailerBump is the highest trailer bump among the first w commits read
	// that applies to package i, and where it was written.
	changedBy := map[string]bitset{}
	fileSets := make([]bitset, len(f.Commits)) // lazily: packages matched by each commit's change set
	trailerBump := func(i, w int) (bump, from string, named bool) {
		for c := 0; c < w && c < len(trailers); c++ {
			rt := trailers[c]
			if rt == nil || rt.t.Bump == BumpSkip {
				continue
			}
			applies := false
			if rt.t.HasList {
				for _, j := range rt.pkgs {
					if j == i {
						applies, named = true, true
					}
				}
			} else {
				if fileSets[c] == nil {
					fileSets[c] = globs.matchAll(f.Commits[c].Files)
				}
				applies = closure[i].intersects(fileSets[c])
			}
			if applies && bumpRank(rt.t.Bump) > bumpRank(bump) {
				bump, from = rt.t.Bump, fmt.Sprintf("`%s` in %s", rt.t.Line, short(rt.from))
			}
		}
		return bump, from, named
	}

	type cand struct {
		rel Release
		in  bool // a candidate, or named by a trailer
		ok  bool // computed (not skipped)
	}
	cands := make([]cand, n)
	for i := range cfg.Packages {
		p := &cfg.Packages[i]
		if skip.has(i) {
			continue
		}
		var c cand
		c.ok = true
		c.rel = Release{Name: p.Name, Kind: p.Kind, Group: p.Group}
		var reasons []string
		var base *semver.Version // the version bumped from ("" for a first release)
		bump := ""
		lt, tagged := last[p.Name]
		if !tagged {
			// No release reachable from HEAD: start from the manifest.
			mv, src := f.Manifest[p.Name], "manifest"
			// 0.0.0 (semantic-release's "0.0.0-development") is a
			// placeholder, not a version: it is the same as none.
			if mv == "" || strings.HasPrefix(mv, "0.0.0") {
				mv, src = p.FirstVersion, "first_version"
				if mv == "" {
					mv = config.DefaultFirstVersion
				}
			}
			mvv, err := semver.StrictNewVersion(mv)
			if err != nil {
				return nil, diag.Usage(config.CodeConfigInvalid, "package %s: its %s version %q is not semver x.y.z", p.Name, src, mv).
					WithHint("fix the version in the package's manifest, or set first_version")
			}
			c.in = true
			c.rel.Baseline = src + " " + mv
			rp := releasePart(mvv)
			relTag := tagIx.existingTag(p, rp.Original(), exists)
			kv := known[i].v
			switch {
			case relTag != "" || (kv != nil && !kv.LessThan(rp)):
				// Already released: continue from the highest release known.
				base = rp
				why := fmt.Sprintf("no release tag reachable from HEAD; %s version %s is already released", src, mv)
				if relTag != "" {
					why += " (tag " + relTag + " exists)"
				}
				if kv != nil && kv.GreaterThan(base) {
					base = kv
					why += fmt.Sprintf("; highest known release is %s (tag %s, not reachable from HEAD)", kv.Original(), known[i].tag.Name)
				}
				reasons = append(reasons, why)
				b, from, _ := trailerBump(i, read)
				if b != "" {
					bump = b
					reasons = append(reasons, from)
				} else {
					bump = BumpPatch
				}
			default:
				c.rel.FirstRelease = true
				c.rel.Version = mv
				if src == "manifest" {
					reasons = append(reasons, "first release, at the manifest's version")
				} else {
					reasons = append(reasons, "first release")
				}
			}
		} else {
			c.rel.LastTag, c.rel.LastVersion = lt.Tag, lt.Version
			c.rel.Baseline = "tag " + lt.Tag
			direct, ok := changedBy[lt.Commit]
			if !ok {
				direct = globs.matchAll(f.Changed[lt.Commit])
				changedBy[lt.Commit] = direct
			}
			candidate := closure[i].intersects(direct)
			if candidate {
				reasons = append(reasons, changeReason(cfg, i, closure[i], direct))
			}
			w := f.Windows[lt.Commit]
			if w > len(f.Commits) {
				return nil, fmt.Errorf("plan facts: window of %s (%d commits) exceeds the %d commits read", lt.Commit, w, len(f.Commits))
			}
			if f.AdoptionKnown {
				w = min(w, read)
			}
			b, from, named := trailerBump(i, w)
			c.in = candidate || named
			if b == "" {
				bump = BumpPatch
			} else {
				bump = b
				reasons = append(reasons, from)
			}
			base, err = semver.StrictNewVersion(lt.Version)
			if err != nil {
				return nil, fmt.Errorf("package %s: last tag %s: %w", p.Name, lt.Tag, err)
			}
			if kv := known[i].v; kv != nil && kv.GreaterThan(base) {
				reasons = append(reasons, fmt.Sprintf("highest known release is %s (tag %s, not reachable from HEAD)", kv.Original(), known[i].tag.Name))
				base = kv
			}
		}
		if why, ok := f.Forced[p.Name]; ok {
			c.in = true
			reasons = append(reasons, why)
		}
		if base != nil {
			v, err := Bump(base.Original(), bump)
			if err != nil {
				return nil, fmt.Errorf("package %s: %w", p.Name, err)
			}
			c.rel.Version, c.rel.Bump = v, bump
		}
		// Never a version whose tag exists anywhere (an unmerged release
		// branch): bump past it.
		for {
			t := tagIx.existingTag(p, c.rel.Version, exists)
			if t == "" {
				break
			}
			v, err := Bump(c.rel.Version, BumpPatch)
			if err != nil {
				return nil, fmt.Errorf("package %s: %w", p.Name, err)
			}
			reasons = append(reasons, fmt.Sprintf("tag %s already exists, so %s is taken; bumped past it", t, c.rel.Version))
			c.rel.Version = v
			if c.rel.FirstRelease {
				c.rel.FirstRelease, c.rel.Bump = false, BumpPatch
			}
		}
		c.rel.Tag = p.TagFor(c.rel.Version)
		c.rel.Reason = strings.Join(reasons, "; ")
		cands[i] = c
	}

	// Lockstep groups: when any member is in, every member is, at the
	// highest version among them (one tag, one GitHub Release).
	for gi := range cfg.Groups {
		g := &cfg.Groups[gi]
		var members []int
		anyIn := false
		var top *semver.Version
		for _, name := range g.Members {
			j, ok := index[name]
			if !ok || !cands[j].ok {
				continue
			}
			members = append(members, j)
			anyIn = anyIn || cands[j].in
			if v, err := semver.StrictNewVersion(cands[j].rel.Version); err == nil && (top == nil || v.GreaterThan(top)) {
				top = v
			}
		}
		if !anyIn || top == nil {
			for _, j := range members {
				cands[j].in = false
			}
			continue
		}
		for _, j := range members {
			c := &cands[j]
			if c.rel.Version != top.Original() {
				c.rel.Reason = joinReason(c.rel.Reason, fmt.Sprintf("at group %s's version %s", g.Name, top.Original()))
				c.rel.Version = top.Original()
				if c.rel.FirstRelease && c.rel.LastTag == "" {
					c.rel.FirstRelease = false
				}
			}
			if !c.in {
				c.rel.Reason = joinReason(c.rel.Reason, "released with group "+g.Name)
			}
			c.in = true
			c.rel.Tag = cfg.Packages[j].TagFor(c.rel.Version)
		}
	}

	for i := range cfg.Packages {
		if cands[i].ok && cands[i].in {
			out.Releases = append(out.Releases, cands[i].rel)
		}
	}
	// A tag git (or the filesystem under .git/refs) refuses would fail only
	// after the upload, on every re-run: refuse it here, before anything.
	var badTags []string
	for _, r := range out.Releases {
		if err := config.CheckTagName(r.Tag); err != nil {
			badTags = append(badTags, fmt.Sprintf("%s %s: %v", r.Name, r.Version, err))
		}
	}
	if len(badTags) > 0 {
		e := diag.Usage(CodeTagInvalid, "tag_format produces tag names git cannot create")
		e.Details = badTags
		return nil, e.WithHint("fix tag_format in %s: only {name}, {version} and characters valid in a git ref (no spaces, ~ ^ : ? * [ \\, no .., no component ending in .lock), each /-separated part at most %d bytes", cfg.File, config.MaxTagComponent)
	}
	for _, r := range out.Releases {
		for _, row := range Rows(&cfg.Packages[index[r.Name]], r.Version) {
			row.Group, row.Reason, row.Baseline = r.Group, r.Reason, r.Baseline
			out.Rows = append(out.Rows, row)
		}
	}
	return out, nil
}

// CodeTagInvalid: a planned release's tag is not a name git can create.
const CodeTagInvalid = "PIOT_TAG_INVALID"

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// releasePart is v without pre-release and build metadata: a manifest at
// 0.23.2-dev.0 is working towards 0.23.2.
func releasePart(v *semver.Version) *semver.Version {
	r, _ := semver.StrictNewVersion(fmt.Sprintf("%d.%d.%d", v.Major(), v.Minor(), v.Patch()))
	return r
}

// existingTag is a tag of p's formats for version that exists, or "".
func (ix *tagIndex) existingTag(p *config.Package, version string, exists map[string]bool) string {
	for _, f := range p.TagFormats() {
		t := strings.NewReplacer("{name}", p.Name, "{version}", version).Replace(f)
		if exists[t] {
			return t
		}
	}
	return ""
}

// changeReason says why package i is a candidate: its own paths or which
// dependency's paths changed.
func changeReason(cfg *config.Config, i int, closure, direct bitset) string {
	if direct.has(i) {
		return "files changed under its paths"
	}
	for j := range cfg.Packages {
		if j != i && closure.has(j) && direct.has(j) {
			return "dependency " + cfg.Packages[j].Name + " changed"
		}
	}
	return "files changed"
}

// closures returns, per package, itself plus every package it depends on,
// transitively. Unknown names and cycles are the config's to report; here
// they are tolerated (an unknown name is ignored, a cycle terminates).
func closures(cfg *config.Config, index map[string]int) []bitset {
	n := len(cfg.Packages)
	out := make([]bitset, n)
	var visit func(i int, into bitset)
	visit = func(i int, into bitset) {
		if into.has(i) {
			return
		}
		into.set(i)
		for _, d := range cfg.Packages[i].DependsOn {
			if j, ok := index[d]; ok {
				visit(j, into)
			}
		}
	}
	for i := range cfg.Packages {
		b := newBitset(n)
		visit(i, b)
		out[i] = b
	}
	return out
}

// effectiveTrailer is c's trailer: its own last release line, or for a merge
// commit without one, the last among its merged tips.
func effectiveTrailer(c *Commit, index, lower map[string]int) (*readTrailer, error) {
	t, err := ParseTrailer(c.Message)
	if err != nil {
		return nil, trailerError(c.SHA, c.Message, err)
	}
	from := c.SHA
	if t == nil {
		for _, tip := range c.MergedTips {
			tt, err := ParseTrailer(tip.Message)
			if err != nil {
				return nil, trailerError(tip.SHA, tip.Message, err)
			}
			if tt != nil {
				t, from = tt, tip.SHA
			}
		}
	}
	if t == nil {
		return nil, nil
	}
	rt := &readTrailer{t: t, from: from}
	var unknown []string
	for _, name := range t.Packages {
		j, ok := index[name]
		if !ok {
			j, ok = lower[strings.ToLower(name)]
			ok = ok && j >= 0
		}
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		rt.pkgs = append(rt.pkgs, j)
	}
	if len(unknown) > 0 {
		msg := c.Message
		if from != c.SHA {
			for _, tip := range c.MergedTips {
				if tip.SHA == from {
					msg = tip.Message
				}
			}
		}
		return nil, trailerError(from, msg, &TrailerError{Line: t.Line, LineNo: t.LineNo,
			Reason: "names unknown package " + quoteList(unknown) + "; the list takes package names from putitoutthere.toml"})
	}
	return rt, nil
}

func trailerError(sha, msg string, err error) error {
	return diag.New(CodeTrailerInvalid, "release trailer in commit %s (%s): %v", short(sha), Subject(msg), err).
		WithHint("push a commit carrying the intended trailer, naming the packages, e.g. `release: minor [pkg-a, pkg-b]`; a valid trailer on a newer commit supersedes a malformed one (see docs/trailer.md)")
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// Subject is the first line of a commit message, made printable.
func Subject(msg string) string {
	s, _, _ := strings.Cut(msg, "\n")
	return strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD")
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
