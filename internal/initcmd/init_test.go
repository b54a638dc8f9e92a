package initcmd

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/family"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, diff)
	}
}

func write(t *testing.T, root, rel, body string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gitRun(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// monorepo lays out every manifest shape discovery must handle.
func monorepo(t *testing.T) string {
	root := t.TempDir()
	write(t, root, "Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n")
	write(t, root, "package.json", `{"name": "monorepo-root", "private": true}`)
	write(t, root, "crates/core/Cargo.toml", "[package]\nname = \"acme-core\"\nversion = \"0.1.0\"\n")
	write(t, root, "crates/internal/Cargo.toml", "[package]\nname = \"acme-internal\"\nversion = \"0.1.0\"\npublish = false\n")
	write(t, root, "crates/macros/Cargo.toml", "[package]\nname = \"acme_macros\"\nversion = \"0.1.0\"\n[dependencies]\nacme-core = { path = \"../core\" }\n")
	write(t, root, "python/acme/pyproject.toml", "[build-system]\nbuild-backend = \"maturin\"\n[project]\nname = \"acme\"\nversion = \"0.1.0\"\n")
	write(t, root, "python/acme/Cargo.toml", "[package]\nname = \"acme-py\"\nversion = \"0.1.0\"\n[dependencies]\nacme-core = { path = \"../../crates/core\" }\n")
	write(t, root, "python/tools/pyproject.toml", "[build-system]\nbuild-backend = \"hatchling.build\"\n[project]\nname = \"acme-tools\"\nversion = \"0.1.0\"\n")
	write(t, root, "python/noname/pyproject.toml", "[tool.black]\nline-length = 100\n")
	write(t, root, "js/acme/package.json", `{"name": "@acme/core", "version": "0.1.0"}`)
	write(t, root, "js/cli/package.json", `{"name": "@acme/cli", "version": "0.1.0", "bin": {"acme": "bin/acme.js"}}`)
	write(t, root, "js/cli/Cargo.toml", "[package]\nname = \"acme-cli\"\nversion = \"0.1.0\"\n[dependencies]\nacme-core = { path = \"../../crates/core\" }\n")
	write(t, root, "js/napi/package.json", `{"name": "@acme/napi", "version": "0.1.0", "napi": {"targets": ["x86_64-unknown-linux-gnu", "aarch64-apple-darwin"]}}`)
	write(t, root, "js/private/package.json", `{"name": "scratch", "private": true}`)
	// Never searched: dependencies, build output, hidden directories, too deep.
	write(t, root, "node_modules/left-pad/package.json", `{"name": "left-pad"}`)
	write(t, root, "crates/core/target/package/x/Cargo.toml", "[package]\nname = \"x\"\n")
	write(t, root, "dist/pkg/package.json", `{"name": "built"}`)
	write(t, root, ".cache/x/package.json", `{"name": "hidden"}`)
	write(t, root, "a/b/c/package.json", `{"name": "too-deep"}`)
	return root
}

func TestDiscover(t *testing.T) {
	root := monorepo(t)
	// At any depth; fixtures, examples, benches and tools left out; npm
	// "private": "true" is private; napi-rs triples; target-specific and
	// renamed Cargo dependencies; npm workspace: dependencies; Python
	// requirements naming a sibling.
	write(t, root, "crates/deep/nested/sign/Cargo.toml", "[package]\nname = \"acme-sign\"\nversion = \"0.1.0\"\n")
	write(t, root, "crates/bundler/Cargo.toml", "[package]\nname = \"acme-bundler\"\nversion = \"0.1.0\"\n[target.\"cfg(target_os = \\\"macos\\\")\".dependencies]\nacme-sign = { path = \"../deep/nested/sign\", version = \"0.1.0\" }\n[dependencies]\nold-core = { package = \"acme-core\", version = \"0.0.9\" }\n[dev-dependencies]\nacme_macros = { path = \"../macros\" }\n")
	write(t, root, "examples/demo/Cargo.toml", "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n")
	write(t, root, "crates/core/tests/fixture/Cargo.toml", "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\n")
	write(t, root, "bench/Cargo.toml", "[package]\nname = \"bench\"\nversion = \"0.1.0\"\n")
	write(t, root, "js/stringly/package.json", `{"name": "stringly", "private": "true"}`)
	write(t, root, "js/uses/package.json", `{"name": "@acme/uses", "version": "1.0.0", "dependencies": {"@acme/core": "workspace:^"}, "devDependencies": {"@acme/napi": "*"}}`)
	write(t, root, "js/tri/package.json", `{"name": "@acme/tri", "version": "1.0.0", "napi": {"triples": {"defaults": true, "additional": ["aarch64-linux-android", "riscv64gc-unknown-linux-gnu", "sparc64-unknown-linux-gnu"]}}}`)
	write(t, root, "js/tri/npm/linux-x64-gnu/package.json", `{"name": "@acme/tri-linux-x64-gnu", "os": ["linux"], "cpu": ["x64"]}`)
	write(t, root, "python/plugin/pyproject.toml", "[project]\nname = \"acme-plugin\"\nversion = \"1.0.0\"\ndependencies = [\"Acme_Tools>=0.1\"]\n")
	found, skipped, err := Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range found {
		line := fmt.Sprintf("%s %s %s %s", f.Kind, f.Name, f.RegistryName, f.Path)
		if f.Build != "" {
			line += " build=" + f.Build + " targets=" + strings.Join(f.Targets, ",")
		}
		if len(f.DependsOn) > 0 {
			line += " depends_on=" + strings.Join(f.DependsOn, ",")
		}
		got = append(got, line)
	}
	dt := strings.Join(defaultTargets, ",")
	want := []string{
		"npm too-deep too-deep a/b/c",
		"crates acme-bundler acme-bundler crates/bundler depends_on=acme-core,acme-sign",
		"crates acme-core acme-core crates/core",
		"crates acme-sign acme-sign crates/deep/nested/sign",
		"crates acme_macros acme_macros crates/macros depends_on=acme-core",
		"npm core @acme/core js/acme",
		"npm cli @acme/cli js/cli build=bundled-cli targets=" + dt + " depends_on=acme-core",
		"npm napi @acme/napi js/napi build=napi targets=x86_64-unknown-linux-gnu,aarch64-apple-darwin",
		"npm tri @acme/tri js/tri build=napi targets=x86_64-apple-darwin,x86_64-pc-windows-msvc,x86_64-unknown-linux-gnu,aarch64-linux-android,riscv64gc-unknown-linux-gnu",
		"npm uses @acme/uses js/uses depends_on=core",
		"pypi acme acme python/acme build=maturin targets=" + dt + " depends_on=acme-core",
		"pypi acme-plugin acme-plugin python/plugin depends_on=acme-tools",
		"pypi acme-tools acme-tools python/tools build=hatch targets=",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}
	var reasons []string
	for _, s := range skipped {
		reasons = append(reasons, s.File+": "+s.Reason)
	}
	wantSkipped := []string{
		"package.json: \"private\": true",
		"Cargo.toml: workspace root",
		"bench/: benchmarks (1 manifest(s) left out)",
		"crates/core/tests/: test fixtures (1 manifest(s) left out)",
		"crates/internal/Cargo.toml: publish = false",
		"examples/: examples (1 manifest(s) left out)",
		"js/cli/Cargo.toml: built into the npm package js/cli",
		"js/private/package.json: \"private\": true",
		"js/stringly/package.json: \"private\": \"true\"",
		"js/tri/npm/linux-x64-gnu/package.json: a platform package of the napi family above it (published with it)",
		"python/acme/Cargo.toml: the Rust side of the maturin package python/acme",
		"python/noname/pyproject.toml: no [project].name",
	}
	if diff := cmp.Diff(wantSkipped, reasons); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	for _, f := range found {
		if f.Name == "tri" && (len(f.Notes) != 1 || !strings.Contains(f.Notes[0], "sparc64")) {
			t.Errorf("tri notes = %q", f.Notes)
		}
	}
}

func TestNameCollisions(t *testing.T) {
	found := []Found{
		{RegistryName: "core", Kind: "crates"},
		{RegistryName: "core", Kind: "pypi"},
		{RegistryName: "@x/core", Kind: "npm"},
		{RegistryName: "Weird Name!", Kind: "pypi"},
		{RegistryName: "@@@", Kind: "npm"},
	}
	nameFound(found)
	var got []string
	for _, f := range found {
		got = append(got, f.Name)
	}
	want := []string{"core-rs", "core-py", "core-js", "Weird-Name", "npm"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

func TestRunGolden(t *testing.T) {
	root := monorepo(t)
	res, err := Run(context.Background(), Options{Root: root, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	wantWritten := []string{FileConfig, FileRelease, FileCheck, FileAgents, FileClaude}
	if diff := cmp.Diff(wantWritten, res.Written); diff != "" {
		t.Errorf("written (-want +got):\n%s", diff)
	}
	for _, f := range []struct{ rel, golden string }{
		{FileConfig, "monorepo.putitoutthere.toml"},
		{FileRelease, "release.yml"},
		{FileCheck, "putitoutthere-check.yml"},
		{FileAgents, "AGENTS.md"},
	} {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.rel)))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, f.golden, data)
	}
	// The config init writes loads and validates.
	cfg, err := config.Load(filepath.Join(root, FileConfig))
	if err != nil {
		t.Fatalf("generated config: %v", err)
	}
	if len(cfg.Packages) != 8 || cfg.Package("cli").Build != "bundled-cli" {
		t.Errorf("generated config has %d packages", len(cfg.Packages))
	}
	if err := config.CheckPathsInRepo(cfg, root); err != nil {
		t.Errorf("generated config paths: %v", err)
	}
}

func TestRunScheduledAndBranch(t *testing.T) {
	got, err := RenderRelease("scheduled", "main")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "release-scheduled.yml", got)
	if bytes.Contains(got, []byte("push:")) || !bytes.Contains(got, []byte("schedule:")) || !bytes.Contains(got, []byte("workflow_dispatch:")) {
		t.Error("scheduled workflow triggers")
	}
	got, err = RenderRelease("immediate", "trunk")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte("branches: [trunk]")) {
		t.Error("branch not applied")
	}
}

func TestRunNoManifests(t *testing.T) {
	root := t.TempDir()
	res, err := Run(context.Background(), Options{Root: root, Cadence: "scheduled"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Packages) != 0 || len(res.Written) != 5 {
		t.Errorf("result = %+v", res)
	}
	data, _ := os.ReadFile(filepath.Join(root, FileConfig))
	golden(t, "empty.putitoutthere.toml", data)
	// Uncommenting the first example block gives a valid config.
	txt := strings.Replace(string(data), "# [[package]]\n# name = \"my-crate\"\n# kind = \"crates\"\n# path = \"crates/my-crate\"          # the directory holding Cargo.toml\n# paths = [\"crates/my-crate/**\"]",
		"[[package]]\nname = \"my-crate\"\nkind = \"crates\"\npath = \"crates/my-crate\"\npaths = [\"crates/my-crate/**\"]", 1)
	if _, err := config.Parse("x.toml", []byte(txt)); err != nil {
		t.Errorf("uncommented example: %v", err)
	}
	rel, _ := os.ReadFile(filepath.Join(root, FileRelease))
	if !bytes.Contains(rel, []byte("schedule:")) {
		t.Error("--cadence scheduled not applied to release.yml")
	}
}

func TestRunNeverOverwrites(t *testing.T) {
	root := monorepo(t)
	write(t, root, FileRelease, "# mine\n")
	write(t, root, FileClaude, "# Project notes\nBe nice.")
	res, err := Run(context.Background(), Options{Root: root, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	// release.yml is another workflow: left alone, and the release
	// workflow goes under a free name (doctor finds it there), said so.
	if len(res.Skipped) != 0 || !contains(res.Written, ".github/workflows/putitoutthere-release.yml") {
		t.Errorf("skipped %v written %v", res.Skipped, res.Written)
	}
	if len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "putitoutthere-release.yml instead") {
		t.Errorf("notes = %q", res.Notes)
	}
	if b, _ := os.ReadFile(filepath.Join(root, FileRelease)); string(b) != "# mine\n" {
		t.Errorf("release.yml overwritten: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(root, FileClaude)); string(b) != "# Project notes\nBe nice.\n@putitoutthere/AGENTS.md\n" {
		t.Errorf("CLAUDE.md = %q", b)
	}

	// Second run: everything exists, CLAUDE.md already imports the notes.
	res, err = Run(context.Background(), Options{Root: root, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != 0 || len(res.Skipped) != 5 {
		t.Errorf("second run: %+v", res)
	}
	if b, _ := os.ReadFile(filepath.Join(root, FileClaude)); strings.Count(string(b), ClaudeImport) != 1 {
		t.Errorf("CLAUDE.md import duplicated: %q", b)
	}

	// --force rewrites all but CLAUDE.md, which never needs it.
	res, err = Run(context.Background(), Options{Root: root, Branch: "main", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != 4 || res.Skipped[0] != FileClaude {
		t.Errorf("--force: %+v", res)
	}
	if b, _ := os.ReadFile(filepath.Join(root, FileRelease)); bytes.Equal(b, []byte("# mine\n")) {
		t.Error("--force did not overwrite release.yml")
	}
}

func TestRunKeepsExistingCadence(t *testing.T) {
	root := monorepo(t)
	write(t, root, FileConfig, "[putitoutthere]\nversion = 1\ncadence = \"scheduled\"\n\n[[package]]\nname = \"a\"\nkind = \"crates\"\npath = \"crates/core\"\npaths = [\"crates/core/**\"]\n")
	res, err := Run(context.Background(), Options{Root: root, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Cadence != "scheduled" {
		t.Errorf("cadence = %q", res.Cadence)
	}
	if _, err := Run(context.Background(), Options{Root: root, Cadence: "weekly"}); err == nil {
		t.Error("bad cadence accepted")
	}
}

func TestVTags(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	root := t.TempDir()
	write(t, root, "Cargo.toml", "[package]\nname = \"solo\"\nversion = \"1.2.0\"\n")
	gitRun(t, root, "init", "-q", "-b", "trunk")
	gitRun(t, root, "add", "-A")
	gitRun(t, root, "commit", "-q", "-m", "init")
	gitRun(t, root, "tag", "v1.2.0")
	res, err := Run(context.Background(), Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TagFormatHint || res.Branch != "main" {
		t.Errorf("hint %v branch %q", res.TagFormatHint, res.Branch)
	}
	cfg, err := config.Load(filepath.Join(root, FileConfig))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Packages[0].TagFormat != "v{version}" {
		t.Errorf("single package: tag_format = %q", cfg.Packages[0].TagFormat)
	}

	// Several packages: v{version} would collide, so it stays a comment.
	got := RenderConfig([]Found{{Name: "a", RegistryName: "a", Kind: "crates", Path: "a"}, {Name: "b", RegistryName: "b", Kind: "npm", Path: "b"}}, "immediate", true)
	cfg, err = config.Parse("x.toml", got)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Packages[0].TagFormat != config.DefaultTagFormat || !bytes.Contains(got, []byte("# tag_format = \"v{version}\"")) {
		t.Errorf("multi-package v-tag hint:\n%s", got)
	}

	// The branch comes from origin's HEAD when there is one.
	gitRun(t, root, "update-ref", "refs/remotes/origin/develop", "HEAD")
	gitRun(t, root, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/develop")
	if b := defaultBranch(context.Background(), root); b != "develop" {
		t.Errorf("defaultBranch = %q", b)
	}
}

// The example's workflow files are what init writes; keep them in sync.
func TestExampleWorkflowsMatchInit(t *testing.T) {
	ex := filepath.Join("..", "..", "examples", "polyglot")
	release, _ := RenderRelease("immediate", "main")
	check, _ := RenderCheck()
	agents, _ := RenderAgents()
	for rel, want := range map[string][]byte{FileRelease: release, FileCheck: check, FileAgents: agents} {
		got, err := os.ReadFile(filepath.Join(ex, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("examples/polyglot/%s differs from what init writes; regenerate it", rel)
		}
	}
	cfg, err := config.Load(filepath.Join(ex, FileConfig))
	if err != nil {
		t.Fatal(err)
	}
	if err := config.CheckPathsInRepo(cfg, ex); err != nil {
		t.Error(err)
	}
}

// TestReleaseTokensOnlyWhenConfigured: the publish step gets a registry
// token only for packages marked `auth = "token"`. A leftover
// CARGO_REGISTRY_TOKEN next to working OIDC wins on crates.io and, when
// stale, fails the upload after the other registries shipped.
func TestReleaseTokensOnlyWhenConfigured(t *testing.T) {
	cfg, err := config.Parse("putitoutthere.toml", []byte(`[putitoutthere]
version = 1

[[package]]
name = "core"
kind = "crates"
path = "core"
paths = ["core/**"]

[[package]]
name = "js"
kind = "npm"
path = "js"
paths = ["js/**"]
auth = "token"
`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := RenderReleaseWith("immediate", "main", TokensFor(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte("NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}")) {
		t.Errorf("the npm token package gets no NODE_AUTH_TOKEN:\n%s", got)
	}
	for _, v := range []string{"CARGO_REGISTRY_TOKEN", "PYPI_API_TOKEN"} {
		if bytes.Contains(got, []byte(v)) {
			t.Errorf("%s written for packages that use OIDC", v)
		}
	}
	plain, _ := RenderRelease("immediate", "main")
	for _, v := range []string{"CARGO_REGISTRY_TOKEN", "PYPI_API_TOKEN", "NODE_AUTH_TOKEN"} {
		if bytes.Contains(plain, []byte(v)) {
			t.Errorf("%s written with no token package", v)
		}
	}
}

// --dry-run says what it would write and why, and writes nothing.
func TestRunDryRun(t *testing.T) {
	root := monorepo(t)
	res, err := Run(context.Background(), Options{Root: root, Branch: "main", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != 0 || len(res.Plan) != 5 || !strings.Contains(res.Config, "[[package]]") {
		t.Errorf("written %v plan %+v", res.Written, res.Plan)
	}
	for _, f := range []string{FileConfig, FileRelease, FileCheck, FileAgents, FileClaude} {
		if _, err := os.Stat(filepath.Join(root, f)); err == nil {
			t.Errorf("dry run wrote %s", f)
		}
	}
	for _, p := range res.Plan {
		if p.Why == "" {
			t.Errorf("%s: no reason", p.File)
		}
	}
}

// An npm CLI with per-platform packages it names in optionalDependencies
// (biome's layout): one bundled-cli package whose targets and member_name
// reproduce the published platform packages, which are left out.
func TestDiscoverPlatformFamily(t *testing.T) {
	root := t.TempDir()
	write(t, root, "packages/@biomejs/biome/package.json", `{"name": "@biomejs/biome", "version": "2.3.0", "bin": {"biome": "bin/biome"},
		"optionalDependencies": {"@biomejs/cli-linux-x64": "2.3.0", "@biomejs/cli-linux-x64-musl": "2.3.0", "@biomejs/cli-darwin-arm64": "2.3.0", "@biomejs/cli-win32-x64": "2.3.0"}}`)
	write(t, root, "packages/@biomejs/cli-linux-x64/package.json", `{"name": "@biomejs/cli-linux-x64", "version": "2.3.0", "os": ["linux"], "cpu": ["x64"], "libc": ["glibc"]}`)
	write(t, root, "packages/@biomejs/cli-linux-x64-musl/package.json", `{"name": "@biomejs/cli-linux-x64-musl", "version": "2.3.0", "os": ["linux"], "cpu": ["x64"], "libc": ["musl"]}`)
	write(t, root, "packages/@biomejs/cli-darwin-arm64/package.json", `{"name": "@biomejs/cli-darwin-arm64", "version": "2.3.0", "os": ["darwin"], "cpu": ["arm64"]}`)
	write(t, root, "packages/@biomejs/cli-win32-x64/package.json", `{"name": "@biomejs/cli-win32-x64", "version": "2.3.0", "os": ["win32"], "cpu": ["x64"]}`)
	found, skipped, err := Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Build != "bundled-cli" || found[0].MemberName != "@biomejs/cli-{os}-{cpu}{libc}" ||
		strings.Join(found[0].Targets, ",") != "x86_64-apple-darwin,x86_64-unknown-linux-gnu,x86_64-unknown-linux-musl,x86_64-pc-windows-msvc" && len(found[0].Targets) != 4 {
		t.Fatalf("found %+v", found)
	}
	if len(skipped) != 4 || !strings.Contains(skipped[0].Reason, "platform package of the family @biomejs/biome") {
		t.Errorf("skipped %+v", skipped)
	}
	// The config loads and the family's member names are the published ones.
	cfg, err := config.Parse("p.toml", RenderConfig(found, "immediate", false))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := family.Members(cfg.Package(found[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	sort.Strings(names)
	if strings.Join(names, " ") != "@biomejs/cli-darwin-arm64 @biomejs/cli-linux-x64 @biomejs/cli-linux-x64-musl @biomejs/cli-win32-x64" {
		t.Errorf("member names %v", names)
	}
}

// A release-plz workspace: crates inheriting one version, each tagged
// {name}-v{version}. They become one group (config validation requires it)
// whose tag is one member's scheme, every member's scheme kept as a previous
// one, so the plan knows every release.
func TestTagSchemesInheritedWorkspace(t *testing.T) {
	root := t.TempDir()
	write(t, root, "Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n[workspace.package]\nversion = \"0.4.2\"\n")
	write(t, root, "crates/foo/Cargo.toml", "[package]\nname = \"foo\"\nversion.workspace = true\n")
	write(t, root, "crates/bar/Cargo.toml", "[package]\nname = \"bar\"\nversion.workspace = true\n[dependencies]\nfoo = { path = \"../foo\", version = \"0.4.2\" }\n")
	found, _, err := Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	groups := TagSchemes(found, []string{"foo-v0.4.1", "foo-v0.4.2", "bar-v0.4.1", "bar-v0.4.2"})
	if len(groups) != 1 || len(groups[0].Members) != 2 {
		t.Fatalf("groups %+v", groups)
	}
	all := append([]string{groups[0].TagFormat}, groups[0].PreviousTagFormats...)
	sort.Strings(all)
	if strings.Join(all, " ") != "bar-v{version} foo-v{version}" {
		t.Errorf("group formats %v", all)
	}
	for _, f := range found {
		if f.Group != groups[0].Name || f.Version != "0.4.2" {
			t.Errorf("%s: group %q version %q", f.Name, f.Group, f.Version)
		}
	}
	cfg, err := config.Parse("p.toml", RenderConfigWith(found, groups, "immediate", false))
	if err != nil {
		t.Fatal(err)
	}
	if g := cfg.Group(groups[0].Name); g == nil || len(g.Members) != 2 {
		t.Errorf("config group %+v", g)
	}
}
