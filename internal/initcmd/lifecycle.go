package initcmd

import (
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
)

// lifecycleWarnings: an npm package's prepublishOnly / prepublish / publish
// script runs inside `npm publish` in the publish job (the same check doctor
// makes). A platform family is published with --ignore-scripts, so only
// single packages are reported.
func lifecycleWarnings(root string, found []Found) []string {
	var out []string
	for _, f := range found {
		if f.Kind != config.KindNPM || f.Build == config.BuildNapi || f.Build == config.BuildBundledCLI {
			continue
		}
		rel := path.Join(f.Path, "package.json")
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			continue
		}
		for _, s := range manifest.PublishLifecycleScripts(data) {
			if s.Publishes {
				out = append(out, fmt.Sprintf("%s: %s `%s` publishes packages itself inside `npm publish`, outside the release order; for napi-rs platform packages set build = \"napi\" and targets, otherwise remove the script", rel, s.Name, s.Command))
			} else {
				out = append(out, fmt.Sprintf("%s: %s `%s` runs inside `npm publish`, in the publish job, where dependencies are not installed; move it into the `build` script, which the build job runs", rel, s.Name, s.Command))
			}
		}
	}
	return out
}
