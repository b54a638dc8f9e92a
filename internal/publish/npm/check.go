package npm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/artifacts"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	"github.com/putitoutthere/putitoutthere/internal/run"
	"github.com/putitoutthere/putitoutthere/internal/siblings"
)

var _ publish.Checker = (*Handler)(nil)

// Check implements publish.Checker, before the first upload of the run:
// every `workspace:` range of the folder npm will publish must resolve to a
// package of the workspace (it is replaced at publish), and the files its
// main, module, types, bin and exports name must be in what `npm pack`
// would pack. Tarballs are checked by the packaging check (their contents
// are final).
func (h *Handler) Check(ctx context.Context, j publish.Job) []string {
	path, isDir := target(j)
	if isFamily(j) {
		path, isDir = mainPackage(j)
	}
	if !isDir {
		return nil
	}
	var out []string
	ws, _ := manifest.NPMWorkspace(j.Root)
	src := filepath.Join(j.Root, filepath.FromSlash(j.Package.Path))
	if _, err := manifest.ReplaceWorkspaceProtocol(path, src, ws, j.RunVersions[config.KindNPM], true); err != nil {
		var de *diag.Error
		if errors.As(err, &de) && len(de.Details) > 0 {
			for _, d := range de.Details {
				out = append(out, fmt.Sprintf("package.json %s: `workspace:` names no package of this repository; npm cannot install it from a registry", d))
			}
		} else {
			out = append(out, err.Error())
		}
	}
	out = append(out, h.packedEntries(ctx, j, path)...)
	return out
}

// packedEntries runs `npm pack --dry-run --json` in the folder and reports
// entry points missing from its file list. Scripts are not run: a check
// must not build or publish anything.
func (h *Handler) packedEntries(ctx context.Context, j publish.Job, dir string) []string {
	pj, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil // the packaging check reports a missing package.json
	}
	entries, err := artifacts.NpmEntries(pj)
	if err != nil || len(entries) == 0 {
		return nil
	}
	bundled := j.Package.Build == config.BuildBundledCLI
	if !bundled {
		// A file the folder lacks cannot be packed: no need to ask npm.
		if miss, _ := artifacts.MissingNpmEntriesOnDisk(pj, dir); len(miss) > 0 {
			return miss
		}
		// Everything is there, and with no "files" list or ignore file npm
		// packs all of it (its always-ignored names are never entry points).
		if !restrictsFiles(pj, dir) {
			return nil
		}
	}
	res, err := h.Runner.Run(ctx, run.Cmd{Dir: dir, Name: "npm", Args: []string{"pack", "--dry-run", "--json", "--ignore-scripts"}})
	if err != nil {
		var re *run.RunError
		if errors.As(err, &re) {
			return []string{"npm pack --dry-run failed: " + firstLine(res.Stderr)}
		}
		return nil // npm missing: the tool check reports it
	}
	files, err := artifacts.NpmPackFiles([]byte(res.Stdout))
	if err != nil {
		return []string{err.Error()}
	}
	if bundled {
		// The launcher named by bin is written at publish when absent.
		for _, e := range entries {
			if strings.HasPrefix(e.Field, "bin") {
				files = append(files, e.Path)
			}
		}
	}
	miss, _ := artifacts.MissingNpmEntries(pj, files)
	return miss
}

// replaceWorkspace writes the real versions over every `workspace:` range
// of the folder about to be published, as pnpm and yarn do when they pack,
// and, in a copy under artifacts/, the sibling requirements this run
// rewrites (publish wrote them in the repository's own package.json).
func (h *Handler) replaceWorkspace(j publish.Job, dir string) error {
	src := filepath.Join(j.Root, filepath.FromSlash(j.Package.Path))
	if filepath.Clean(dir) != filepath.Clean(src) {
		if err := siblings.ApplyTo(filepath.Join(dir, "package.json"), config.KindNPM, j.Requirements); err != nil {
			return err
		}
	}
	ws, err := manifest.NPMWorkspace(j.Root)
	if err != nil {
		return err
	}
	_, err = manifest.ReplaceWorkspaceProtocol(dir, src, ws, j.RunVersions[config.KindNPM], false)
	return err
}

// restrictsFiles: the package limits what npm packs (a "files" list, an
// .npmignore, or a .gitignore npm falls back to).
func restrictsFiles(pj []byte, dir string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(bytes.TrimPrefix(pj, []byte("\xef\xbb\xbf")), &m) == nil {
		if _, ok := m["files"]; ok {
			return true
		}
	}
	for _, f := range []string{".npmignore", ".gitignore"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}
