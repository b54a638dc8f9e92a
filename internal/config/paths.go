package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/diag"
)

// CheckPathsInRepo resolves every package's `path` (and bundle_cli paths)
// through symlinks and refuses any that lands outside repoRoot. Parse can
// only check the text; a symlink escape needs the checkout. Paths that do
// not exist are left to doctor's manifest check.
func CheckPathsInRepo(cfg *Config, repoRoot string) error {
	root, err := filepath.EvalSymlinks(repoRoot)
	if err != nil {
		return diag.Usage(CodeConfigPathEscape, "resolving repository root %s", repoRoot).Wrap(err).
			WithHint("run from a readable checkout, or pass --config with the path of putitoutthere.toml at its root")
	}
	root, err = filepath.Abs(root)
	if err != nil {
		return diag.Usage(CodeConfigPathEscape, "resolving repository root %s", repoRoot).Wrap(err).
			WithHint("run from a readable checkout, or pass --config with the path of putitoutthere.toml at its root")
	}
	var ps []Problem
	check := func(p *Package, key, rel string) {
		if rel == "" {
			return
		}
		if filepath.IsAbs(rel) || strings.HasPrefix(filepath.ToSlash(rel), "/") {
			ps = append(ps, Problem{File: displayName(cfg.File), Pos: keyPos(p, key), Package: p.Name, Key: key, Code: CodeConfigPathEscape,
				Msg: fmt.Sprintf("%q is absolute; it must be relative to the repository root", rel)})
			return
		}
		resolved, err := filepath.EvalSymlinks(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return
			}
			ps = append(ps, Problem{File: displayName(cfg.File), Pos: keyPos(p, key), Package: p.Name, Key: key, Code: CodeConfigPathEscape,
				Msg: fmt.Sprintf("%q cannot be resolved: %v", rel, err)})
			return
		}
		if r, err := filepath.Rel(root, resolved); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) || filepath.IsAbs(r) {
			ps = append(ps, Problem{File: displayName(cfg.File), Pos: keyPos(p, key), Package: p.Name, Key: key, Code: CodeConfigPathEscape,
				Msg: fmt.Sprintf("%q resolves through a symlink to %s, outside the repository", rel, resolved)})
		}
	}
	for i := range cfg.Packages {
		p := &cfg.Packages[i]
		check(p, "path", p.Path)
		if b := p.BundleCLI; b != nil && p.Path != "" {
			check(p, "bundle_cli.stage_to", filepath.ToSlash(filepath.Join(p.Path, b.StageTo)))
			check(p, "bundle_cli.crate_path", filepath.ToSlash(filepath.Join(p.Path, b.CratePath)))
		}
	}
	if len(ps) == 0 {
		return nil
	}
	e := problemsError(displayName(cfg.File), ps)
	e.Code = CodeConfigPathEscape
	e.Hint = "point `path` at a directory inside the repository; a symlink out of it would publish files git does not track"
	return e
}

// keyPos is where key was written, falling back to the package header.
func keyPos(p *Package, key string) Pos {
	if pos, ok := p.KeyPos[key]; ok {
		return pos
	}
	return p.Pos
}
