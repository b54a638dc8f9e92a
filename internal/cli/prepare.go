package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	"github.com/putitoutthere/putitoutthere/internal/repo"
	"github.com/putitoutthere/putitoutthere/internal/siblings"
)

// CodeNotPlanned: prepare was asked for a package the plan does not release.
const CodeNotPlanned = "PIOT_PREPARE_NOT_PLANNED"

func newPrepareCmd(app *App) *cobra.Command {
	var pkgs []string
	cmd := &cobra.Command{
		Use:   "prepare",
		Short: "Write the planned versions and sibling requirements into the checkout, for the build job",
		Long: `Write into the checkout what publish will write: every planned version
(Cargo.toml, the workspace's when inherited; pyproject.toml, or the Cargo.toml
maturin reads a dynamic version from; package.json) and every sibling
requirement the plan rewrites (a dependent's requirement that does not accept
its sibling's new version), with the same format-preserving writer publish
uses. Run it in the build job before building, so the artifacts carry exactly
what publish checks.

The whole plan is written, so path dependencies between packages of the
release resolve at their new versions. --package NAME (repeatable) fails when
NAME is not in the plan, which would mean the build matrix and the plan
disagree. Like plan, it needs the full history (fetch-depth: 0).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPrepare(cmd, app, pkgs) },
	}
	cmd.Flags().StringArrayVar(&pkgs, "package", nil, "a package the build job builds (its name in putitoutthere.toml); it must be in the plan")
	return cmd
}

type prepareVersion struct {
	Package string `json:"package"`
	Version string `json:"version"`
	File    string `json:"file,omitempty"`
	Note    string `json:"note,omitempty"`
}

type prepareReport struct {
	Versions     []prepareVersion `json:"versions"`
	Requirements []siblings.Edit  `json:"requirements"`
}

func runPrepare(cmd *cobra.Command, app *App, names []string) error {
	cfg, err := config.Load(app.ConfigFile())
	if err != nil {
		return err
	}
	for _, n := range names {
		if cfg.Package(n) == nil {
			return diag.Usage(config.CodeConfigInvalid, "--package %s: no such package in %s", n, cfg.File).
				WithHint("use the package's name from putitoutthere.toml (the matrix row's `name`)")
		}
	}
	p, err := repo.PlanFor(cmd.Context(), app.Cwd, cfg)
	if err != nil {
		return err
	}
	for _, n := range names {
		if p.Release(n) == nil {
			return diag.New(CodeNotPlanned, "%s is not in the plan; nothing to build for it", n).
				WithHint("the build matrix comes from `putitoutthere plan` at the same commit; build the rows the plan job printed")
		}
	}
	edits, err := siblings.Compute(app.Cwd, cfg, siblings.Versions(p))
	if err != nil {
		return diag.New(manifest.CodeManifestInvalid, "reading the packages' requirements").Wrap(err)
	}
	if bad := siblings.Check(app.Cwd, edits); len(bad) > 0 {
		e := diag.New(publish.CodeManifestWrite, "%d sibling requirement(s) cannot be rewritten in place; nothing was written", len(bad))
		e.Details = bad
		return e.WithHint("write each requirement named above as a plain string (version = \"…\")")
	}
	rep := prepareReport{Versions: []prepareVersion{}, Requirements: edits}
	if rep.Requirements == nil {
		rep.Requirements = []siblings.Edit{}
	}
	if err := siblings.Apply(app.Cwd, edits); err != nil {
		return diag.New(publish.CodeManifestWrite, "rewriting sibling requirements").Wrap(err)
	}
	for _, r := range p.Releases {
		pkg := cfg.Package(r.Name)
		dir := filepath.Join(app.Cwd, filepath.FromSlash(pkg.Path))
		v := prepareVersion{Package: r.Name, Version: r.Version}
		ch, err := manifest.SetVersion(pkg.Kind, dir, r.Version)
		switch {
		case err != nil && pkg.Kind == config.KindPyPI && diag.CodeOf(err) == manifest.CodeManifestMissing:
			v.Note = "no pyproject.toml; the build must set the version itself"
		case err != nil:
			return diag.New(publish.CodeManifestWrite, "writing version %s into %s's manifest", r.Version, r.Name).Wrap(err).
				WithHint("fix the manifest at %s", pkg.Path)
		default:
			v.File, v.Note = relPath(app.Cwd, ch.File), ch.Hint
		}
		rep.Versions = append(rep.Versions, v)
	}
	if app.JSON {
		return app.PrintJSON(rep)
	}
	if len(rep.Versions) == 0 {
		fmt.Fprintln(app.Out, "nothing to release; nothing written")
		return nil
	}
	for _, v := range rep.Versions {
		switch {
		case v.File != "":
			fmt.Fprintf(app.Out, "%s: version %s written into %s\n", v.Package, v.Version, v.File)
		default:
			fmt.Fprintf(app.Out, "%s: version %s\n", v.Package, v.Version)
		}
		if v.Note != "" {
			fmt.Fprintf(app.Out, "  %s\n", v.Note)
		}
	}
	for _, e := range rep.Requirements {
		fmt.Fprintf(app.Out, "%s: requirement on %s in %s [%s] %q → %q\n", e.Package, e.Sibling, e.File, e.Section, e.Old, e.New)
	}
	return nil
}

func relPath(root, p string) string {
	if p == "" {
		return ""
	}
	if r, err := filepath.Rel(root, p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}
