package selfdist

import (
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v3"
)

const root = "../.."

func TestActionMetadataMatchesDocs(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Inputs  map[string]map[string]any `yaml:"inputs"`
		Outputs map[string]map[string]any `yaml:"outputs"`
		Runs    struct {
			Using string `yaml:"using"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Runs.Using != "composite" {
		t.Fatalf("runs.using = %q, want composite", meta.Runs.Using)
	}
	for _, in := range []string{"command", "dry_run", "fail_on_error"} {
		if _, ok := meta.Inputs[in]; !ok {
			t.Errorf("action.yml lacks input %q", in)
		}
	}
	if _, ok := meta.Outputs["matrix"]; !ok {
		t.Error("action.yml lacks output matrix")
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "action.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := func(section string) []string {
		_, rest, _ := strings.Cut(string(doc), "## "+section)
		rest, _, _ = strings.Cut(rest, "\n## ")
		var names []string
		for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_-]+)` \\|").FindAllStringSubmatch(rest, -1) {
			names = append(names, m[1])
		}
		sort.Strings(names)
		return names
	}
	keys := func(m map[string]map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	if got, want := documented("Inputs"), keys(meta.Inputs); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("docs/action.md inputs %v, action.yml inputs %v", got, want)
	}
	if got, want := documented("Outputs"), keys(meta.Outputs); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("docs/action.md outputs %v, action.yml outputs %v", got, want)
	}
	// Every input has a description and a default; the command's allowed values are named.
	for name, in := range meta.Inputs {
		if in["description"] == nil {
			t.Errorf("input %s has no description", name)
		}
	}
	if d, _ := meta.Inputs["command"]["description"].(string); !strings.Contains(d, "plan") || !strings.Contains(d, "publish") || !strings.Contains(d, "doctor") {
		t.Errorf("command input description should name plan, publish and doctor: %q", d)
	}
}

// The repository's workflows (which use the action through `uses: ./`, so its
// metadata is checked too) pass actionlint.
func TestWorkflowsPassActionlint(t *testing.T) {
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(root)
	errs, err := l.LintRepository(abs)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
	}
}

// Two builds with the release flags give the same bytes.
func TestReproducibleBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary twice")
	}
	build := func(dir string) [32]byte {
		out := filepath.Join(dir, "putitoutthere")
		// -buildvcs=false: the two builds must not see different commits or a
		// tree that changed in between; everything else is dist.sh's flags.
		cmd := exec.Command("go", "build", "-buildvcs=false", "-trimpath", "-ldflags", "-s -w -buildid= -X github.com/putitoutthere/putitoutthere/internal/cli.Version=9.9.9", "-o", out, "./cmd/putitoutthere")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, b)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(data)
	}
	a, b := build(t.TempDir()), build(t.TempDir())
	if a != b {
		t.Fatal("two release builds differ")
	}
}
