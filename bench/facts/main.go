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
	"time"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/repo"
)

func main() {
	profile := flag.String("cpuprofile", "", "write a CPU profile of -n plan runs (config load + PlanFor) to this file, and print the phase times")
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
		fmt.Printf("config %v  git facts %v  compute %v\n", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2))
	}
}
