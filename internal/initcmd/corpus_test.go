package initcmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/doctor"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/repo"
)

// The practice corpus: real repositories' data files and tag history shape
// (testdata/adopt/*.txtar, made by testdata/adopt/extract.sh; each names its
// repository and commit). corpusRepo rebuilds one as a git repository: a
// first-parent line with each tag at its distance from HEAD (distances
// compressed to their order), tags HEAD cannot reach on side branches
// leaving the line where theirs did, and the data files in HEAD.
type corpusTag struct {
	name string
	side bool
	pos  int
}

func loadCorpus(t *testing.T, name string) (*txtar.Archive, []corpusTag) {
	t.Helper()
	ar, err := txtar.ParseFile(filepath.Join("..", "..", "testdata", "adopt", name+".txtar"))
	if err != nil {
		t.Fatal(err)
	}
	var tags []corpusTag
	for _, f := range ar.Files {
		if f.Name != "tags" {
			continue
		}
		for _, l := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
			parts := strings.Fields(l)
			if len(parts) != 3 {
				continue
			}
			n, err := strconv.Atoi(parts[2])
			if err != nil {
				t.Fatalf("tags line %q", l)
			}
			tags = append(tags, corpusTag{parts[0], parts[1] == "side", n})
		}
	}
	return ar, tags
}

func corpusRepo(t *testing.T, name string) (string, []corpusTag) {
	t.Helper()
	ar, tags := loadCorpus(t, name)
	dir := t.TempDir()
	// Distinct positions, oldest (largest distance) first.
	posSet := map[int]bool{0: true}
	for _, tg := range tags {
		posSet[tg.pos] = true
	}
	var poss []int
	for p := range posSet {
		poss = append(poss, p)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(poss)))
	mark := map[int]int{}
	var s bytes.Buffer
	next := 1
	when := 1700000000
	for i, p := range poss {
		mark[p] = next
		fmt.Fprintf(&s, "commit refs/heads/main\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata 2\nc\n", next, when+i)
		if i > 0 {
			fmt.Fprintf(&s, "from :%d\n", mark[poss[i-1]])
		}
		fmt.Fprintf(&s, "M 100644 inline history.txt\ndata %d\n%d\n", len(strconv.Itoa(i))+1, i)
		if p == 0 {
			for _, f := range ar.Files {
				if rel, ok := strings.CutPrefix(f.Name, "files/"); ok {
					fmt.Fprintf(&s, "M 100644 inline %s\ndata %d\n%s\n", rel, len(f.Data), f.Data)
				}
			}
		}
		next++
		s.WriteString("\n")
	}
	for k, tg := range tags {
		at := mark[tg.pos]
		if tg.side {
			fmt.Fprintf(&s, "commit refs/heads/side-%d\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata 5\nside\nfrom :%d\n\n", k, next, when+len(poss)+k, at)
			at = next
			next++
		}
		fmt.Fprintf(&s, "reset refs/tags/%s\nfrom :%d\n\n", tg.name, at)
	}
	git := func(stdin []byte, args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME="+dir)
		if stdin != nil {
			cmd.Stdin = bytes.NewReader(stdin)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git(nil, "init", "-q", "-b", "main")
	git(s.Bytes(), "fast-import", "--quiet")
	git(nil, "reset", "-q", "--hard", "main")
	return dir, tags
}

// adopted is what init and its first plan make of a corpus repository.
type adopted struct {
	res   *Result
	cfg   *config.Config
	plan  *plan.Plan
	tags  []corpusTag
	found map[string]Found // by registry name + kind
}

func adopt(t *testing.T, name string) *adopted {
	t.Helper()
	dir, tags := corpusRepo(t, name)
	res, err := Run(context.Background(), Options{Root: dir, Branch: "main"})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	cfg, err := config.Load(filepath.Join(dir, FileConfig))
	if err != nil {
		t.Fatalf("init's config does not load: %v\n%s", err, res.Config)
	}
	p, err := repo.PlanFor(context.Background(), dir, cfg)
	if err != nil {
		t.Fatalf("first plan: %v\n%s", err, res.Config)
	}
	// What init wrote passes doctor with no failure (no registry is asked:
	// the local phases).
	ar, _ := loadCorpus(t, name)
	repoName := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(ar.Comment), "\n", 2)[0], "repo:"))
	r := doctor.Run(context.Background(), doctor.Options{
		Root: dir, ConfigFile: filepath.Join(dir, FileConfig), Env: env.Env{},
		Remote: func(context.Context) string { return "https://github.com/" + repoName + ".git" },
	})
	if r.ExitCode() != 0 {
		var out bytes.Buffer
		r.WriteText(&out)
		t.Errorf("doctor exit %d on what init wrote:\n%s", r.ExitCode(), out.String())
	}
	a := &adopted{res: res, cfg: cfg, plan: p, tags: tags, found: map[string]Found{}}
	for _, f := range res.Packages {
		a.found[f.Kind+":"+f.RegistryName] = f
	}
	a.checkPlanContinuesHistory(t)
	return a
}

// checkPlanContinuesHistory: no planned version is at or below a release
// of the package's tag formats anywhere in the repository, and no planned
// tag exists.
func (a *adopted) checkPlanContinuesHistory(t *testing.T) {
	t.Helper()
	exists := map[string]bool{}
	for _, tg := range a.tags {
		exists[tg.name] = true
	}
	for _, r := range a.plan.Releases {
		p := a.cfg.Package(r.Name)
		if exists[r.Tag] {
			t.Errorf("%s: plan proposes %s, whose tag %s exists", r.Name, r.Version, r.Tag)
		}
		v := semver.MustParse(r.Version)
		ms, _ := config.TagPatterns(p)
		for _, tg := range a.tags {
			for _, m := range ms {
				if s, ok := m.Match(tg.name); ok {
					if kv, err := semver.StrictNewVersion(s); err == nil && !v.GreaterThan(kv) {
						t.Errorf("%s: plan proposes %s, not above the release %s (tag %s)", r.Name, r.Version, s, tg.name)
					}
				}
			}
		}
	}
}

func (a *adopted) summary() string {
	var b strings.Builder
	for _, f := range a.res.Packages {
		fmt.Fprintf(&b, "%s %s (%s) at %s group=%s tag=%s prev=%v deps=%v build=%s\n", f.Kind, f.Name, f.RegistryName, f.Path, f.Group, f.TagFormat, f.PreviousTagFormats, f.DependsOn, f.Build)
	}
	for _, g := range a.res.Groups {
		fmt.Fprintf(&b, "group %s tag=%s prev=%v members=%v\n", g.Name, g.TagFormat, g.PreviousTagFormats, g.Members)
	}
	for _, f := range a.res.Packages {
		if f.TrustPolicy != nil {
			fmt.Fprintf(&b, "trust %s: %+v\n", f.Name, *f.TrustPolicy)
		}
	}
	for _, n := range a.res.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for _, s := range a.res.Ignored {
		fmt.Fprintf(&b, "skip %s: %s\n", s.File, s.Reason)
	}
	for _, r := range a.plan.Releases {
		fmt.Fprintf(&b, "plan %s %s %s (%s)\n", r.Name, r.Version, r.Tag, r.Reason)
	}
	return b.String()
}

func TestCorpusSummary(t *testing.T) {
	if os.Getenv("CORPUS_SUMMARY") == "" {
		t.Skip("set CORPUS_SUMMARY=name to print what init and plan make of a corpus repository")
	}
	a := adopt(t, os.Getenv("CORPUS_SUMMARY"))
	t.Log("\n" + a.summary())
}

func (a *adopted) expectFound(t *testing.T, want ...string) {
	t.Helper()
	var got []string
	for _, f := range a.res.Packages {
		got = append(got, f.Kind+":"+f.RegistryName)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("packages found:\n got  %v\n want %v", got, want)
	}
}

func (a *adopted) pkg(t *testing.T, key string) Found {
	t.Helper()
	f, ok := a.found[key]
	if !ok {
		t.Fatalf("%s not found", key)
	}
	return f
}

func (a *adopted) expectSkipped(t *testing.T, wants ...string) {
	t.Helper()
	for _, w := range wants {
		ok := false
		for _, s := range a.res.Ignored {
			ok = ok || strings.Contains(s.File+": "+s.Reason, w)
		}
		if !ok {
			t.Errorf("no left-out line contains %q", w)
		}
	}
}

// expectPlan checks name@version for the releases named.
func (a *adopted) expectPlan(t *testing.T, want ...string) {
	t.Helper()
	got := map[string]string{}
	for _, r := range a.plan.Releases {
		got[r.Name] = r.Name + "@" + r.Version + " " + r.Tag
	}
	for _, w := range want {
		name, _, _ := strings.Cut(w, "@")
		if got[name] != w {
			t.Errorf("plan: got %q, want %q", got[name], w)
		}
	}
}

func TestCorpusTokenizers(t *testing.T) {
	t.Parallel()
	a := adopt(t, "tokenizers")
	a.expectFound(t, "crates:tokenizers", "pypi:tokenizers", "npm:tokenizers")
	a.expectSkipped(t, "bindings/node/npm/android-arm64/package.json: a platform package", "tokenizers/examples/: examples",
		"bindings/python/Cargo.toml: the Rust side of the maturin package", "bindings/python/tools/: development tools")
	// The crate and the wheel share v{version} (and had rust-v/python-v
	// before); the npm binding keeps node-v.
	rs, py, js := a.pkg(t, "crates:tokenizers"), a.pkg(t, "pypi:tokenizers"), a.pkg(t, "npm:tokenizers")
	if rs.Group == "" || rs.Group != py.Group || js.Group != "" || js.TagFormat != "node-v{version}" {
		t.Errorf("schemes: rs %q py %q js %q/%q", rs.Group, py.Group, js.Group, js.TagFormat)
	}
	if g := a.cfg.Group(rs.Group); g == nil || g.TagFormat != "v{version}" || strings.Join(g.PreviousTagFormats, ",") != "rust-v{version},python-v{version}" {
		t.Errorf("group %+v", g)
	}
	if strings.Join(py.DependsOn, ",") != rs.Name || strings.Join(js.DependsOn, ",") != rs.Name {
		t.Errorf("depends_on: py %v js %v", py.DependsOn, js.DependsOn)
	}
	// Android, FreeBSD-free napi targets and universal darwin: no crash,
	// napi-rs member names.
	if !contains(js.Targets, "aarch64-linux-android") || !contains(js.Targets, "universal-apple-darwin") || js.MemberName != "{npmname}-{os}-{cpu}{abi}" {
		t.Errorf("napi: %v %q", js.Targets, js.MemberName)
	}
	// v0.23.1 and node-v0.23.1 are on a release branch: never repeated.
	a.expectPlan(t, rs.Name+"@0.23.2 v0.23.2", py.Name+"@0.23.2 v0.23.2", js.Name+"@0.23.2 node-v0.23.2")
}

func TestCorpusPydanticCore(t *testing.T) {
	t.Parallel()
	a := adopt(t, "pydantic-core")
	a.expectFound(t, "pypi:pydantic_core")
	a.expectSkipped(t, "package.json: a test harness", "Cargo.toml: the Rust side of the maturin package")
	py := a.pkg(t, "pypi:pydantic_core")
	if py.TagFormat != "v{version}" || py.Build != "maturin" {
		t.Errorf("%+v", py)
	}
	// The trusted publisher of ci.yml's release job (uv publish, environment release).
	if tp := py.TrustPolicy; tp == nil || tp.Environment != "release" || tp.From != "ci.yml" {
		t.Errorf("trust %+v", tp)
	}
	a.expectPlan(t, py.Name+"@2.41.6 v2.41.6")
}

func TestCorpusMaturin(t *testing.T) {
	t.Parallel()
	a := adopt(t, "maturin")
	a.expectFound(t, "crates:maturin", "pypi:maturin")
	a.expectSkipped(t, "test-crates/: test fixtures")
	rs, py := a.pkg(t, "crates:maturin"), a.pkg(t, "pypi:maturin")
	if rs.Group == "" || rs.Group != py.Group {
		t.Errorf("one v tag for the crate and the wheel: %q %q", rs.Group, py.Group)
	}
	// release.yml is maturin's own publish workflow: init writes its own
	// under a free name (no dead end: doctor finds it) and says so.
	if !contains(a.res.Written, ".github/workflows/putitoutthere-release.yml") || !strings.Contains(strings.Join(a.res.Notes, "\n"), "putitoutthere-release.yml instead") {
		t.Errorf("notes %q", a.res.Notes)
	}
	if rs.TrustPolicy == nil || rs.TrustPolicy.Workflow != "putitoutthere-release.yml" || rs.TrustPolicy.From != "release.yml" {
		t.Errorf("trust %+v", rs.TrustPolicy)
	}
	a.expectPlan(t, rs.Name+"@1.14.2 v1.14.2", py.Name+"@1.14.2 v1.14.2")
}

func TestCorpusChangesets(t *testing.T) {
	t.Parallel()
	a := adopt(t, "changesets")
	if len(a.res.Packages) != 20 {
		t.Errorf("%d packages found, want the 20 public @changesets packages", len(a.res.Packages))
	}
	a.expectSkipped(t, "package.json: \"private\": true", "packages/color/package.json: \"private\": true", "site/package.json: \"private\": true")
	cli := a.pkg(t, "npm:@changesets/cli")
	if cli.TagFormat != "@changesets/cli@{version}" || !strings.Contains(cli.TagEvidence, "latest @changesets/cli@3.0.1") {
		t.Errorf("cli %q %q", cli.TagFormat, cli.TagEvidence)
	}
	// workspace: dependencies.
	if !contains(cli.DependsOn, "apply-release-plan") || !contains(cli.DependsOn, "types") {
		t.Errorf("cli depends_on %v", cli.DependsOn)
	}
	a.expectPlan(t, "cli@3.0.2 @changesets/cli@3.0.2")
}

func TestCorpusOxc(t *testing.T) {
	t.Parallel()
	a := adopt(t, "oxc")
	a.expectSkipped(t, "crates/oxc_linter/Cargo.toml: publish = false", "crates/oxc_linter/fixtures/: test fixtures", "apps/oxlint/package.json: \"private\": true")
	var crates, inGroup int
	for _, f := range a.res.Packages {
		if f.Kind == config.KindCrates {
			crates++
			if f.Group == "crates" {
				inGroup++
			}
		}
	}
	// 27 crates share the one crates_v{version} tag.
	if crates != 27 || inGroup != crates {
		t.Errorf("%d crates, %d in group crates", crates, inGroup)
	}
	if g := a.cfg.Group("crates"); g == nil || g.TagFormat != "crates_v{version}" {
		t.Errorf("group %+v", g)
	}
	// The napi packages at the crates' version are released with them.
	parser := a.pkg(t, "npm:oxc-parser")
	if parser.Group != "crates" || parser.Build != "napi" || !contains(parser.DependsOn, "oxc") {
		t.Errorf("oxc-parser %+v", parser)
	}
	if lint := a.pkg(t, "npm:oxlint"); lint.TagFormat != "oxlint_v{version}" {
		t.Errorf("oxlint %q", lint.TagFormat)
	}
	a.expectPlan(t, "oxc@0.146.1 crates_v0.146.1", "oxc-parser@0.146.1 crates_v0.146.1", "oxlint@1.79.1 oxlint_v1.79.1")
}

func TestCorpusTauri(t *testing.T) {
	t.Parallel()
	a := adopt(t, "tauri")
	a.expectFound(t, "crates:tauri", "crates:tauri-build", "crates:tauri-bundler", "crates:tauri-cli", "crates:tauri-codegen",
		"crates:tauri-driver", "crates:tauri-macos-sign", "crates:tauri-macros", "crates:tauri-plugin", "crates:tauri-runtime",
		"crates:tauri-runtime-wry", "crates:tauri-utils", "npm:@tauri-apps/api", "npm:@tauri-apps/cli")
	a.expectSkipped(t, "bench/: benchmarks", "examples/: examples", "crates/tauri-schema-worker/package.json: \"private\": \"true\"",
		"packages/cli/npm/linux-x64-gnu/package.json: a platform package", "crates/tauri-cli/templates/: templates")
	// Target-specific dependency: tauri-bundler -> tauri-macos-sign.
	if b := a.pkg(t, "crates:tauri-bundler"); !contains(b.DependsOn, "tauri-macos-sign") || b.TagFormat != "tauri-bundler-v{version}" {
		t.Errorf("tauri-bundler %v %q", b.DependsOn, b.TagFormat)
	}
	if c := a.pkg(t, "npm:@tauri-apps/cli"); c.TagFormat != "@tauri-apps/cli-v{version}" || !contains(c.DependsOn, "tauri-cli") {
		t.Errorf("@tauri-apps/cli %q %v", c.TagFormat, c.DependsOn)
	}
}
