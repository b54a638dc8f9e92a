//go:build unix

package repo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/config"
)

// BenchmarkPlanVsLogWalk50k: a 50,000-commit history, 100 packages (90
// tagged, release runs every 500 commits, a release branch with tags HEAD
// cannot reach). It reports plan's time over a bare `git log --first-parent`
// walk of the whole history as plan/walk-cpu and plan/walk-wall; SPEC §3 "Adoption" adds reads
// (every tag, manifests, where the config appeared) and the plan must stay
// within 1.5x of the walk. bench/plan.sh prints the same figure for the
// binary.
func BenchmarkPlanVsLogWalk50k(b *testing.B) {
	dir := b.TempDir()
	const commits, packages = 50000, 100
	var s bytes.Buffer
	s.WriteString("blob\nmark :1\ndata 2\nx\n\n")
	for i := 1; i <= commits; i++ {
		fmt.Fprintf(&s, "commit refs/heads/main\nmark :%d\ncommitter B <b@example.com> %d +0000\ndata 7\nchange\n", i+1, 1700000000+i)
		if i > 1 {
			fmt.Fprintf(&s, "from :%d\n", i)
		}
		fmt.Fprintf(&s, "M 100644 inline pkgs/p%03d/f%d.txt\ndata %d\n%d\n\n", i%packages, i%4, len(fmt.Sprint(i))+1, i)
		if i%500 == 0 {
			for p := 0; p < 90; p += 7 {
				fmt.Fprintf(&s, "reset refs/tags/p%03d-v0.%d.0\nfrom :%d\n\n", p, i/500, i+1)
			}
		}
	}
	fmt.Fprintf(&s, "commit refs/heads/release\nmark :%d\ncommitter B <b@example.com> 1800000000 +0000\ndata 4\nrel\nfrom :%d\n\nreset refs/tags/p000-v9.0.0\nfrom :%d\n\n", commits+2, commits-100, commits+2)
	git := func(stdin []byte, args ...string) []byte {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = gitTestEnv(dir)
		if stdin != nil {
			cmd.Stdin = bytes.NewReader(stdin)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return out
	}
	git(nil, "init", "-q", "-b", "main")
	git(s.Bytes(), "fast-import", "--quiet")
	git(nil, "repack", "-adq")
	git(nil, "reset", "-q", "--hard", "main")
	cfg := &config.Config{File: dir + "/" + config.FileName, Version: 1}
	for p := 0; p < packages; p++ {
		cfg.Packages = append(cfg.Packages, pk(fmt.Sprintf("p%03d", p), "crates"))
		cfg.Packages[p].Path = fmt.Sprintf("pkgs/p%03d", p)
		cfg.Packages[p].Paths = []string{cfg.Packages[p].Path + "/**"}
	}
	if err := os.WriteFile(cfg.File, []byte("[putitoutthere]\nversion = 1\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var planT, walkT, planCPU, walkCPU time.Duration
	b.ResetTimer()
	for range b.N {
		c0, t0 := cpu(), time.Now()
		if _, err := PlanFor(ctx, dir, cfg); err != nil {
			b.Fatal(err)
		}
		c1, t1 := cpu(), time.Now()
		git(nil, "log", "--first-parent", "--format=%H", "HEAD")
		planT += t1.Sub(t0)
		walkT += time.Since(t1)
		planCPU += c1 - c0
		walkCPU += cpu() - c1
	}
	// CPU time (this process and its git children) is the steadier figure
	// on a loaded machine; wall time is reported too.
	b.ReportMetric(float64(planCPU)/float64(walkCPU), "plan/walk-cpu")
	b.ReportMetric(float64(planT)/float64(walkT), "plan/walk-wall")
	b.ReportMetric(float64(planT.Milliseconds())/float64(b.N), "plan-ms/op")
	b.ReportMetric(float64(walkT.Milliseconds())/float64(b.N), "walk-ms/op")
}

// cpu is the user+system time of this process and its waited-for children.
func cpu() time.Duration {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}
