package reliability

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
)

// knownTimeouts are --timeout stops that do not say that the time ran out
// (see docs/reliability.md, "Known gaps").
var knownTimeouts = map[string]string{}

// TestTimeoutFlag: a registry that hangs and `publish --timeout 2s` stop
// cleanly, soon after the deadline, with a stable code that names the
// timeout and says what to do; nothing was published, and a re-run finishes.
func TestTimeoutFlag(t *testing.T) {
	needTools(t, "cargo")
	for _, st := range publishSteps {
		if st.landed != nil {
			continue // uploads come after cargo has run; the matrix covers them with a longer --timeout
		}
		st := st
		t.Run(strings.ReplaceAll(st.reg+"/"+st.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.useShim(shimNpm)
			st.injector(w).Add(fault.Rule{Method: st.method, PathPrefix: st.path, Kind: fault.Hang})
			start := time.Now()
			r := w.publish(time.Minute, "--timeout", "2s")
			took := time.Since(start)
			if st.injector(w).Hits() == 0 {
				t.Fatalf("the hang was never reached (exit %d)\n%s", r.Code, r.Stderr)
			}
			var problems []string
			if r.Code != 1 {
				problems = append(problems, "exit code "+strconv.Itoa(r.Code))
			}
			if took > 12*time.Second {
				problems = append(problems, "stopped "+took.Round(time.Second).String()+" after start (deadline 2s)")
			}
			problems = append(problems, checkFailedRun(r)...)
			if r.Doc != nil && r.Doc.Error != nil && !mentionsTimeout(r.Doc.Error.Code+" "+r.Doc.Error.Message+" "+r.Doc.Error.Hint) {
				problems = append(problems, "the error does not say the time ran out: "+r.Doc.Error.Code+": "+firstLine(r.Doc.Error.Message))
			}
			if len(w.crates.Attempts())+len(w.npm.Attempts()) > 0 || len(w.pypi.Files(pyName, planned)) > 0 {
				problems = append(problems, "something was uploaded before the first upload's checks finished")
			}
			w.clearFaults()
			w.freshCheckout()
			if r2 := w.publish(2 * time.Minute); r2.Code != 0 {
				problems = append(problems, "re-run failed: "+r2.statuses())
			}
			report(t, knownTimeouts, st.reg+"/"+st.name, problems)
		})
	}
}

var timeoutWords = regexp.MustCompile(`(?i)timeout|timed out|deadline|--timeout`)

func mentionsTimeout(s string) bool { return timeoutWords.MatchString(s) }

// report fails the test with problems, unless the scenario is a known gap
// (then it is logged, and a known gap that no longer reproduces is logged too).
func report(t *testing.T, known map[string]string, name string, problems []string) {
	t.Helper()
	why, isKnown := known[name]
	switch {
	case len(problems) == 0 && isKnown:
		t.Logf("%s: known gap no longer reproduces (%s); drop it from the list", name, why)
	case len(problems) == 0:
	case isKnown:
		t.Logf("%s: known: %s: %s", name, why, strings.Join(problems, "; "))
	default:
		t.Errorf("%s: %s", name, strings.Join(problems, "; "))
	}
}

// TestInterrupt: Ctrl-C (SIGINT to the process group, as a terminal sends
// it) while a registry hangs mid-run stops publish cleanly: non-zero exit, a
// message naming what was published and what was not, no stack trace; a
// re-run finishes the job without publishing anything twice.
func TestInterrupt(t *testing.T) {
	needTools(t, "cargo")
	w := newWorld(t)
	w.useShim(shimNpm)
	head := w.git(w.dir, "rev-parse", "HEAD")
	// core ships; PyPI's upload hangs.
	w.pypi.Faults.Add(fault.Rule{Method: http.MethodPost, PathPrefix: "/legacy/", Kind: fault.Hang})
	p := w.start(w.env, "publish")
	if !waitFor(90*time.Second, func() bool { return w.pypi.Faults.Hits() > 0 }) {
		p.signal(syscall.SIGKILL, true)
		t.Fatal("publish never reached the PyPI upload")
	}
	p.signal(syscall.SIGINT, true)
	code, ok := p.wait(20 * time.Second)
	if !ok {
		t.Fatalf("publish did not stop within 20s of SIGINT\n%s", p.stderr.String())
	}
	stderr := p.stderr.String()
	t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", code, p.stdout.String(), stderr)
	if code == 0 {
		t.Error("exit 0 after an interrupted publish")
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic:") {
		t.Error("stack trace on stderr")
	}
	for _, want := range []string{"done: core 0.1.0", "not done: py 0.1.0, js 0.1.0", "error: "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if !regexp.MustCompile(`\[PIOT_[A-Z_]+\]`).MatchString(stderr) {
		t.Error("the error line has no code")
	}
	w.clearFaults()
	w.freshCheckout()
	if r := w.publish(2 * time.Minute); r.Code != 0 {
		t.Fatalf("re-run: exit %d %s\n%s", r.Code, r.statuses(), r.Stderr)
	}
	if p := w.problems(head); len(p) > 0 {
		t.Errorf("end state: %v", p)
	}
}
