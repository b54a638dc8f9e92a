package plan

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
)

// benchFacts builds facts shaped like bench/plan.sh's large repo: packages in
// depends_on chains of 10, commits touching 1-3 files, tags on 90% of the
// packages spread over release runs every 100 commits, trailers on ~2%.
func benchFacts(packages, commits int) (*config.Config, *Facts) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := &config.Config{File: "putitoutthere.toml", Version: 1}
	kinds := []string{"crates", "pypi", "npm"}
	for i := range packages {
		p := config.Package{Name: fmt.Sprintf("p%04d", i), Kind: kinds[i%3], FirstVersion: "0.1.0", TagFormat: "{name}-v{version}"}
		p.Path = "pkgs/" + p.Name
		p.Paths = []string{p.Path + "/**"}
		if i%10 != 0 {
			p.DependsOn = []string{fmt.Sprintf("p%04d", i-1)}
		}
		cfg.Packages = append(cfg.Packages, p)
	}
	f := &Facts{Changed: map[string][]string{}, Windows: map[string]int{}}
	// Oldest first, then reversed.
	type rec struct {
		c    Commit
		pkgs []int
	}
	hist := make([]rec, commits)
	for i := range hist {
		r := rec{c: Commit{SHA: fmt.Sprintf("%040x", i+1), Message: fmt.Sprintf("change %d", i)}}
		for range 1 + rng.IntN(3) {
			p := rng.IntN(packages)
			r.pkgs = append(r.pkgs, p)
			r.c.Files = append(r.c.Files, fmt.Sprintf("pkgs/p%04d/src/f%d.txt", p, rng.IntN(4)))
		}
		switch rng.IntN(100) {
		case 0:
			r.c.Message += "\n\nrelease: minor"
		case 1:
			r.c.Message += fmt.Sprintf("\n\nrelease: patch [p%04d]", rng.IntN(packages))
		}
		hist[i] = r
	}
	// Release runs: every 100 commits, tag packages changed since their tag.
	lastTag := make([]int, packages) // commit index of the package's tag, -1 none
	for i := range lastTag {
		lastTag[i] = -1
	}
	dirty := make([]bool, packages)
	tagged := packages * 9 / 10
	for i, r := range hist {
		for _, p := range r.pkgs {
			dirty[p] = true
		}
		if i == 0 || (i%100 == 0 && i < commits-50) {
			for p := range tagged {
				if dirty[p] || i == 0 {
					dirty[p] = false
					lastTag[p] = i
					f.Tags = append(f.Tags, Tag{Name: fmt.Sprintf("p%04d-v1.%d.0", p, i), Commit: r.c.SHA})
				}
			}
		}
	}
	for i := len(hist) - 1; i >= 0; i-- {
		f.Commits = append(f.Commits, hist[i].c)
	}
	f.Head = f.Commits[0].SHA
	for p := range tagged {
		t := lastTag[p]
		c := hist[t].c.SHA
		if _, ok := f.Windows[c]; ok {
			continue
		}
		w := commits - 1 - t
		f.Windows[c] = w
		var files []string
		for _, cm := range f.Commits[:w] {
			files = append(files, cm.Files...)
		}
		f.Changed[c] = files
	}
	return cfg, f
}

// BenchmarkPlan measures the pure planner (tag selection, cascade, trailers,
// rows) on 500 packages and 10,000 commits.
func BenchmarkPlan(b *testing.B) {
	cfg, f := benchFacts(500, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p, err := Compute(cfg, f)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Releases) == 0 {
			b.Fatal("empty plan")
		}
	}
}
