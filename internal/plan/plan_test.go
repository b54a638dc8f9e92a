package plan

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
)

var update = flag.Bool("update", false, "rewrite golden files")

func pkg(name, kind string, deps ...string) config.Package {
	return config.Package{Name: name, Kind: kind, Path: "pkgs/" + name, Paths: []string{"pkgs/" + name + "/**"},
		DependsOn: deps, FirstVersion: "0.1.0", TagFormat: "{name}-v{version}"}
}

func cfgOf(pkgs ...config.Package) *config.Config {
	return &config.Config{File: "putitoutthere.toml", Version: 1, Packages: pkgs}
}

// history builds Facts: commits newest first; tags name -> index of the commit
// they point at (that commit and older are outside the window); changed is
// the union of files of the commits newer than each tag.
func facts(commits []Commit, tags map[string]int) *Facts {
	f := &Facts{Changed: map[string][]string{}, Windows: map[string]int{}}
	for i := range commits {
		if commits[i].SHA == "" {
			commits[i].SHA = strings.Repeat(string(rune('a'+i%26)), 40)
		}
	}
	f.Commits = commits
	f.Head = commits[0].SHA
	for name, idx := range tags {
		c := commits[idx].SHA
		f.Tags = append(f.Tags, Tag{Name: name, Commit: c})
		f.Windows[c] = idx
		var files []string
		for _, cm := range commits[:idx] {
			files = append(files, cm.Files...)
		}
		f.Changed[c] = files
	}
	return f
}

func releases(t *testing.T, p *Plan) string {
	t.Helper()
	var parts []string
	for _, r := range p.Releases {
		s := r.Name + "@" + r.Version
		if r.Bump != "" {
			s += "(" + r.Bump + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestCompute(t *testing.T) {
	core, py, js, other := pkg("core", "crates"), pkg("py", "pypi", "core"), pkg("js", "npm", "py"), pkg("other", "crates")
	all := cfgOf(core, py, js, other)
	allTags := map[string]int{"core-v1.0.0": 3, "py-v2.0.0": 3, "js-v0.3.0": 3, "other-v1.1.0": 3}
	tests := []struct {
		name    string
		cfg     *config.Config
		commits []Commit
		tags    map[string]int
		want    string
		wantErr string
	}{
		{
			name:    "first releases",
			cfg:     cfgOf(core, py),
			commits: []Commit{{Message: "init", Files: []string{"README"}}},
			want:    "core@0.1.0 py@0.1.0",
		},
		{
			name: "first releases read no trailers",
			cfg:  cfgOf(core),
			commits: []Commit{
				{Message: "x", Files: []string{"pkgs/core/a"}},
				{Message: "release: minro"}, // outside every window
			},
			want: "core@0.1.0",
		},
		{
			name: "nothing changed",
			cfg:  all,
			commits: []Commit{
				{Message: "docs", Files: []string{"README.md"}},
				{}, {}, {},
			},
			tags: allTags,
			want: "",
		},
		{
			name: "transitive cascade across kinds",
			cfg:  all,
			commits: []Commit{
				{Message: "fix core", Files: []string{"pkgs/core/src/lib.rs"}},
				{}, {}, {},
			},
			tags: allTags,
			want: "core@1.0.1(patch) py@2.0.1(patch) js@0.3.1(patch)",
		},
		{
			name: "dependent only",
			cfg:  all,
			commits: []Commit{
				{Message: "fix js", Files: []string{"pkgs/js/index.js"}},
				{}, {}, {},
			},
			tags: allTags,
			want: "js@0.3.1(patch)",
		},
		{
			name: "trailer on an older commit is not lost",
			cfg:  all,
			commits: []Commit{
				{Message: "docs", Files: []string{"pkgs/other/README"}},
				{Message: "feat\n\nrelease: minor", Files: []string{"pkgs/core/src/new.rs"}},
				{}, {},
			},
			tags: allTags,
			want: "core@1.1.0(minor) py@2.1.0(minor) js@0.4.0(minor) other@1.1.1(patch)",
		},
		{
			name: "highest bump wins",
			cfg:  cfgOf(core),
			commits: []Commit{
				{Message: "release: minor", Files: []string{"pkgs/core/a"}},
				{Message: "release: major", Files: []string{"pkgs/core/b"}},
				{Message: "release: patch", Files: []string{"pkgs/core/c"}},
				{},
			},
			tags: map[string]int{"core-v1.2.3": 3},
			want: "core@2.0.0(major)",
		},
		{
			name: "trailer older than the tag does not count",
			cfg:  cfgOf(core),
			commits: []Commit{
				{Message: "fix", Files: []string{"pkgs/core/a"}},
				{Message: "release: major", Files: []string{"pkgs/core/b"}},
			},
			tags: map[string]int{"core-v1.2.3": 1},
			want: "core@1.2.4(patch)",
		},
		{
			name: "unscoped trailer applies only where its change set cascades",
			cfg:  all,
			commits: []Commit{
				{Message: "release: major", Files: []string{"pkgs/other/x"}},
				{Message: "fix", Files: []string{"pkgs/js/x"}},
				{}, {},
			},
			tags: allTags,
			want: "js@0.3.1(patch) other@2.0.0(major)",
		},
		{
			name: "scoped trailer force-includes a package",
			cfg:  all,
			commits: []Commit{
				{Message: "bump\n\nrelease: minor [other, py]", Files: []string{"docs/x"}},
				{}, {}, {},
			},
			tags: allTags,
			want: "py@2.1.0(minor) other@1.2.0(minor)",
		},
		{
			name: "scoped trailer names are case-insensitive",
			cfg:  all,
			commits: []Commit{
				{Message: "release: patch [OTHER]"},
				{}, {}, {},
			},
			tags: allTags,
			want: "other@1.1.1(patch)",
		},
		{
			name: "skip on HEAD empties the plan",
			cfg:  all,
			commits: []Commit{
				{Message: "wip\n\nrelease: skip", Files: []string{"pkgs/core/a"}},
				{}, {}, {},
			},
			tags: allTags,
			want: "",
		},
		{
			name: "skip on HEAD empties first releases too",
			cfg:  cfgOf(core),
			commits: []Commit{
				{Message: "release: skip"},
			},
			want: "",
		},
		{
			name: "skip list on HEAD drops only those",
			cfg:  all,
			commits: []Commit{
				{Message: "release: skip [py, js]", Files: []string{"pkgs/core/a"}},
				{}, {}, {},
			},
			tags: allTags,
			want: "core@1.0.1(patch)",
		},
		{
			name: "skip on an older commit contributes nothing",
			cfg:  cfgOf(core),
			commits: []Commit{
				{Message: "fix", Files: []string{"pkgs/core/a"}},
				{Message: "release: skip", Files: []string{"pkgs/core/b"}},
				{},
			},
			tags: map[string]int{"core-v1.0.0": 2},
			want: "core@1.0.1(patch)",
		},
		{
			name: "merge without trailer reads its merged tip",
			cfg:  cfgOf(core),
			commits: []Commit{
				{Message: "Merge pull request #1", Parents: []string{"p1", "tip"}, Files: []string{"pkgs/core/a"},
					MergedTips: []MergedTip{{SHA: "tip", Message: "feat\n\nrelease: major"}}},
				{},
			},
			tags: map[string]int{"core-v1.0.0": 1},
			want: "core@2.0.0(major)",
		},
		{
			name: "skip on a merged tip of HEAD",
			cfg:  cfgOf(core),
			commits: []Commit{
				{Message: "Merge", Parents: []string{"p1", "tip"}, Files: []string{"pkgs/core/a"},
					MergedTips: []MergedTip{{SHA: "tip", Message: "release: skip"}}},
				{},
			},
			tags: map[string]int{"core-v1.0.0": 1},
			want: "",
		},
		{
			name: "pre-release is released, not skipped",
			cfg:  cfgOf(core),
			commits: []Commit{
				{Message: "release: minor", Files: []string{"pkgs/core/a"}},
				{},
			},
			tags: map[string]int{"core-v1.2.0-rc.1": 1},
			want: "core@1.2.0(minor)",
		},
		{
			name: "malformed trailer in the window",
			cfg:  cfgOf(core),
			commits: []Commit{
				{Message: "fix", Files: []string{"pkgs/core/a"}},
				{Message: "feat: thing\n\nrelease: minro"},
				{},
			},
			tags:    map[string]int{"core-v1.0.0": 2},
			wantErr: "release trailer in commit bbbbbbb (feat: thing): line 3 `release: minro`: unknown value",
		},
		{
			name: "a newer valid trailer supersedes a malformed one",
			cfg:  cfgOf(core),
			commits: []Commit{
				{Message: "fix\n\nrelease: major [core]"},
				{Message: "feat: thing\n\nrelease: mjaor", Files: []string{"pkgs/core/a"}},
				{},
			},
			tags: map[string]int{"core-v1.0.0": 2},
			want: "core@2.0.0(major)",
		},
		{
			name: "a newer commit without a trailer does not",
			cfg:  cfgOf(core),
			commits: []Commit{
				{Message: "docs"},
				{Message: "feat: thing\n\nrelease: mjaor", Files: []string{"pkgs/core/a"}},
				{},
			},
			tags:    map[string]int{"core-v1.0.0": 2},
			wantErr: "mjaor",
		},
		{
			name: "malformed trailer in a merged tip",
			cfg:  cfgOf(core),
			commits: []Commit{
				{Message: "Merge", Parents: []string{"p1", "t1"}, MergedTips: []MergedTip{{SHA: "t1deadbeef", Message: "x\nrelease: minor [a b]"}}},
				{},
			},
			tags:    map[string]int{"core-v1.0.0": 1},
			wantErr: "commit t1deadb (x)",
		},
		{
			name: "unknown package in a list",
			cfg:  cfgOf(core),
			commits: []Commit{
				{Message: "release: minor [core, nope]"},
				{},
			},
			tags:    map[string]int{"core-v1.0.0": 1},
			wantErr: `names unknown package "nope"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compute(tt.cfg, facts(tt.commits, tt.tags))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Compute error = %v, want %q", err, tt.wantErr)
				}
				if diag.CodeOf(err) != CodeTrailerInvalid {
					t.Fatalf("code = %s", diag.CodeOf(err))
				}
				return
			}
			if err != nil {
				t.Fatalf("Compute: %v", err)
			}
			if got := releases(t, p); got != tt.want {
				t.Errorf("releases = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLastTags(t *testing.T) {
	a := pkg("a", "crates")
	v := pkg("v", "npm")
	v.TagFormat = "v{version}"
	ab := pkg("a-b", "crates") // its tags must not be read as a's
	h2 := pkg("h2", "crates")
	h2.TagFormat = "{name}{version}" // the version's digits follow the name's
	bare := pkg("bare", "npm")
	bare.TagFormat = "{version}"
	cfg := cfgOf(a, v, ab, h2, bare)
	tags := []Tag{
		{"a-v1.10.0", "c1"}, {"a-v1.9.0", "c2"}, {"a-v2.0.0-rc.1", "c3"}, {"a-vfoo", "c4"}, {"a-v1.2", "c5"},
		{"v0.2.0", "c6"}, {"v0.10.0", "c7"}, {"a-b-v9.0.0", "c8"}, {"a-v1.10.0+build", "c9"},
		{"h20.3.0", "c10"}, {"h21.0.0", "c11"}, {"3.0.0", "c12"}, {"10.0.0", "c13"},
	}
	got, err := LastTags(cfg, tags)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]TagInfo{
		"a":    {Tag: "a-v2.0.0-rc.1", Version: "2.0.0-rc.1", Commit: "c3"},
		"v":    {Tag: "v0.10.0", Version: "0.10.0", Commit: "c7"},
		"a-b":  {Tag: "a-b-v9.0.0", Version: "9.0.0", Commit: "c8"},
		"h2":   {Tag: "h21.0.0", Version: "1.0.0", Commit: "c11"},
		"bare": {Tag: "10.0.0", Version: "10.0.0", Commit: "c13"},
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("LastTags[%s] = %+v, want %+v", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("LastTags = %v", got)
	}
}

func TestBump(t *testing.T) {
	for _, tt := range []struct{ v, level, want string }{
		{"1.2.3", "patch", "1.2.4"}, {"1.2.3", "minor", "1.3.0"}, {"1.2.3", "major", "2.0.0"},
		{"0.0.9", "patch", "0.0.10"}, {"1.2.3-rc.1", "patch", "1.2.3"}, {"1.2.0-rc.1", "minor", "1.2.0"},
		{"1.2.1-rc.1", "minor", "1.3.0"}, {"2.0.0-beta", "major", "2.0.0"}, {"1.2.3+meta", "patch", "1.2.4"},
	} {
		got, err := Bump(tt.v, tt.level)
		if err != nil || got != tt.want {
			t.Errorf("Bump(%s, %s) = %s, %v; want %s", tt.v, tt.level, got, err, tt.want)
		}
	}
	if _, err := Bump("1.2", "patch"); err == nil {
		t.Error("Bump(1.2) succeeded")
	}
	if _, err := Bump("1.2.3", "huge"); err == nil {
		t.Error("Bump(huge) succeeded")
	}
}

func TestGlobIndexAgreesWithDoublestar(t *testing.T) {
	patterns := []string{"crates/a/**", "crates/*/Cargo.toml", "**/*.md", "py/{x,y}/**", "Cargo.lock", "docs/?.txt", "**", ".github/**", "*.toml"}
	files := []string{"crates/a/src/lib.rs", "crates/b/Cargo.toml", "README.md", "py/x/a.py", "py/z/a.py", "Cargo.lock",
		"docs/a.txt", "docs/ab.txt", ".github/workflows/r.yml", "crates/a/.hidden", "putitoutthere.toml", "a/b/c/d.md"}
	g := newGlobIndex(len(patterns))
	for i, p := range patterns {
		if err := g.add(i, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		got := g.match(f)
		for i, p := range patterns {
			want := globMatch(p, f)
			has := len(got) > 0 && got.has(i)
			if has != want {
				t.Errorf("pattern %q file %q: index says %v, doublestar says %v", p, f, has, want)
			}
		}
	}
	if err := g.add(0, "a/[b"); err == nil {
		t.Error("invalid glob accepted")
	}
}

func TestRows(t *testing.T) {
	crate := pkg("core", "crates")
	crate.BuildWorkflow = "build-core.yml"
	wheel := pkg("py", "pypi")
	wheel.Build = "maturin"
	wheel.Targets = []config.Target{{Triple: "x86_64-unknown-linux-gnu"}, {Triple: "aarch64-apple-darwin"}, {Triple: "aarch64-unknown-linux-gnu", Runner: "my-arm"}}
	wheel.BundleCLI = &config.BundleCLI{Bin: "tool", StageTo: "py/bin", CratePath: "."}
	pure := pkg("purepy", "pypi")
	pure.Build = "hatch"
	js := pkg("js", "npm")
	napi := pkg("napi", "npm")
	napi.Build = "napi"
	napi.Targets = []config.Target{{Triple: "x86_64-pc-windows-msvc"}, {Triple: "linux-arm64-gnu"}}
	cfg := cfgOf(crate, wheel, pure, js, napi)
	p, err := Compute(cfg, facts([]Commit{{Message: "init"}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, append(got, '\n'))
	// Deterministic: a second run is byte-identical.
	p2, _ := Compute(cfg, facts([]Commit{{Message: "init"}}, nil))
	got2, _ := json.MarshalIndent(p2, "", "  ")
	if !bytes.Equal(got, got2) {
		t.Error("two runs differ")
	}
}

// golden compares got with testdata/<TestName>.golden; -update rewrites it.
func golden(t *testing.T, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", strings.ReplaceAll(t.Name(), "/", "_")+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden:\n%s", path, got)
	}
}

func globMatch(pattern, file string) bool {
	ok, err := doublestar.Match(pattern, file)
	return err == nil && ok
}
