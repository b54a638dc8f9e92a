package workflow

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.out")

// describe renders an analysis as the verdict lines the .out files hold:
// one line per fact, each with file:line.
func describe(a *Analysis) string {
	var b strings.Builder
	for _, w := range a.Workflows {
		if w.Invalid {
			fmt.Fprintf(&b, "%s: invalid\n", w.Path)
		}
	}
	for _, t := range a.Targets {
		fmt.Fprintf(&b, "%s:%d: publish via %s in job %s (caller %s job %s)\n", t.Defining().Path, t.StepLine, t.Via, t.Job().ID, t.Caller().File, t.CallerJob().ID)
		for _, scope := range []string{"id-token", "contents"} {
			g := t.Check(scope)
			switch {
			case g.OK:
				fmt.Fprintf(&b, "  %s: write\n", scope)
			case g.Default:
				fmt.Fprintf(&b, "  %s: repository default at %s:%d\n", scope, g.Workflow.Path, g.Line)
			default:
				fmt.Fprintf(&b, "  %s: missing at %s:%d (%s level, job %s)\n", scope, g.Workflow.Path, g.Line, g.Level, g.Job.ID)
			}
		}
		if e := t.Environment(); e != nil {
			fmt.Fprintf(&b, "  environment: %q expression=%v at %s:%d\n", e.Name, e.Expression, t.Defining().Path, e.Line)
		} else {
			fmt.Fprintf(&b, "  environment: none\n")
		}
		fmt.Fprintf(&b, "  workflow seen by crates.io=%s npm=%s pypi=%s\n", t.WorkflowFor(KindCrates), t.WorkflowFor(KindNPM), t.WorkflowFor(KindPyPI))
		for _, ev := range t.Caller().Events {
			fmt.Fprintf(&b, "  event %s at %s:%d\n", ev.Name, t.Caller().Path, ev.Line)
		}
		if t.Uncalled {
			fmt.Fprintf(&b, "  uncalled reusable workflow\n")
		}
	}
	for _, d := range a.Dead {
		job := "-"
		if d.Job != nil {
			job = d.Job.ID
		}
		fmt.Fprintf(&b, "%s:%d: dead (%s) job %s\n", d.Workflow.Path, d.Line, d.Why, job)
	}
	for _, l := range a.RemoteCalls {
		fmt.Fprintf(&b, "%s:%d: remote reusable call %s\n", l.Workflow.Path, l.Job.CallsLine, l.Job.Calls)
	}
	if b.Len() == 0 {
		b.WriteString("no publish workflow\n")
	}
	return b.String()
}

// TestCases runs every testdata/<case>/ directory (its files stand for
// .github/workflows/) against testdata/<case>.out.
func TestCases(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		n++
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var wfs []*Workflow
			for _, e := range entries {
				data, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				wfs = append(wfs, Parse(Dir+"/"+e.Name(), data))
			}
			got := describe(Analyze(wfs, Options{}))
			golden := filepath.Join("testdata", name+".out")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Errorf("%s (-want +got):\n%s", golden, d)
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d cases found", n)
	}
}

func TestClassify(t *testing.T) {
	cases := map[string]Command{
		"putitoutthere publish":                                                      Publish,
		"npx putitoutthere publish":                                                  Publish,
		"npx -y putitoutthere@1 publish":                                             Publish,
		"npx --yes putitoutthere@latest publish --json":                              Publish,
		"npx -p putitoutthere putitoutthere publish":                                 Publish,
		"./putitoutthere publish":                                                    Publish,
		"./bin/putitoutthere.exe publish":                                            Publish,
		"go run ./cmd/putitoutthere publish":                                         Publish,
		"go run github.com/putitoutthere/putitoutthere/cmd/putitoutthere@v1 publish": Publish,
		"pnpm dlx putitoutthere publish":                                             Publish,
		"yarn dlx putitoutthere publish":                                             Publish,
		"npm exec -- putitoutthere publish":                                          Publish,
		"bunx putitoutthere publish":                                                 Publish,
		"FOO=1 putitoutthere publish":                                                Publish,
		"env CI=1 putitoutthere publish":                                             Publish,
		"putitoutthere --cwd pkg --json publish":                                     Publish,
		"npm ci && npx putitoutthere publish":                                        Publish,
		"putitoutthere publish --dry-run":                                            DryRun,
		"putitoutthere publish --preflight-check":                                    DryRun,
		"putitoutthere plan":                                                         NotOurs,
		"putitoutthere doctor":                                                       NotOurs,
		"echo putitoutthere publish":                                                 NotOurs,
		`echo "putitoutthere publish"`:                                               NotOurs,
		"npx other-tool publish":                                                     NotOurs,
		"npm publish":                                                                NotOurs,
		"putitoutthere-helper publish":                                               NotOurs,
		"":                                                                           NotOurs,
	}
	for in, want := range cases {
		if got := Classify(in); got != want {
			t.Errorf("Classify(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestRunCommandsLines(t *testing.T) {
	live, commented := RunCommands("set -e\n# putitoutthere publish\nnpx putitoutthere \\\n  publish\necho ok # putitoutthere publish\n")
	if d := cmp.Diff([]int{2}, live); d != "" {
		t.Errorf("live (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int{1, 4}, commented); d != "" {
		t.Errorf("commented (-want +got):\n%s", d)
	}
}

func TestDisabled(t *testing.T) {
	for in, want := range map[string]bool{
		"false": true, "${{ false }}": true, "${{false}}": true, "'false'": true, "false && github.event_name == 'push'": true,
		"": false, "true": false, "github.ref == 'refs/heads/main'": false, "${{ !false }}": false,
	} {
		if got := Disabled(in); got != want {
			t.Errorf("Disabled(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestLocalAction(t *testing.T) {
	w := Parse(".github/workflows/self.yml", []byte("on: push\npermissions: write-all\njobs:\n  p:\n    runs-on: x\n    environment: release\n    steps:\n      - uses: ./\n        with:\n          command: publish\n"))
	if a := Analyze([]*Workflow{w}, Options{}); len(a.Targets) != 0 {
		t.Fatalf("uses: ./ counted without LocalAction")
	}
	a := Analyze([]*Workflow{w}, Options{LocalAction: true})
	if len(a.Targets) != 1 || a.Targets[0].Via != "action" || a.Targets[0].StepLine != 8 {
		t.Fatalf("targets = %+v", a.Targets)
	}
}

func TestLoadDir(t *testing.T) {
	root := t.TempDir()
	if wfs, err := LoadDir(root); err != nil || wfs != nil {
		t.Fatalf("missing dir: %v %v", wfs, err)
	}
	dir := filepath.Join(root, ".github", "workflows")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a.yml", "b.yaml", "notes.md", "sub/c.yml"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("on: push\njobs: {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wfs, err := LoadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range wfs {
		names = append(names, w.Path)
	}
	if d := cmp.Diff([]string{".github/workflows/a.yml", ".github/workflows/b.yaml"}, names); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// FuzzParse: arbitrary bytes must never panic the reader or the analysis.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("on: push\njobs:\n  a:\n    uses: ./.github/workflows/x.yml\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		w := Parse(Dir+"/x.yml", data)
		called := Parse(Dir+"/y.yml", data)
		a := Analyze([]*Workflow{w, called}, Options{LocalAction: true})
		for _, tg := range a.Targets {
			tg.Check("id-token")
			tg.WorkflowFor(KindPyPI)
			tg.Environment()
		}
	})
}
