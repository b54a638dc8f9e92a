package repo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/siblings"
)

// TagInfo is a package's last release tag.
type TagInfo = plan.TagInfo

// PlanFor reads the repository at dir and computes the plan for cfg.
func PlanFor(ctx context.Context, dir string, cfg *config.Config) (*plan.Plan, error) {
	f, err := ReadFacts(ctx, dir, cfg)
	if err != nil {
		return nil, err
	}
	p, err := plan.Compute(cfg, f)
	if err != nil {
		return nil, err
	}
	// A package whose requirement on a sibling of the run must be rewritten
	// is released too; its own new version may in turn need rewrites, so
	// the plan is made again until nothing more is forced.
	for range cfg.Packages {
		forced := siblings.Forced(dir, cfg, p)
		if maps.Equal(forced, f.Forced) {
			break
		}
		f.Forced = forced
		if p, err = plan.Compute(cfg, f); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// LastTags returns the last release tag of every package that has one
// reachable from HEAD (semver order). It refuses a shallow clone, where tags
// are hidden.
func LastTags(ctx context.Context, dir string, cfg *config.Config) (map[string]TagInfo, error) {
	if _, _, err := headAndShallow(ctx, dir); err != nil {
		return nil, err
	}
	tags, err := ReachableTags(ctx, dir)
	if err != nil {
		return nil, err
	}
	return plan.LastTags(cfg, tags)
}

// ReadFacts gathers what the planner needs with a fixed, small number of git
// processes: one rev-parse, one for-each-ref, one diff-tree for every
// distinct last-tag commit at once, one first-parent log (started before the
// tags are read, stopped as soon as every window is covered; diff and log run
// side by side) and, when merges without a trailer are in range, one log of
// their merged tips.
//
// Tags: every tag is listed once (for-each-ref, no --merged: tags on release
// branches count as releases, SPEC §3 "Adoption"), then reachability is
// asked only about each package's newest candidates (reachableCandidates),
// so git does not walk back to a repository's oldest tag. With one cat-file
// it finds where the config file first appeared among the commits read.
func ReadFacts(ctx context.Context, dir string, cfg *config.Config) (*plan.Facts, error) {
	head, top, err := headAndShallow(ctx, dir)
	if err != nil {
		return nil, err
	}
	log, err := startHistory(ctx, dir, head)
	if err != nil {
		return nil, classify(dir, err)
	}
	allTags, err := tagNames(ctx, dir)
	if err != nil {
		log.abort()
		return nil, err
	}
	tags, err := reachableCandidates(ctx, dir, cfg, allTags)
	if err != nil {
		log.abort()
		return nil, err
	}
	last, err := plan.LastTags(cfg, tags)
	if err != nil {
		log.abort()
		return nil, err
	}
	need := plan.NeededTagCommits(last)
	f := &plan.Facts{Head: head, Tags: tags, LastTags: last, AllTags: allTags, Manifest: manifestVersions(cfg, dir)}

	var wg sync.WaitGroup
	var diffErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		f.Changed, diffErr = changedSince(ctx, dir, head, need)
	}()
	f.Commits, f.Windows, err = log.history(ctx, dir, head, need)
	wg.Wait()
	if err != nil {
		return nil, classify(dir, err)
	}
	if diffErr != nil {
		return nil, classify(dir, diffErr)
	}
	if err := mergedTips(ctx, dir, f.Commits); err != nil {
		return nil, classify(dir, err)
	}
	if err := adoption(ctx, dir, top, cfg, f); err != nil {
		return nil, classify(dir, err)
	}
	return f, nil
}

// manifestVersions reads each package's manifest version (the baseline of a
// package with no release tag reachable from HEAD). A manifest that is
// missing or unreadable gives "" (doctor reports it). A maturin package
// whose pyproject.toml takes its version from Cargo.toml reads that.
func manifestVersions(cfg *config.Config, dir string) map[string]string {
	root := dir
	if cfg.File != "" {
		root = filepath.Dir(cfg.File)
	}
	out := make(map[string]string, len(cfg.Packages))
	for _, p := range cfg.Packages {
		pdir := filepath.Join(root, filepath.FromSlash(p.Path))
		_, v, err := manifest.ReadName(p.Kind, pdir)
		if err == nil && v == "" && p.Kind == config.KindPyPI {
			_, v, _ = manifest.ReadName(config.KindCrates, pdir)
		}
		if err == nil {
			out[p.Name] = v
		}
	}
	return out
}

// adoption sets f.Adopted: how many of the commits read were made since the
// config file first appeared in the first-parent history (SPEC §3
// "Adoption": trailers before it are not read). The log already lists each
// commit's files; one cat-file tells, for the commits that touched the
// config, whether their first parent had it (an add) and whether HEAD has it.
func adoption(ctx context.Context, dir, top string, cfg *config.Config, f *plan.Facts) error {
	if cfg.File == "" || top == "" {
		return nil
	}
	rel, ok := relInRepo(top, cfg.File)
	if !ok {
		return nil
	}
	var touched []int
	for i, c := range f.Commits {
		for _, file := range c.Files {
			if file == rel {
				touched = append(touched, i)
				break
			}
		}
	}
	var stdin bytes.Buffer
	fmt.Fprintf(&stdin, "%s:%s\n", f.Head, rel)
	for _, i := range touched {
		c := f.Commits[i]
		if len(c.Parents) == 0 {
			fmt.Fprintf(&stdin, "%s\n", strings.Repeat("0", len(c.SHA))) // root commit: nothing before it
			continue
		}
		fmt.Fprintf(&stdin, "%s:%s\n", c.Parents[0], rel)
	}
	out, err := gitIn(ctx, dir, stdin.Bytes(), "cat-file", "--batch-check=%(objecttype)")
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != len(touched)+1 {
		return fmt.Errorf("git cat-file: %d answers for %d questions", len(lines), len(touched)+1)
	}
	has := func(k int) bool { return lines[k] == "blob" }
	f.AdoptionKnown = true
	if !has(0) {
		// Not committed yet (init just wrote it): every commit predates it.
		f.Adopted = 0
		return nil
	}
	f.Adopted = len(f.Commits)
	for k, i := range touched { // newest first: the newest add is adoption
		if !has(k + 1) {
			f.Adopted = i + 1
			break
		}
	}
	return nil
}

// relInRepo is file's path relative to the work tree top, slash-separated.
func relInRepo(top, file string) (string, bool) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", false
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	if r, err := filepath.EvalSymlinks(top); err == nil {
		top = r
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// headAndShallow returns HEAD's commit and the work tree's top, and refuses
// a shallow clone.
func headAndShallow(ctx context.Context, dir string) (head, top string, err error) {
	out, err := git(ctx, dir, "rev-parse", "--is-shallow-repository", "--show-toplevel", "--verify", "HEAD^{commit}")
	if err != nil {
		var ge *GitError
		if errors.As(err, &ge) && strings.Contains(ge.Stderr, "Needed a single revision") {
			return "", "", diag.New(CodeNoCommits, "the repository at %s has no commits yet", dir).Wrap(err).
				WithHint("commit your work first; the plan compares HEAD with the last release tags")
		}
		return "", "", classify(dir, err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != 3 {
		return "", "", fmt.Errorf("git rev-parse: unexpected output %q", out)
	}
	if lines[0] == "true" {
		return "", "", diag.New(CodeShallowClone, "refusing to plan on a shallow clone: tags and history are missing, so every package would look like a first release").
			WithHint("set `fetch-depth: 0` on actions/checkout (or run `git fetch --unshallow --tags`)")
	}
	return lines[2], lines[1], nil
}

// reachableCandidates finds, for every package, its newest release tag
// reachable from HEAD, asking git only about the newest candidates: every
// tag is listed once (cheap), and `for-each-ref --merged HEAD` is given the
// few refs that can be a last release. Asking about every tag makes git walk
// back to the oldest one, the whole history of a repository tagged for
// years; the newest tags sit near HEAD. A candidate that is not reachable
// (a release branch) sends the next one to the next round; after a few
// rounds every remaining candidate goes in one last call.
func reachableCandidates(ctx context.Context, dir string, cfg *config.Config, all []plan.Tag) ([]plan.Tag, error) {
	cands, err := plan.Candidates(cfg, all)
	if err != nil {
		return nil, err
	}
	reach := map[string]bool{} // tag name -> reachable (asked)
	commit := map[string]string{}
	done := make([]bool, len(cands)) // package resolved
	var out []plan.Tag
	seen := map[string]bool{}
	for round := 0; ; round++ {
		var ask []string
		asked := map[string]bool{}
		for i, cs := range cands {
			if done[i] {
				continue
			}
			for _, t := range cs {
				if r, ok := reach[t.Name]; ok {
					if r {
						done[i] = true
						break
					}
					continue
				}
				if !asked[t.Name] {
					asked[t.Name] = true
					ask = append(ask, "refs/tags/"+t.Name)
				}
				if round < 3 {
					break // the newest unasked one this round
				}
			}
		}
		if len(ask) == 0 {
			break
		}
		got, err := mergedRefs(ctx, dir, ask)
		if err != nil {
			return nil, err
		}
		for _, r := range ask {
			name := strings.TrimPrefix(r, "refs/tags/")
			t, ok := got[name]
			reach[name] = ok
			commit[name] = t.Commit
		}
		if round >= 3 {
			break
		}
	}
	for _, cs := range cands {
		for _, t := range cs {
			if reach[t.Name] && !seen[t.Name] {
				seen[t.Name] = true
				out = append(out, plan.Tag{Name: t.Name, Commit: commit[t.Name]})
				break
			}
		}
	}
	return out, nil
}

// mergedRefs asks which of refs are reachable from HEAD, in as few git
// calls as the command line allows.
func mergedRefs(ctx context.Context, dir string, refs []string) (map[string]plan.Tag, error) {
	got := map[string]plan.Tag{}
	for len(refs) > 0 {
		n := min(len(refs), 2000)
		args := append([]string{"for-each-ref", "--merged", "HEAD", tagFormat}, refs[:n]...)
		refs = refs[n:]
		out, err := git(ctx, dir, args...)
		if err != nil {
			return nil, classify(dir, err)
		}
		tags, err := parseTagLines(out)
		if err != nil {
			return nil, err
		}
		for _, t := range tags {
			got[t.Name] = t
		}
	}
	return got, nil
}

// ReachableTags lists every tag reachable from HEAD with the commit it
// points at, in one git call.
func ReachableTags(ctx context.Context, dir string) ([]plan.Tag, error) {
	return listTags(ctx, dir, true)
}

// AllTags lists every tag of the repository, reachable from HEAD or not.
func AllTags(ctx context.Context, dir string) ([]plan.Tag, error) {
	return listTags(ctx, dir, false)
}

func listTags(ctx context.Context, dir string, merged bool) ([]plan.Tag, error) {
	args := []string{"for-each-ref"}
	if merged {
		args = append(args, "--merged", "HEAD")
	}
	args = append(args, tagFormat, "refs/tags")
	out, err := git(ctx, dir, args...)
	if err != nil {
		return nil, classify(dir, err)
	}
	return parseTagLines(out)
}

// tagFormat is for-each-ref's format for parseTagLines.
const tagFormat = "--format=%(refname)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)"

func parseTagLines(out []byte) ([]plan.Tag, error) {
	var tags []plan.Tag
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" {
			continue
		}
		parts := strings.Split(line, "\x00")
		if len(parts) != 5 {
			return nil, fmt.Errorf("git for-each-ref: unexpected line %q", line)
		}
		name := strings.TrimPrefix(parts[0], "refs/tags/")
		switch {
		case parts[1] == "commit":
			tags = append(tags, plan.Tag{Name: name, Commit: parts[2]})
		case parts[1] == "tag" && parts[3] == "commit":
			tags = append(tags, plan.Tag{Name: name, Commit: parts[4]})
		}
		// Tags of trees, blobs or of other tags are not release tags.
	}
	return tags, nil
}

// tagNames lists every tag's name (reachable or not) without reading the
// tag objects: names are all adoption needs of most of them (their
// versions, and whether a tag exists); the commits of the few that can be a
// last release come with the reachability answer.
func tagNames(ctx context.Context, dir string) ([]plan.Tag, error) {
	out, err := git(ctx, dir, "for-each-ref", "--format=%(refname)", "refs/tags")
	if err != nil {
		return nil, classify(dir, err)
	}
	var tags []plan.Tag
	for _, l := range strings.Split(string(out), "\n") {
		if name, ok := strings.CutPrefix(l, "refs/tags/"); ok && name != "" {
			tags = append(tags, plan.Tag{Name: name})
		}
	}
	return tags, nil
}

// changedSince returns, for each commit in from, the files changed between it
// and head (both sides of renames). One diff-tree process answers them all.
func changedSince(ctx context.Context, dir, head string, from []string) (map[string][]string, error) {
	out := make(map[string][]string, len(from))
	var stdin bytes.Buffer
	want := map[string]bool{}
	for _, c := range from {
		out[c] = nil
		if c == head {
			continue
		}
		want[c] = true
		fmt.Fprintf(&stdin, "%s %s\n", c, head)
	}
	if stdin.Len() == 0 {
		return out, nil
	}
	res, err := gitIn(ctx, dir, stdin.Bytes(), "diff-tree", "--stdin", "-r", "--name-only", "--no-renames", "-z")
	if err != nil {
		return nil, err
	}
	// Output: for each pair with a difference, "<from>\0" then "<file>\0"...
	cur := ""
	for len(res) > 0 {
		i := bytes.IndexByte(res, 0)
		if i < 0 {
			i = len(res)
		}
		tok := string(res[:i])
		res = res[min(i+1, len(res)):]
		if want[tok] {
			cur = tok
			continue
		}
		if cur == "" || tok == "" {
			continue
		}
		out[cur] = append(out[cur], tok)
	}
	return out, nil
}

// logStream is the first-parent `git log` of ReadFacts, started before the
// tags are read so git walks history while for-each-ref runs. Until read is
// called nothing drains the pipe, so git stops after one pipe buffer: the
// overlap costs at most that much work when the windows turn out short.
type logStream struct {
	cmd    *exec.Cmd
	pipe   io.ReadCloser
	cancel context.CancelFunc
	stderr bytes.Buffer
	args   []string
}

func startHistory(ctx context.Context, dir, head string) (*logStream, error) {
	s := &logStream{args: []string{"log", "--first-parent", "--diff-merges=first-parent", "--no-renames", "--name-only", "-z",
		"--format=%x1e%H%x00%P%x00%B%x00", head, "--"}}
	logCtx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.cmd = command(logCtx, dir, s.args...)
	s.cmd.Stderr = &s.stderr
	pipe, err := s.cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	s.pipe = pipe
	if err := s.cmd.Start(); err != nil {
		cancel()
		return nil, wrapRunErr(logCtx, s.args, err, "")
	}
	return s, nil
}

// abort stops git when the facts are not needed after all (an error).
func (s *logStream) abort() {
	s.cancel()
	_, _ = io.Copy(io.Discard, s.pipe)
	_ = s.cmd.Wait()
}

// history reads the first-parent history from head with each commit's
// parents, message and files changed against its first parent, until every
// commit in need has been passed (just HEAD when need is empty); windows[c]
// is the number of commits read before reaching c (or, for a tag off the
// first-parent line, before reaching an ancestor of it).
func (s *logStream) history(ctx context.Context, dir, head string, need []string) ([]plan.Commit, map[string]int, error) {
	defer s.cancel()
	windows := make(map[string]int, len(need))
	pending := make(map[string]bool, len(need))
	for _, c := range need {
		pending[c] = true
	}
	maxW := 1 // HEAD is always read: its trailer may be `release: skip`
	checkAt := offLineCheckAt
	var countErr error
	commits, readErr := parseLog(bufio.NewReaderSize(s.pipe, 1<<16), func(c *plan.Commit, n int) bool {
		if pending[c.SHA] {
			delete(pending, c.SHA)
			windows[c.SHA] = n
			maxW = max(maxW, n)
		}
		if len(pending) > 0 && n+1 >= checkAt {
			// A tag not met after this many commits is probably off the
			// first-parent line (tagged on a branch merged later), where the
			// log would run to the root; ask git for its window instead.
			for _, t := range sortedKeys(pending) {
				w, err := windowOf(ctx, dir, head, t)
				if err != nil {
					countErr = err
					return false
				}
				delete(pending, t)
				windows[t] = w
				maxW = max(maxW, w)
			}
		}
		// Stop once every window is covered.
		return len(pending) > 0 || n+1 < maxW
	})
	if countErr != nil {
		s.abort()
		return nil, nil, countErr
	}
	stopped := readErr == errStop
	if stopped {
		s.cancel() // do not let git walk the rest
		_, _ = io.Copy(io.Discard, s.pipe)
	}
	waitErr := s.cmd.Wait()
	if readErr != nil && !stopped {
		return nil, nil, fmt.Errorf("reading git log: %w", readErr)
	}
	if waitErr != nil && !stopped {
		return nil, nil, wrapRunErr(ctx, s.args, waitErr, s.stderr.String())
	}
	// The last commit read is the first one outside every window (when we
	// stopped early); keep only what some window covers, but always HEAD.
	if len(pending) > 0 {
		// Tags off the first-parent line (on a merged branch): their window is
		// the first-parent commits not reachable from them.
		for _, c := range sortedKeys(pending) {
			w, err := windowOf(ctx, dir, head, c)
			if err != nil {
				return nil, nil, err
			}
			windows[c] = w
			maxW = max(maxW, w)
		}
	}
	if len(commits) > maxW {
		commits = commits[:maxW]
	}
	return commits, windows, nil
}

// offLineCheckAt is how many first-parent commits the log reads before the
// windows of tags it has not met are asked of git directly (a variable so
// tests can lower it).
var offLineCheckAt = 2000

// windowOf is the number of first-parent commits from head that tag commit
// c cannot reach.
func windowOf(ctx context.Context, dir, head, c string) (int, error) {
	out, err := git(ctx, dir, "rev-list", "--first-parent", "--count", head, "^"+c, "--")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return 0, fmt.Errorf("git rev-list --count: %q: %w", out, err)
	}
	return n, nil
}

var errStop = errors.New("stop")

// parseLog reads records of `git log -z --name-only
// --format=%x1e%H%x00%P%x00%B%x00`. After each complete record it calls more
// with the commit and its index; when more returns false parsing stops with
// errStop (the commit that triggered it is included).
func parseLog(r *bufio.Reader, more func(c *plan.Commit, n int) bool) ([]plan.Commit, error) {
	var commits []plan.Commit
	var cur *plan.Commit
	field := 0 // 0 sha, 1 parents, 2 message, 3 files
	finish := func() bool {
		if cur == nil {
			return true
		}
		commits = append(commits, *cur)
		cur = nil
		return more(&commits[len(commits)-1], len(commits)-1)
	}
	for {
		tok, err := r.ReadBytes(0)
		if len(tok) > 0 && tok[len(tok)-1] == 0 {
			tok = tok[:len(tok)-1]
		}
		if len(tok) > 0 && tok[0] == 0x1e {
			if !finish() {
				return commits, errStop
			}
			cur = &plan.Commit{SHA: string(tok[1:])}
			field = 1
		} else if cur != nil {
			switch field {
			case 1:
				if len(tok) > 0 {
					cur.Parents = strings.Fields(string(tok))
				}
				field = 2
			case 2:
				cur.Message = string(tok)
				field = 3
			default:
				tok = bytes.TrimPrefix(tok, []byte("\n"))
				if len(tok) > 0 {
					cur.Files = append(cur.Files, string(tok))
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return commits, err
		}
	}
	if !finish() {
		return commits, errStop
	}
	return commits, nil
}

// mergedTips fills MergedTips for merge commits whose message has no
// release line, with one git call for all of them.
func mergedTips(ctx context.Context, dir string, commits []plan.Commit) error {
	var stdin bytes.Buffer
	seen := map[string]bool{}
	for _, c := range commits {
		if len(c.Parents) < 2 || plan.HasTrailerLine(c.Message) {
			continue
		}
		for _, p := range c.Parents[1:] {
			if !seen[p] {
				seen[p] = true
				stdin.WriteString(p + "\n")
			}
		}
	}
	if stdin.Len() == 0 {
		return nil
	}
	out, err := gitIn(ctx, dir, stdin.Bytes(), "log", "--no-walk=unsorted", "--stdin", "-z", "--format=%x1e%H%x00%P%x00%B%x00")
	if err != nil {
		return err
	}
	tips, err := parseLog(bufio.NewReader(bytes.NewReader(out)), func(*plan.Commit, int) bool { return true })
	if err != nil {
		return fmt.Errorf("reading merged tips: %w", err)
	}
	msg := make(map[string]string, len(tips))
	for _, t := range tips {
		msg[t.SHA] = t.Message
	}
	for i := range commits {
		c := &commits[i]
		if len(c.Parents) < 2 || plan.HasTrailerLine(c.Message) {
			continue
		}
		for _, p := range c.Parents[1:] {
			c.MergedTips = append(c.MergedTips, plan.MergedTip{SHA: p, Message: msg[p]})
		}
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
