package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/putitoutthere/putitoutthere/internal/diag"
)

func TestParseFull(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "ok_full.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("ok_full.toml", data)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Version != 1 || cfg.Cadence != "scheduled" || cfg.File != "ok_full.toml" {
		t.Errorf("header = %d %q %q", cfg.Version, cfg.Cadence, cfg.File)
	}
	want := []Package{
		{
			Name: "core", Kind: "crates", Path: "crates/core",
			Paths:        []string{"crates/core/**", "Cargo.lock", ".cargo/*.toml"},
			FirstVersion: "1.0.0-rc.1", TagFormat: "{name}@{version}", BuildWorkflow: "build-core.yaml",
			Crate: "polyglot_core", Features: []string{"simd", "serde"}, NoDefaultFeatures: true,
			TrustPolicy: &TrustPolicy{Workflow: "release.yml", Environment: "release", Repository: "my-org/my.repo", Pos: Pos{18, 1}},
		},
		{
			Name: "core-py", Kind: "pypi", Path: "python/core-py", Paths: []string{"python/core-py/**"},
			DependsOn: []string{"core"}, FirstVersion: "0.1.0", TagFormat: "{name}-v{version}",
			PyPI: "polyglot-core", Build: "maturin",
			Targets:     []Target{{Triple: "x86_64-unknown-linux-gnu"}, {Triple: "aarch64-apple-darwin", Runner: "macos-14"}},
			BundleCLI:   &BundleCLI{Bin: "polyglot", StageTo: "src/polyglot_core/bin", CratePath: "."},
			TrustPolicy: &TrustPolicy{Workflow: "release.yml", Pos: Pos{36, 16}},
		},
		{
			Name: "utils", Kind: "pypi", Path: "python/utils", Paths: []string{"python/utils/**"},
			FirstVersion: "0.1.0", TagFormat: "{name}-v{version}", Build: "hatch",
		},
		{
			Name: "cli", Kind: "npm", Path: "npm/cli", Paths: []string{"npm/cli/**"}, DependsOn: []string{"core"},
			FirstVersion: "0.1.0", TagFormat: "{name}-v{version}",
			NPM: "@polyglot-example/cli", Access: "restricted", Tag: "next", NPMPublish: "auto", Build: "bundled-cli",
			Targets: []Target{{Triple: "linux-x64-gnu"}, {Triple: "darwin-arm64"}, {Triple: "win32-x64-msvc"}, {Triple: "x86_64-unknown-linux-musl"}},
		},
		{
			Name: "web", Kind: "npm", Path: ".", Paths: []string{"**/*.ts"},
			FirstVersion: "0.1.0", TagFormat: "web/{version}", Access: "public", Tag: "latest", NPMPublish: "auto",
		},
	}
	if diff := cmp.Diff(want, cfg.Packages, cmpopts.IgnoreFields(Package{}, "Pos", "KeyPos"), cmpopts.IgnoreUnexported(Package{})); diff != "" {
		t.Errorf("packages (-want +got):\n%s", diff)
	}
	core := cfg.Packages[0]
	if core.Pos != (Pos{6, 1}) {
		t.Errorf("core.Pos = %v", core.Pos)
	}
	for key, want := range map[string]Pos{"name": {7, 1}, "path": {9, 1}, "trust_policy": {18, 10}, "trust_policy.workflow": {19, 1}, "trust_policy.repository": {21, 1}} {
		if got := core.KeyPos[key]; got != want {
			t.Errorf("core.KeyPos[%q] = %v, want %v", key, got, want)
		}
	}
	py := cfg.Packages[1]
	if got := py.KeyPos["bundle_cli.stage_to"]; got != (Pos{35, 34}) {
		t.Errorf("core-py bundle_cli.stage_to at %v", got)
	}
	if cfg.Package("cli") == nil || cfg.Package("nope") != nil {
		t.Error("Config.Package lookup")
	}
	if got := cfg.Package("cli").RegistryName(); got != "@polyglot-example/cli" {
		t.Errorf("RegistryName = %q", got)
	}
}

func TestParseErrorShape(t *testing.T) {
	_, err := Parse("putitoutthere.toml", []byte("[putitoutthere]\nversion = 1\n\n[[package]]\nname = \"x\"\nkind = \"cargo\"\npath = \"x\"\npaths = [\"x/**\"]\n"))
	var de *diag.Error
	if !errors.As(err, &de) {
		t.Fatalf("err = %v", err)
	}
	if de.Code != CodeConfigInvalid || de.Exit != diag.ExitUsage || de.Hint == "" {
		t.Errorf("code %s exit %d hint %q", de.Code, de.Exit, de.Hint)
	}
	want := "putitoutthere.toml:6:8: package \"x\": key `kind`: must be one of crates, pypi, npm, not \"cargo\""
	if len(de.Details) != 1 || de.Details[0] != want {
		t.Errorf("details = %q", de.Details)
	}
	// The problem list prints once: in Details, not again via the cause.
	if n := strings.Count(de.Error(), "must be one of"); n != 1 {
		t.Errorf("Error() repeats the problem %d times:\n%s", n, de.Error())
	}
	ps := ProblemsOf(err)
	if len(ps) != 1 || ps[0].Code != CodeConfigInvalid || ps[0].Key != "kind" || ps[0].Package != "x" || ps[0].Pos != (Pos{6, 8}) {
		t.Errorf("problems = %+v", ps)
	}
}

func TestTopLevelCode(t *testing.T) {
	tests := map[string]string{
		"err_syntax.toml":         CodeConfigSyntax,
		"err_unknown_keys.toml":   CodeConfigUnknownKey,
		"err_depends.toml":        CodeConfigInvalid,
		"err_package_scalar.toml": CodeConfigInvalid,
	}
	for file, want := range tests {
		_, err := Load(filepath.Join("testdata", file))
		if got := diag.CodeOf(err); got != want {
			t.Errorf("%s: code %s, want %s", file, got, want)
		}
		if diag.ExitCode(err) != diag.ExitUsage {
			t.Errorf("%s: exit %d", file, diag.ExitCode(err))
		}
	}
}

func TestLoadNotFound(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "putitoutthere.toml"))
	if diag.CodeOf(err) != CodeConfigNotFound || diag.ExitCode(err) != diag.ExitUsage || !strings.Contains(diag.HintOf(err), "init") {
		t.Errorf("err = %v (%s)", err, diag.CodeOf(err))
	}
	dir := t.TempDir()
	if _, err := Load(dir); diag.CodeOf(err) != CodeConfigNotFound {
		t.Errorf("reading a directory: %v", err)
	}
}
