package plan

import (
	"fmt"
	"strings"

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
	if len(f.Commits) > 0 && (f.Head == "" || f.Commits[0].SHA == f.Head) {
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
	changedBy := map[string]bitset{}
	fileSets := make([]bitset, len(f.Commits)) // lazily: packages matched by each commit's change set
	for i := range cfg.Packages {
		p := &cfg.Packages[i]
		if skip.has(i) {
			continue
		}
		lt, tagged := last[p.Name]
		if !tagged {
			r := Release{Name: p.Name, Kind: p.Kind, Version: p.FirstVersion, FirstRelease: true, Reason: "first release"}
			if r.Version == "" {
				r.Version = config.DefaultFirstVersion
			}
			r.Tag = p.TagFor(r.Version)
			out.Releases = append(out.Releases, r)
			continue
		}
		direct, ok := changedBy[lt.Commit]
		if !ok {
			direct = globs.matchAll(f.Changed[lt.Commit])
			changedBy[lt.Commit] = direct
		}
		var reasons []string
		candidate := closure[i].intersects(direct)
		if candidate {
			reasons = append(reasons, changeReason(cfg, i, closure[i], direct))
		}
		bump, named := "", false
		w := f.Windows[lt.Commit]
		if w > len(f.Commits) {
			return nil, fmt.Errorf("plan facts: window of %s (%d commits) exceeds the %d commits read", lt.Commit, w, len(f.Commits))
		}
		var bumpFrom string
		for c := 0; c < w; c++ {
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
				bump, bumpFrom = rt.t.Bump, fmt.Sprintf("`%s` in %s", rt.t.Line, short(rt.from))
			}
		}
		if !candidate && !named {
			continue
		}
		if bump == "" {
			bump = BumpPatch
		} else {
			reasons = append(reasons, bumpFrom)
		}
		v, err := Bump(lt.Version, bump)
		if err != nil {
			return nil, fmt.Errorf("package %s: last tag %s: %w", p.Name, lt.Tag, err)
		}
		out.Releases = append(out.Releases, Release{
			Name: p.Name, Kind: p.Kind, Version: v, Tag: p.TagFor(v),
			LastTag: lt.Tag, LastVersion: lt.Version, Bump: bump,
			Reason: strings.Join(reasons, "; "),
		})
	}
	for _, r := range out.Releases {
		out.Rows = append(out.Rows, Rows(&cfg.Packages[index[r.Name]], r.Version)...)
	}
	return out, nil
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
