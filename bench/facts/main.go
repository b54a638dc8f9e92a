// Command facts prints what `putitoutthere plan` needs from git for the
// repository in the current directory, so bench/plan.sh can time the bare
// git commands that give the same answer:
//
//	tag <sha>      one line per distinct last-tag commit (one diff each)
//	window <n>     first-parent commits the log must read
//	tip <sha>      one line per merged-branch tip whose message is read
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/repo"
)

func main() {
	profile := flag.String("cpuprofile", "", "run the plan -n times (config load, git facts, compute), write a CPU profile to this file and print each phase's median time")
	n := flag.Int("n", 5, "runs for -cpuprofile")
	flag.Parse()
	if *profile != "" {
		profilePlan(*profile, *n)
		return
	}
	cfg, err := config.Load(config.FileName)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f, err := repo.ReadFacts(context.Background(), ".", cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, c := range plan.NeededTagCommits(f.LastTags) {
		fmt.Println("tag", c)
	}
	fmt.Println("window", len(f.Commits))
	for _, c := range f.Commits {
		for _, t := range c.MergedTips {
			fmt.Println("tip", t.SHA)
		}
	}
}

func profilePlan(path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer pprof.StopCPUProfile()
	ctx := context.Background()
	var cfgT, gitT, compT []time.Duration
	for range n {
		t0 := time.Now()
		cfg, err := config.Load(config.FileName)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		t1 := time.Now()
		facts, err := repo.ReadFacts(ctx, ".", cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		t2 := time.Now()
		if _, err := plan.Compute(cfg, facts); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		t3 := time.Now()
		cfgT, gitT, compT = append(cfgT, t1.Sub(t0)), append(gitT, t2.Sub(t1)), append(compT, t3.Sub(t2))
	}
	fmt.Printf("config.Load %.1f ms, repo.ReadFacts %.1f ms, plan.Compute %.1f ms (wall, medians of %d)\n",
		median(cfgT), median(gitT), median(compT), n)
}

func median(d []time.Duration) float64 {
	slices.Sort(d)
	return float64(d[len(d)/2].Microseconds()) / 1000
}
