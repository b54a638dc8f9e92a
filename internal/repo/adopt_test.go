package repo

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
)

// loadCfg writes cfgText as the repository's putitoutthere.toml (not
// committed) and loads it.
func loadCfg(t *testing.T, r *testRepo, cfgText string) *config.Config {
	t.Helper()
	r.write(config.FileName, cfgText)
	cfg, err := config.Load(filepath.Join(r.dir, config.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func planReasons(t *testing.T, dir string, cfg *config.Config) (string, string) {
	t.Helper()
	p, err := PlanFor(context.Background(), dir, cfg)
	if err != nil {
		t.Fatalf("PlanFor: %v", err)
	}
	var parts, reasons []string
	for _, r := range p.Releases {
		parts = append(parts, r.Name+"@"+r.Version+" "+r.Tag)
		reasons = append(reasons, r.Name+": "+r.Reason)
	}
	return strings.Join(parts, ", "), strings.Join(reasons, "\n")
}

const tokCfg = `[putitoutthere]
version = 1

[[group]]
name = "core"
tag_format = "v{version}"

[[package]]
name = "tokenizers"
kind = "crates"
path = "tokenizers"
paths = ["tokenizers/**"]
group = "core"

[[package]]
name = "tokenizers-py"
kind = "pypi"
pypi = "tokenizers"
path = "bindings/python"
paths = ["bindings/python/**"]
depends_on = ["tokenizers"]
group = "core"
`

// A release branch holds v0.21.4 and v0.22.0 that main never merged; main's
// last reachable tag is v0.21.3. The plan never proposes a version whose tag
// exists, nor one below a release it knows of: 0.22.1, and it says why.
func TestAdoptTagsOnReleaseBranches(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("init", "tokenizers/Cargo.toml", "[package]\nname = \"tokenizers\"\nversion = \"0.21.3\"\n",
		"bindings/python/pyproject.toml", "[project]\nname = \"tokenizers\"\nversion = \"0.21.3\"\n")
	r.git("tag", "v0.21.3")
	r.git("checkout", "-q", "-b", "v0.21.x")
	r.commit("backport", "tokenizers/fix", "1")
	r.git("tag", "v0.21.4")
	r.commit("minor on branch", "tokenizers/fix", "2")
	r.git("tag", "v0.22.0")
	r.git("checkout", "-q", "main")
	r.commit("feature", "tokenizers/src", "1")
	cfg := loadCfg(t, r, tokCfg)
	got, why := planReasons(t, r.dir, cfg)
	if got != "tokenizers@0.22.1 v0.22.1, tokenizers-py@0.22.1 v0.22.1" {
		t.Fatalf("plan = %s\n%s", got, why)
	}
	if !strings.Contains(why, "highest known release is 0.22.0 (tag v0.22.0, not reachable from HEAD)") {
		t.Fatalf("reasons:\n%s", why)
	}
}

// No tag reachable and the manifest's version already tagged (on another
// branch): bump from it, never a "first release" that repeats it. A
// pre-release manifest version counts as its release part.
func TestAdoptManifestBaseline(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("init", "tokenizers/Cargo.toml", "[package]\nname = \"tokenizers\"\nversion = \"0.23.2-dev.0\"\n",
		"bindings/python/pyproject.toml", "[project]\nname = \"tokenizers\"\nversion = \"0.23.2-dev.0\"\n")
	r.git("checkout", "-q", "-b", "release")
	r.commit("release", "tokenizers/x", "1")
	r.git("tag", "v0.23.2")
	r.git("checkout", "-q", "main")
	cfg := loadCfg(t, r, tokCfg)
	got, why := planReasons(t, r.dir, cfg)
	if got != "tokenizers@0.23.3 v0.23.3, tokenizers-py@0.23.3 v0.23.3" {
		t.Fatalf("plan = %s\n%s", got, why)
	}
	if !strings.Contains(why, "tag v0.23.2 exists") {
		t.Fatalf("reasons:\n%s", why)
	}

	// Nothing released yet: the manifest's version is the first release.
	r2 := newRepo(t)
	r2.commit("init", "a/package.json", `{"name":"a","version":"1.4.0"}`)
	cfg2 := loadCfg(t, r2, "[putitoutthere]\nversion = 1\n[[package]]\nname = \"a\"\nkind = \"npm\"\npath = \"a\"\npaths = [\"a/**\"]\nfirst_version = \"0.1.0\"\n")
	if got, why := planReasons(t, r2.dir, cfg2); got != "a@1.4.0 a-v1.4.0" {
		t.Fatalf("plan = %s\n%s", got, why)
	}
}

// previous_tag_formats: a package renamed its scheme; the old tags are its
// releases, and the next tag uses the new scheme.
func TestAdoptPreviousTagFormats(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("init", "cli/package.json", `{"name":"@biomejs/biome","version":"1.9.4"}`)
	r.git("tag", "cli/v1.9.4")
	r.commit("fix", "cli/x", "1")
	cfg := loadCfg(t, r, "[putitoutthere]\nversion = 1\n[[package]]\nname = \"biome\"\nkind = \"npm\"\nnpm = \"@biomejs/biome\"\npath = \"cli\"\npaths = [\"cli/**\"]\ntag_format = \"@biomejs/biome@{version}\"\nprevious_tag_formats = [\"cli/v{version}\"]\n")
	if got, why := planReasons(t, r.dir, cfg); got != "biome@1.9.5 @biomejs/biome@1.9.5" {
		t.Fatalf("plan = %s\n%s", got, why)
	}
}

// Trailers are read only since the config first appeared: an old malformed
// trailer and an old `release: major` do not count; one after adoption does.
func TestAdoptTrailersOnlySinceAdoption(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("init", "a/Cargo.toml", "[package]\nname = \"a\"\nversion = \"2.0.0\"\n")
	r.git("tag", "a-v2.0.0")
	r.commit("old\n\nrelease: minro", "a/x", "1")
	r.commit("old\n\nrelease: major", "a/x", "2")
	r.commit("notes\n\nRelease:\nhttps://example.com/2.0.0", "a/x", "3")
	cfgText := "[putitoutthere]\nversion = 1\n[[package]]\nname = \"a\"\nkind = \"crates\"\npath = \"a\"\npaths = [\"a/**\"]\n"
	cfg := loadCfg(t, r, cfgText)
	// Not committed yet: no trailer is read.
	if got, why := planReasons(t, r.dir, cfg); got != "a@2.0.1 a-v2.0.1" {
		t.Fatalf("before adoption commit: plan = %s\n%s", got, why)
	}
	r.commit("adopt putitoutthere", config.FileName, cfgText)
	if got, why := planReasons(t, r.dir, cfg); got != "a@2.0.1 a-v2.0.1" {
		t.Fatalf("after adoption: plan = %s\n%s", got, why)
	}
	r.commit("feat\n\nrelease: minor", "a/y", "1")
	if got, why := planReasons(t, r.dir, cfg); got != "a@2.1.0 a-v2.1.0" {
		t.Fatalf("trailer after adoption: plan = %s\n%s", got, why)
	}
}

// A lockstep group: one member changed, every member ships at one version
// with the group's one tag; the highest bump among them wins.
func TestGroupLockstep(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("init", "tokenizers/Cargo.toml", "[package]\nname = \"tokenizers\"\nversion = \"0.1.0\"\n",
		"bindings/python/pyproject.toml", "[project]\nname = \"tokenizers\"\nversion = \"0.1.0\"\n",
		config.FileName, tokCfg)
	r.git("tag", "v0.1.0")
	cfg := loadCfg(t, r, tokCfg)
	if got, _ := planReasons(t, r.dir, cfg); got != "" {
		t.Fatalf("nothing changed: plan = %s", got)
	}
	r.commit("py only\n\nrelease: minor [tokenizers-py]", "bindings/python/x.py", "1")
	got, why := planReasons(t, r.dir, cfg)
	if got != "tokenizers@0.2.0 v0.2.0, tokenizers-py@0.2.0 v0.2.0" {
		t.Fatalf("plan = %s\n%s", got, why)
	}
	if !strings.Contains(why, "released with group core") {
		t.Fatalf("reasons:\n%s", why)
	}
}

// git is asked about the newest candidate tags only, round by round; with
// more unreachable newer tags than rounds, the last round asks about the
// rest, and the last release is still the newest reachable one.
func TestLastTagPastManyUnreachable(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("init", "a/x", "1")
	r.git("tag", "a-v1.0.0")
	r.commit("two", "a/x", "2")
	r.git("tag", "a-v1.1.0")
	r.git("checkout", "-q", "-b", "release")
	for i := 2; i <= 7; i++ {
		r.commit(fmt.Sprintf("rel %d", i), "a/r", fmt.Sprint(i))
		r.git("tag", fmt.Sprintf("a-v1.%d.0", i))
	}
	r.git("checkout", "-q", "main")
	r.commit("fix", "a/y", "1")
	f, err := ReadFacts(context.Background(), r.dir, pkgs(pk("a", "crates")))
	if err != nil {
		t.Fatal(err)
	}
	if lt := f.LastTags["a"]; lt.Tag != "a-v1.1.0" {
		t.Fatalf("last tag = %+v", lt)
	}
	if got := mustPlan(t, r.dir, pkgs(pk("a", "crates"))); got != "a@1.7.1(patch)" {
		t.Fatalf("plan = %q", got)
	}
}
