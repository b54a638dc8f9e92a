package doctor

import (
	"fmt"
	"path/filepath"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
)

// Codes for npm lifecycle scripts that run inside `npm publish`.
const (
	CodeLifecyclePublishes = "PIOT_DOCTOR_NPM_SCRIPT_PUBLISHES"
	CodeLifecycleScript    = "PIOT_DOCTOR_NPM_PUBLISH_SCRIPT"
)

// npmLifecycleChecks: a prepublishOnly / prepublish / publish script runs
// inside `npm publish`, in the publish job, after the packages before it
// shipped. One that publishes (napi-rs's `napi prepublish -t npm`) would put
// packages on npm outside the release's order; any other fails there when
// its tools are not installed (exit 127 in the publish job). A platform
// family is published with --ignore-scripts, so its scripts are only noted.
func npmLifecycleChecks(st *state, p *Phase) {
	for i := range st.cfg.Packages {
		pkg := &st.cfg.Packages[i]
		if pkg.Kind != config.KindNPM {
			continue
		}
		rel := filepath.ToSlash(filepath.Join(pkg.Path, "package.json"))
		data, err := safefile.ReadFile(filepath.Join(st.opt.Root, filepath.FromSlash(rel)), safefile.MaxWorkflow)
		if err != nil {
			continue // the manifest check reported it
		}
		family := pkg.Build == config.BuildNapi || pkg.Build == config.BuildBundledCLI
		for _, s := range manifest.PublishLifecycleScripts(data) {
			switch {
			case family:
				p.add(Neutral, fmt.Sprintf("%s: %s script `%s` is not run: the platform family is published with --ignore-scripts, members first", label(pkg), s.Name, s.Command))
			case s.Publishes:
				p.add(Fail, fmt.Sprintf("%s: the %s script publishes on its own", label(pkg), s.Name), Issue{
					Code: CodeLifecyclePublishes, Severity: SevError, File: rel,
					Message: fmt.Sprintf("package `%s`: %s `\"%s\": %q` runs inside `npm publish` and publishes packages itself, outside the order putitoutthere publishes in", pkg.Name, rel, s.Name, s.Command),
					Hint:    "for napi-rs platform packages set `build = \"napi\"` and `targets` in putitoutthere.toml (publish then publishes the family itself, with --ignore-scripts); otherwise remove the script",
				})
			default:
				p.add(Warn, fmt.Sprintf("%s: the %s script runs inside npm publish", label(pkg), s.Name), Issue{
					Code: CodeLifecycleScript, Severity: SevWarning, File: rel,
					Message: fmt.Sprintf("package `%s`: %s `\"%s\": %q` runs inside `npm publish`, in the publish job, where the package's dependencies are not installed; if it fails there, the packages before it have already shipped", pkg.Name, rel, s.Name, s.Command),
					Hint:    "move the command into the package's `build` script (the build job runs it, and publish checks the files it makes) and remove it from " + s.Name,
				})
			}
		}
	}
}
