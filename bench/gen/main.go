// Command gen writes a `git fast-import` stream for a synthetic polyglot
// monorepo, used by bench/plan.sh to measure `putitoutthere plan`.
//
// Shape: -packages packages under pkgs/pNNNN (kinds rotate crates, pypi,
// npm), each depending on the previous one in chains of -chain, so changes
// cascade; -commits commits on main touching 1-3 files each, with a merged
// two-commit side branch every 50 commits and `release:` trailers (scoped and
// unscoped) on about 2% of them; a release run every -every commits tags
// each tagged package changed since its last tag (alternating lightweight
// and annotated tags). Only the first -tagged packages are ever tagged; the
// rest stay first releases. The last commits after the final release run are
// what the plan finds. Output is deterministic for given flags.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
)

func main() {
	packages := flag.Int("packages", 500, "number of packages")
	commits := flag.Int("commits", 10000, "number of commits on main (merges and side commits included)")
	tagged := flag.Int("tagged", -1, "how many packages get release tags (default 90%)")
	every := flag.Int("every", 100, "release run every N commits")
	chain := flag.Int("chain", 10, "depends_on chain length")
	files := flag.Int("files", 4, "files per package")
	flag.Parse()
	if *tagged < 0 {
		*tagged = *packages * 9 / 10
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	g := &gen{w: w, rng: rand.New(rand.NewPCG(1, 2)), n: *packages, files: *files}
	g.run(*commits, *tagged, *every, *chain)
}

type gen struct {
	w     *bufio.Writer
	rng   *rand.Rand
	n     int
	files int
	mark  int
	ts    int64
	// per package: version triple and whether it changed since its last tag
	ver   [][3]int
	dirty []bool
	tagN  int
}

func (g *gen) name(i int) string { return fmt.Sprintf("p%04d", i) }
func (g *gen) file(i, k int) string {
	return fmt.Sprintf("pkgs/%s/src/f%d.txt", g.name(i), k)
}

func (g *gen) data(s string) { fmt.Fprintf(g.w, "data %d\n%s\n", len(s), s) }

// commit writes a commit on ref and returns its mark.
func (g *gen) commit(ref string, from, merge int, msg string, changes map[string]string) int {
	g.mark++
	g.ts += 60
	fmt.Fprintf(g.w, "commit %s\nmark :%d\ncommitter Bench <bench@example.com> %d +0000\n", ref, g.mark, 1700000000+g.ts)
	g.data(msg)
	if from > 0 {
		fmt.Fprintf(g.w, "from :%d\n", from)
	}
	if merge > 0 {
		fmt.Fprintf(g.w, "merge :%d\n", merge)
	}
	for _, path := range sortedKeys(changes) {
		fmt.Fprintf(g.w, "M 100644 inline %s\n", path)
		g.data(changes[path])
	}
	return g.mark
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func (g *gen) config(chain int) string {
	var b strings.Builder
	b.WriteString("[putitoutthere]\nversion = 1\n")
	kinds := []string{"crates", "pypi", "npm"}
	for i := 0; i < g.n; i++ {
		fmt.Fprintf(&b, "\n[[package]]\nname = %q\nkind = %q\npath = \"pkgs/%s\"\npaths = [\"pkgs/%s/**\"]\n",
			g.name(i), kinds[i%3], g.name(i), g.name(i))
		if i%chain != 0 {
			fmt.Fprintf(&b, "depends_on = [%q]\n", g.name(i-1))
		}
	}
	return b.String()
}

// touch returns a change set of 1-3 files in random packages and marks them dirty.
func (g *gen) touch(step int) map[string]string {
	ch := map[string]string{}
	for k := 0; k < 1+g.rng.IntN(3); k++ {
		p := g.rng.IntN(g.n)
		ch[g.file(p, g.rng.IntN(g.files))] = fmt.Sprintf("step %d\n", step)
		g.dirty[p] = true
	}
	return ch
}

func (g *gen) message(step int) string {
	msg := fmt.Sprintf("change %d", step)
	switch r := g.rng.IntN(100); {
	case r == 0:
		msg += "\n\nrelease: minor"
	case r == 1:
		msg += fmt.Sprintf("\n\nrelease: patch [%s, %s]", g.name(g.rng.IntN(g.n)), g.name(g.rng.IntN(g.n)))
	case r == 2:
		msg += "\n\nRelease: this fixes the flaky test" // prose, not a trailer
	}
	return msg
}

func (g *gen) release(head, tagged int) {
	for i := 0; i < tagged; i++ {
		if !g.dirty[i] {
			continue
		}
		g.dirty[i] = false
		v := &g.ver[i]
		if v[0] == 0 && v[1] == 0 && v[2] == 0 {
			v[1] = 1
		} else if g.rng.IntN(5) == 0 {
			v[1]++
			v[2] = 0
		} else {
			v[2]++
		}
		tag := fmt.Sprintf("%s-v%d.%d.%d", g.name(i), v[0], v[1], v[2])
		g.tagN++
		if g.tagN%2 == 0 {
			fmt.Fprintf(g.w, "tag %s\nfrom :%d\ntagger Bench <bench@example.com> %d +0000\n", tag, head, 1700000000+g.ts)
			g.data("release " + tag)
		} else {
			fmt.Fprintf(g.w, "reset refs/tags/%s\nfrom :%d\n\n", tag, head)
		}
	}
}

func (g *gen) run(commits, tagged, every, chain int) {
	g.ver = make([][3]int, g.n)
	g.dirty = make([]bool, g.n)
	init := map[string]string{"putitoutthere.toml": g.config(chain), "README.md": "bench\n"}
	for i := 0; i < g.n; i++ {
		for k := 0; k < g.files; k++ {
			init[g.file(i, k)] = "0\n"
		}
		g.dirty[i] = true
	}
	head := g.commit("refs/heads/main", 0, 0, "initial import", init)
	g.release(head, tagged)
	tail := min(50, commits/4) // commits after the last release run
	runs := 0
	for step := 1; step < commits; step++ {
		if step%50 == 0 && step+2 < commits {
			side := g.commit("refs/heads/side", head, 0, g.message(step), g.touch(step))
			step++
			side = g.commit("refs/heads/side", side, 0, g.message(step), g.touch(step))
			step++
			head = g.commit("refs/heads/main", head, side, fmt.Sprintf("Merge pull request #%d from side", step), nil)
		} else {
			head = g.commit("refs/heads/main", head, 0, g.message(step), g.touch(step))
		}
		if step/every > runs && step < commits-tail {
			runs = step / every
			g.release(head, tagged)
		}
	}
	fmt.Fprintf(g.w, "reset refs/heads/side\nfrom :%d\n\n", head)
}
