package rules

import (
	"strings"

	"github.com/Masterminds/semver/v3"
)

const (
	srcLibnpmpublish = "npm/cli workspaces/libnpmpublish/lib/publish.js"
	srcNPMRegistry   = "the npm registry's provenance verification (answer recorded in protocols.md §npm), reached through " + srcLibnpmpublish
)

// NPMRules is npm's table: what npm publish (libnpmpublish) refuses before
// sending, and what the registry refuses that can be known offline.
var NPMRules = register([]*Rule{
	{ID: "npm/private", Registry: NPM, Status: 0, Source: srcLibnpmpublish + " (EPRIVATE)", Coverage: Full,
		Text: "This package has been marked as private\nRemove the 'private' field from the package.json to publish it.",
		Fix:  "remove \"private\": true from package.json (or stop declaring the package in putitoutthere.toml)"},
	{ID: "npm/invalid-semver", Registry: NPM, Status: 0, Source: srcLibnpmpublish + " (EBADSEMVER)", Coverage: Full,
		Text: "invalid semver: {version}",
		Fix:  "use a semver version"},
	{ID: "npm/unscoped-restricted", Registry: NPM, Status: 0, Source: srcLibnpmpublish + " (EUNSCOPED)", Coverage: Full,
		Text: "Can't restrict access to unscoped packages.",
		Fix:  "publish unscoped packages with access public, or scope the package name"},
	{ID: "npm/provenance-repository", Registry: NPM, Status: 422, Source: srcNPMRegistry, Coverage: Full,
		Text: "Error verifying sigstore provenance bundle: Failed to validate repository information: package.json: \"repository.url\" is \"{value}\", expected to match \"{expected}\" from provenance",
		Fix:  "set repository.url in package.json to the GitHub repository that publishes it"},
})

// NPMPackage applies the npm rules to a package.json. access is the
// configured access ("" = public); repository is owner/repo when the
// package is published with provenance, and slug reads owner/repo from a
// repository URL.
func NPMPackage(name, version string, private bool, access, repoURL, repository string, slug func(string) string) []Violation {
	var out []Violation
	if private {
		out = append(out, violate("npm/private"))
	}
	if _, err := semver.StrictNewVersion(version); err != nil && version != "" {
		out = append(out, violate("npm/invalid-semver", "version", version))
	}
	if access == "restricted" && !strings.HasPrefix(name, "@") {
		out = append(out, violate("npm/unscoped-restricted"))
	}
	if repository != "" && slug != nil && slug(repoURL) != repository {
		out = append(out, violate("npm/provenance-repository", "value", repoURL, "expected", "https://github.com/"+repository))
	}
	return out
}
