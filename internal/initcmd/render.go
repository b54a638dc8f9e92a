package initcmd

import (
	"bytes"
	"embed"
	"fmt"
	"strconv"
	"strings"
	"text/template"

	"github.com/putitoutthere/putitoutthere/internal/config"
)

//go:embed templates/*.tmpl
var templates embed.FS

// tmpl renders one embedded template. `<% %>` delimiters keep GitHub's
// `${{ }}` expressions literal.
func tmpl(name string, data any) ([]byte, error) {
	src, err := templates.ReadFile("templates/" + name)
	if err != nil {
		return nil, err
	}
	t, err := template.New(name).Delims("<%", "%>").Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("parsing template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("rendering template %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// workflowData feeds release.yml.tmpl.
type workflowData struct {
	Branch      string
	Scheduled   bool
	Tokens      []TokenEnv
	JS          JSTool
	Environment string // the publish job's environment (trusted publishers pin it)
}

// TokenEnv is one registry token the publish step is given.
type TokenEnv struct {
	Name   string // the variable publish reads, e.g. CARGO_REGISTRY_TOKEN
	Secret string // the repository secret it comes from
}

// RenderRelease renders .github/workflows/release.yml for trusted
// publishing only: no registry token reaches the publish step.
func RenderRelease(cadence, branch string) ([]byte, error) {
	return RenderReleaseWith(cadence, branch, nil)
}

// RenderReleaseWith renders release.yml, giving the publish step the
// registry tokens listed (see TokensFor).
func RenderReleaseWith(cadence, branch string, tokens []TokenEnv) ([]byte, error) {
	return RenderReleaseFor(cadence, branch, tokens, JSTool{})
}

// RenderReleaseFor renders release.yml for a repository whose npm packages
// install and build with js (DetectJSTool); the zero JSTool is npm.
func RenderReleaseFor(cadence, branch string, tokens []TokenEnv, js JSTool) ([]byte, error) {
	return RenderReleaseFull(cadence, branch, tokens, js, "")
}

// RenderReleaseEnv is RenderReleaseWith with the publish job's environment.
func RenderReleaseEnv(cadence, branch string, tokens []TokenEnv, environment string) ([]byte, error) {
	return RenderReleaseFull(cadence, branch, tokens, JSTool{}, environment)
}

// RenderReleaseFull renders release.yml with the JS tool and the publish
// job's environment ("" = release): the one an existing trusted publisher
// pins, so the registration keeps matching.
func RenderReleaseFull(cadence, branch string, tokens []TokenEnv, js JSTool, environment string) ([]byte, error) {
	if branch == "" {
		branch = "main"
	}
	if js.Manager == "" {
		js = JSTool{Manager: "npm", Exec: "npx", Install: `if [ -f package-lock.json ] || [ -f npm-shrinkwrap.json ]; then npm ci; else npm install; fi`}
	}
	if environment == "" {
		environment = "release"
	}
	return tmpl("release.yml.tmpl", workflowData{Branch: branch, Scheduled: cadence == config.CadenceScheduled, Tokens: tokens, JS: js, Environment: environment})
}

// TokensFor lists the token variables the publish step needs: one per
// registry with a package the config marks `auth = "token"`. A token passed
// to a trusted-publishing package is worse than useless: on crates.io it
// wins over OIDC, and a stale one fails the upload after other packages
// shipped.
func TokensFor(cfg *config.Config) []TokenEnv {
	if cfg == nil {
		return nil
	}
	want := map[string]bool{}
	for i := range cfg.Packages {
		if cfg.Packages[i].UsesToken() {
			want[cfg.Packages[i].Kind] = true
		}
	}
	var out []TokenEnv
	for _, t := range []struct {
		kind string
		env  TokenEnv
	}{
		{config.KindCrates, TokenEnv{"CARGO_REGISTRY_TOKEN", "CARGO_REGISTRY_TOKEN"}},
		{config.KindPyPI, TokenEnv{"PYPI_API_TOKEN", "PYPI_API_TOKEN"}},
		{config.KindNPM, TokenEnv{"NODE_AUTH_TOKEN", "NPM_TOKEN"}},
	} {
		if want[t.kind] {
			out = append(out, t.env)
		}
	}
	return out
}

// RenderCheck renders .github/workflows/putitoutthere-check.yml.
func RenderCheck() ([]byte, error) { return tmpl("check.yml.tmpl", nil) }

// RenderAgents renders putitoutthere/AGENTS.md.
func RenderAgents() ([]byte, error) { return tmpl("AGENTS.md.tmpl", nil) }

// RenderConfig writes putitoutthere.toml for the packages found. With none,
// it writes commented examples (and the file is then not a valid config until
// one is uncommented). vTags says the history has `v*` tags: a single package
// adopts tag_format = "v{version}" so its release history carries on; with
// several the format is left as a comment, because one `v{version}` tag
// cannot tell packages apart.
func RenderConfig(found []Found, cadence string, vTags bool) []byte {
	return RenderConfigWith(found, nil, cadence, vTags)
}

// RenderConfigWith is RenderConfig with the groups and tag schemes read
// from the repository's history (TagSchemes) and trust policies read from
// its publish workflows.
func RenderConfigWith(found []Found, groups []GroupFound, cadence string, vTags bool) []byte {
	var b strings.Builder
	b.WriteString(`# putitoutthere.toml: the packages this repository releases.
# Every key, its default and its rules: docs/configuration.md in the
# putitoutthere repository. Check this file with ` + "`putitoutthere doctor`" + `.

[putitoutthere]
version = 1
cadence = ` + strconv.Quote(cadence) + ` # immediate: release on every push; scheduled: on a cron
`)
	if len(found) == 0 {
		b.WriteString(exampleBlocks)
		return []byte(b.String())
	}
	quoteList := func(l []string) string {
		q := make([]string, len(l))
		for i, d := range l {
			q[i] = strconv.Quote(d)
		}
		return strings.Join(q, ", ")
	}
	vUsed := false
	for _, g := range groups {
		b.WriteString("\n[[group]] # released in lockstep: one version, one tag, one GitHub Release\n")
		fmt.Fprintf(&b, "name = %s # %s\n", strconv.Quote(g.Name), g.Why)
		fmt.Fprintf(&b, "tag_format = %s", strconv.Quote(g.TagFormat))
		if g.TagEvidence != "" {
			fmt.Fprintf(&b, " # %s", g.TagEvidence)
		}
		b.WriteString("\n")
		if len(g.PreviousTagFormats) > 0 {
			fmt.Fprintf(&b, "previous_tag_formats = [%s] # schemes used before\n", quoteList(g.PreviousTagFormats))
		}
		vUsed = vUsed || g.TagFormat == "v{version}"
	}
	for _, f := range found {
		vUsed = vUsed || f.TagFormat == "v{version}"
	}
	for _, f := range found {
		b.WriteString("\n[[package]]\n")
		fmt.Fprintf(&b, "name = %s\n", strconv.Quote(f.Name))
		fmt.Fprintf(&b, "kind = %s\n", strconv.Quote(f.Kind))
		fmt.Fprintf(&b, "path = %s\n", strconv.Quote(f.Path))
		glob := "**"
		if f.Path != "." {
			glob = f.Path + "/**"
		}
		fmt.Fprintf(&b, "paths = [%s]\n", strconv.Quote(glob))
		if len(f.DependsOn) > 0 {
			fmt.Fprintf(&b, "depends_on = [%s] # from its dependencies on these packages\n", quoteList(f.DependsOn))
		}
		if f.RegistryName != f.Name {
			key := map[string]string{config.KindCrates: "crate", config.KindPyPI: "pypi", config.KindNPM: "npm"}[f.Kind]
			fmt.Fprintf(&b, "%s = %s\n", key, strconv.Quote(f.RegistryName))
		}
		if f.Build != "" {
			fmt.Fprintf(&b, "build = %s\n", strconv.Quote(f.Build))
		}
		if len(f.Targets) > 0 {
			b.WriteString("targets = [\n")
			for _, t := range f.Targets {
				fmt.Fprintf(&b, "  %s,\n", strconv.Quote(t))
			}
			b.WriteString("]\n")
		}
		if f.MemberName != "" && len(f.Targets) > 0 {
			fmt.Fprintf(&b, "member_name = %s # napi-rs's names for the platform packages\n", strconv.Quote(f.MemberName))
		}
		for _, n := range f.Notes {
			fmt.Fprintf(&b, "# %s\n", n)
		}
		switch {
		case f.Group != "":
			fmt.Fprintf(&b, "group = %s\n", strconv.Quote(f.Group))
		case f.TagFormat != "":
			fmt.Fprintf(&b, "tag_format = %s # %s\n", strconv.Quote(f.TagFormat), f.TagEvidence)
			if len(f.PreviousTagFormats) > 0 {
				fmt.Fprintf(&b, "previous_tag_formats = [%s] # schemes used before\n", quoteList(f.PreviousTagFormats))
			}
		case vTags && !vUsed && len(found) == 1:
			b.WriteString("tag_format = \"v{version}\" # this repository's history is tagged v1.2.3\n")
		case vTags && !vUsed:
			b.WriteString("# The history has v* tags. To continue them for this package, set\n# tag_format = \"v{version}\" (on one package only: a v* tag cannot name its package).\n")
		}
		if len(f.DependsOn) == 0 {
			b.WriteString("# depends_on = [\"...\"] # packages whose changes should also release this one\n")
		}
		if tp := f.TrustPolicy; tp != nil {
			fmt.Fprintf(&b, "[package.trust_policy] # the trusted publisher %s implies\n", tp.From)
			fmt.Fprintf(&b, "workflow = %s\n", strconv.Quote(tp.Workflow))
			if tp.Environment != "" {
				fmt.Fprintf(&b, "environment = %s\n", strconv.Quote(tp.Environment))
			}
		} else {
			b.WriteString("# [package.trust_policy] # what you registered as trusted publisher; doctor checks it\n")
			b.WriteString("# workflow = \"release.yml\"\n# environment = \"release\"\n")
		}
	}
	return []byte(b.String())
}

const exampleBlocks = `
# No Cargo.toml, pyproject.toml or package.json to release was found. Uncomment and adapt one block per package you release.

# [[package]]
# name = "my-crate"
# kind = "crates"
# path = "crates/my-crate"          # the directory holding Cargo.toml
# paths = ["crates/my-crate/**"]    # changes here release this package
# # depends_on = ["other-package"]

# [[package]]
# name = "my-python-lib"
# kind = "pypi"
# path = "python/my-python-lib"     # the directory holding pyproject.toml
# paths = ["python/my-python-lib/**"]
# # build = "maturin"               # setuptools (default) | hatch | maturin
# # targets = ["x86_64-unknown-linux-gnu", "aarch64-apple-darwin"]

# [[package]]
# name = "my-js-lib"
# kind = "npm"
# path = "js/my-js-lib"             # the directory holding package.json
# paths = ["js/my-js-lib/**"]
# # npm = "@my-org/my-js-lib"       # the registry name, when it differs
# # build = "napi"                  # napi | bundled-cli; omit for plain JS

# [package.trust_policy]            # optional, per package
# workflow = "release.yml"
# environment = "release"
# repository = "my-org/my-repo"
`
