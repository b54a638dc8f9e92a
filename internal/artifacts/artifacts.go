// Package artifacts checks what the build job left in artifacts/ before
// publish touches anything: every matrix row's folder exists and holds the
// file type it should (completeness), and each file's own metadata matches the
// planned name and version (packaging). Files are never read whole: archives
// are opened through their index or streamed, so a huge or sparse file costs
// nothing.
package artifacts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/platform"
	"github.com/putitoutthere/putitoutthere/internal/pydist"
)

// Dir is the folder, relative to the repository root, the build job's
// artifacts are downloaded into.
const Dir = "artifacts"

// MaxFileSize is the largest artifact file accepted. No registry takes more
// than this; anything bigger is a mistake (or a placeholder) and is refused
// without being read.
var MaxFileSize int64 = 1 << 30

// Gap is one missing or unusable artifact.
type Gap struct {
	Package  string `json:"package"`
	Artifact string `json:"artifact"` // the row's artifact_name
	Expected string `json:"expected"` // what should be there, e.g. artifacts/x-crate/*.crate
	Problem  string `json:"problem"`
}

func (g Gap) String() string {
	return fmt.Sprintf("%s: %s (expected %s)", g.Package, g.Problem, g.Expected)
}

// FamilyCheck judges a platform-payload row of an npm napi/bundled-cli
// package. nil means "the folder must hold at least one file".
var FamilyCheck func(row plan.Row, dir string) []string

// Check verifies every row's artifacts/{artifact_name}/ under root (the
// repository root) and returns every gap, in row order.
func Check(root string, rows []plan.Row) []Gap {
	var gaps []Gap
	base := filepath.Join(root, Dir)
	for _, row := range rows {
		dir := filepath.Join(base, row.ArtifactName)
		rel := filepath.ToSlash(filepath.Join(Dir, row.ArtifactName))
		want, exts := expectation(row)
		gap := func(problem string) {
			gaps = append(gaps, Gap{Package: row.Name, Artifact: row.ArtifactName, Expected: rel + "/" + want, Problem: problem})
		}
		fi, err := os.Lstat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			gap(fmt.Sprintf("%s/ does not exist", rel))
			continue
		case err != nil:
			gap(fmt.Sprintf("%s/: %v", rel, err))
			continue
		case fi.Mode()&fs.ModeSymlink != 0:
			if _, err := Inside(base, dir); err != nil {
				gap(err.Error())
				continue
			}
		case !fi.IsDir():
			gap(fmt.Sprintf("%s is not a directory", rel))
			continue
		}
		files, problems := List(base, dir)
		for _, p := range problems {
			gap(p)
		}
		if len(files) == 0 && len(problems) == 0 {
			gap(fmt.Sprintf("%s/ is empty", rel))
			continue
		}
		if isFamilyRow(row) {
			if FamilyCheck != nil {
				for _, p := range FamilyCheck(row, dir) {
					gap(p)
				}
			}
			continue
		}
		if len(exts) > 0 && len(Match(files, exts...)) == 0 && len(files) > 0 {
			gap(fmt.Sprintf("%s/ holds no %s file", rel, strings.Join(exts, " or ")))
		}
		for _, p := range wheelPlatformProblems(row, files) {
			gap(p)
		}
	}
	return gaps
}

// wheelPlatformProblems: a maturin target row's wheels must be built for its
// triple (a wheel from the wrong runner would install nowhere it is wanted).
func wheelPlatformProblems(row plan.Row, files []File) []string {
	if row.Kind != config.KindPyPI || row.Target == "sdist" || row.Target == "noarch" || row.Target == "" {
		return nil
	}
	var out []string
	for _, f := range Match(files, ".whl") {
		name := filepath.Base(f.Rel)
		w, err := pydist.ParseWheelFilename(name)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		ok, err := platform.WheelFits(row.Target, w.Platform)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", name, err))
		} else if !ok {
			out = append(out, fmt.Sprintf("%s is a %s wheel, but row %s is for %s (want %s)", name, w.Platform, row.ArtifactName, row.Target, platform.WheelExpect(row.Target)))
		}
	}
	return out
}

// expectation is what a row's folder must hold: a glob for messages and the
// accepted file names (suffixes).
func expectation(row plan.Row) (string, []string) {
	switch row.Kind {
	case config.KindCrates:
		return "*.crate", []string{".crate"}
	case config.KindPyPI:
		if row.Target == "sdist" {
			return "*.tar.gz", []string{".tar.gz"}
		}
		return "*.whl", []string{".whl"}
	case config.KindNPM:
		if isFamilyRow(row) {
			return "* (the " + row.Target + " payload)", nil
		}
		return "package.json or *.tgz", []string{"package.json", ".tgz"}
	}
	return "*", nil
}

// isFamilyRow: a platform payload row of an npm napi/bundled-cli package.
func isFamilyRow(row plan.Row) bool {
	return row.Kind == config.KindNPM && (row.Build == config.BuildNapi || row.Build == config.BuildBundledCLI) && row.Target != "main" && row.Target != "noarch"
}

// File is a regular file found in an artifact folder.
type File struct {
	Path string // absolute (symlinks resolved)
	Rel  string // relative to the artifact folder, slash-separated
	Size int64
}

// maxDepth bounds the walk: download-artifact keeps the build's relative
// layout, which is shallow.
const maxDepth = 6

// List returns the regular files under dir (symlinks resolved and kept only
// when they stay inside base), and a problem line for each file refused.
func List(base, dir string) ([]File, []string) {
	var files []File
	var problems []string
	realDir, err := Inside(base, dir)
	if err != nil {
		return nil, []string{err.Error()}
	}
	_ = filepath.WalkDir(realDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", p, err))
			return nil
		}
		rel, _ := filepath.Rel(realDir, p)
		if d.IsDir() {
			if rel != "." && strings.Count(filepath.ToSlash(rel), "/") >= maxDepth {
				return fs.SkipDir
			}
			return nil
		}
		target := p
		if d.Type()&fs.ModeSymlink != 0 {
			t, err := Inside(base, p)
			if err != nil {
				problems = append(problems, err.Error())
				return nil
			}
			target = t
		}
		fi, err := os.Stat(target)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", p, err))
			return nil
		}
		if fi.IsDir() {
			return nil // a symlinked directory: not walked
		}
		if !fi.Mode().IsRegular() {
			// A FIFO, socket or device where a file is expected (a wheel named
			// x.whl that is a pipe) would be skipped and the release would
			// report success with a file missing: it is a problem.
			problems = append(problems, fmt.Sprintf("%s is not a regular file (%s); artifacts must be plain files", filepath.ToSlash(filepath.Join(Dir, filepath.Base(dir), rel)), fi.Mode().Type()))
			return nil
		}
		if fi.Size() > MaxFileSize {
			problems = append(problems, fmt.Sprintf("%s is %s, over the %s limit for an artifact (is it a placeholder?)", filepath.ToSlash(filepath.Join(Dir, filepath.Base(dir), rel)), humanSize(fi.Size()), humanSize(MaxFileSize)))
			return nil
		}
		files = append(files, File{Path: target, Rel: filepath.ToSlash(rel), Size: fi.Size()})
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i].Rel < files[j].Rel })
	return files, problems
}

// Match returns the files whose name ends with one of suffixes (a suffix
// without a dot, like package.json, must be the whole base name).
func Match(files []File, suffixes ...string) []File {
	var out []File
	for _, f := range files {
		name := filepath.Base(f.Rel)
		for _, s := range suffixes {
			if (strings.HasPrefix(s, ".") && strings.HasSuffix(name, s) && len(name) > len(s)) || name == s {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// Inside resolves p's symlinks and returns the real path when it stays inside
// root (itself resolved); otherwise an error naming both.
func Inside(root, p string) (string, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("%s: %w", root, err)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	rel, err := filepath.Rel(realRoot, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("%s points outside %s (to %s); refusing to follow it", p, root, real)
	}
	return real, nil
}

// Folder returns the files of one row's artifact folder (nil when absent).
func Folder(root string, row plan.Row) []File {
	base := filepath.Join(root, Dir)
	files, _ := List(base, filepath.Join(base, row.ArtifactName))
	return files
}

// humanSize says a size the way a maintainer reads it (2.0 GiB, not
// 2147483648 bytes).
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 3; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGT"[exp])
}
