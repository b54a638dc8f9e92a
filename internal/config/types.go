// Package config reads and validates putitoutthere.toml (SPEC §2).
//
// The types here are the contract the rest of the tool reads; Load fills them
// and reports every problem with file, line, column and key.
package config

import "strings"

// FileName is the config file's name at the repository root.
const FileName = "putitoutthere.toml"

// Kinds of package.
const (
	KindCrates = "crates"
	KindPyPI   = "pypi"
	KindNPM    = "npm"
)

// Build modes.
const (
	BuildSetuptools = "setuptools"
	BuildHatch      = "hatch"
	BuildMaturin    = "maturin"
	BuildNapi       = "napi"
	BuildBundledCLI = "bundled-cli"
)

// Pos is a 1-based position in the config file.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// Config is a parsed, validated putitoutthere.toml.
type Config struct {
	File     string // path as given to Load
	Version  int
	Cadence  string // immediate | scheduled
	Packages []Package
	Groups   []Group // [[group]] blocks, in file order
}

// Group is one [[group]] block: packages released in lockstep, at one
// version, with one tag and one GitHub Release.
type Group struct {
	Name               string
	TagFormat          string   // {name} is the group's name
	PreviousTagFormats []string // read only
	Members            []string // names of the packages with group = Name, in config order

	Pos    Pos
	KeyPos map[string]Pos
}

// TagFormats is the group's tag_format followed by its previous ones.
func (g *Group) TagFormats() []string {
	return append([]string{g.TagFormat}, g.PreviousTagFormats...)
}

// Group returns the group named name, or nil.
func (c *Config) Group(name string) *Group {
	for i := range c.Groups {
		if c.Groups[i].Name == name {
			return &c.Groups[i]
		}
	}
	return nil
}

// Package is one [[package]] block.
type Package struct {
	Name         string
	Kind         string
	Path         string   // directory holding the manifest, relative to the repo root, slash-separated
	Paths        []string // globs anchored at the repo root
	DependsOn    []string
	FirstVersion string // default 0.1.0; used only when the manifest carries no version
	TagFormat    string // default {name}-v{version}; a group member's is its group's, with the group name in place of {name}
	// PreviousTagFormats are tag schemes used before adopting (read only):
	// their tags are releases too (SPEC §3 "Adoption").
	PreviousTagFormats []string
	// Group is the lockstep group the package releases with ("" for none).
	Group string
	// MemberName (npm napi/bundled-cli) names the platform packages of a
	// family that already has published names, e.g.
	// "@biomejs/cli-{os}-{cpu}{libc}"; "" means "{npmname}-{triple}".
	MemberName    string
	BuildWorkflow string
	TrustPolicy   *TrustPolicy
	// Auth is how the package is meant to authenticate: "oidc" (trusted
	// publishing, the default) or "token" (a registry token the publish
	// step is given). init writes a token variable into the workflow only
	// for "token" packages; doctor reports a token variable that would
	// shadow OIDC for an "oidc" one. "" means "oidc".
	Auth string

	// crates
	Crate             string
	Features          []string
	NoDefaultFeatures bool

	// pypi
	PyPI      string
	BundleCLI *BundleCLI
	// NoAttestations is `attestations = false`: upload without PEP 740
	// publish attestations (made by default with trusted publishing).
	NoAttestations bool

	// npm
	NPM    string
	Access string // public (default) | restricted
	Tag    string // dist-tag, default latest
	// NPMPublish is how versions reach npm: NPMPublishAuto (default),
	// NPMPublishDirect (`npm publish`) or NPMPublishStaged (`npm stage
	// publish`, live once a maintainer approves).
	NPMPublish string

	// pypi (setuptools|hatch|maturin) and npm (napi|bundled-cli|"")
	Build   string
	Targets []Target

	Pos    Pos            // position of the [[package]] header
	KeyPos map[string]Pos // position of each key, e.g. "path", "trust_policy.workflow"

	depPos []Pos // position of each depends_on item, for messages
}

// UsesToken reports whether the config says the package authenticates with
// a registry token rather than trusted publishing.
func (p *Package) UsesToken() bool { return p.Auth == AuthToken }

// Package auth modes.
const (
	AuthOIDC  = "oidc"
	AuthToken = "token"
)

// Target is a build target: a triple and an optional runner label.
type Target struct {
	Triple string `json:"triple"`
	Runner string `json:"runner,omitempty"`
}

// BundleCLI is pypi's bundle_cli table (maturin only).
type BundleCLI struct {
	Bin       string `json:"bin"`
	StageTo   string `json:"stage_to"`
	CratePath string `json:"crate_path"`
}

// TrustPolicy is [package.trust_policy]: what the maintainer says is registered
// with the registry's trusted publisher.
type TrustPolicy struct {
	Workflow    string // bare filename
	Environment string
	Repository  string // owner/repo
	Pos         Pos
}

// RegistryName is the name the package is published under.
func (p *Package) RegistryName() string {
	switch p.Kind {
	case KindCrates:
		if p.Crate != "" {
			return p.Crate
		}
	case KindPyPI:
		if p.PyPI != "" {
			return p.PyPI
		}
	case KindNPM:
		if p.NPM != "" {
			return p.NPM
		}
	}
	return p.Name
}

// TagFor renders the package's tag for version.
func (p *Package) TagFor(version string) string {
	f := p.TagFormat
	if f == "" {
		f = DefaultTagFormat
	}
	return strings.NewReplacer("{name}", p.Name, "{version}", version).Replace(f)
}

// TagFormats is the package's tag_format followed by its
// previous_tag_formats: every scheme whose tags are its releases.
func (p *Package) TagFormats() []string {
	f := p.TagFormat
	if f == "" {
		f = DefaultTagFormat
	}
	return append([]string{f}, p.PreviousTagFormats...)
}

// Defaults.
const (
	DefaultTagFormat    = "{name}-v{version}"
	DefaultFirstVersion = "0.1.0"
)

// Package returns the package named name, or nil.
func (c *Config) Package(name string) *Package {
	for i := range c.Packages {
		if c.Packages[i].Name == name {
			return &c.Packages[i]
		}
	}
	return nil
}

// npm_publish values.
const (
	NPMPublishAuto   = "auto"
	NPMPublishDirect = "direct"
	NPMPublishStaged = "staged"
)
