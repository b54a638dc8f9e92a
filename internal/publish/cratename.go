package publish

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
)

// CodeCrateNameMismatch: a crate's Cargo.toml names another crate than the
// one the plan releases.
const CodeCrateNameMismatch = "PIOT_CRATE_NAME_MISMATCH"

// checkCrateNames: the Cargo.toml at a crate's path must name the crate the
// plan releases. Otherwise what ships (cargo packages the source tree by its
// manifest's name) would be another crate, tagged and released as the
// planned one. Checked for every crate before the first upload.
func (r *flow) checkCrateNames(ctx context.Context) error {
	var bad []string
	for _, j := range r.jobs {
		if j.Package.Kind != config.KindCrates || r.published[j.Package.Name] {
			continue
		}
		dir := filepath.Join(r.o.Root, filepath.FromSlash(j.Package.Path))
		name, _, err := manifest.ReadName(config.KindCrates, dir)
		if err != nil {
			if diag.CodeOf(err) == manifest.CodeManifestMissing {
				continue // shipped from its .crate artifact, which packaging checked
			}
			bad = append(bad, fmt.Sprintf("%s: %v", j.Package.Name, err))
			continue
		}
		if name != j.Name() {
			bad = append(bad, fmt.Sprintf("%s: %s/Cargo.toml names crate %q, the plan releases %q", j.Package.Name, j.Package.Path, name, j.Name()))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	e := diag.New(CodeCrateNameMismatch, "a crate's Cargo.toml does not name the crate being released; nothing was published")
	e.Details = bad
	return e.WithHint("make [package] name in Cargo.toml and the package's name (or registry_name) in %s agree", r.o.Config.File)
}
