package npm

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/putitoutthere/putitoutthere/internal/fsx"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
)

// bumpedCopy returns a directory npm can dry-run publish at version: dir
// itself when its package.json already says version, else a temporary copy
// with the version written into the copy's package.json. The checkout is
// never edited: a dry run (the pull-request check) must leave it as it was,
// and npm refuses a dry run of a version already on the registry ("You cannot
// publish over the previously published versions"), which the committed,
// un-bumped version always is.
func (h *Handler) bumpedCopy(dir, version string) (string, func(), error) {
	none := func() {}
	data, err := safefile.ReadFile(filepath.Join(dir, "package.json"), safefile.MaxManifest)
	if err != nil {
		return dir, none, nil // npm reports it in its own words
	}
	var m struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(data, &m) == nil && m.Version == version {
		return dir, none, nil
	}
	tmp, err := os.MkdirTemp(h.TempDir, "piot-npm-dry-run-")
	if err != nil {
		return "", none, fmt.Errorf("creating a copy to dry-run: %w", err)
	}
	cleanup := func() { os.RemoveAll(tmp) }
	dst := filepath.Join(tmp, filepath.Base(dir))
	if err := copyTree(dir, dst); err != nil {
		cleanup()
		return "", none, fmt.Errorf("copying %s to dry-run it: %w", dir, err)
	}
	if _, err := manifest.SetVersion("npm", dst, version); err != nil {
		cleanup()
		return "", none, fmt.Errorf("writing version %s into the dry-run copy of %s: %w", version, filepath.Join(dir, "package.json"), err)
	}
	return dst, cleanup, nil
}

// copyTree copies src to dst: files with their modes, symlinks as links,
// and node_modules as a link to the original (npm reads bundled
// dependencies from it; copying it would be slow). .git is left out.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && d.Name() == ".git" && rel != ".":
			return filepath.SkipDir
		case d.IsDir() && d.Name() == "node_modules":
			if err := os.Symlink(p, target); err != nil {
				return err
			}
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		return fsx.CopyFile(p, target)
	})
}
