package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/initcmd"
)

// Codes raised by init.
const (
	CodeInitNothingWritten = "PIOT_INIT_NOTHING_WRITTEN"
	CodeInitWrite          = "PIOT_INIT_WRITE"
	CodeInitSymlink        = "PIOT_INIT_SYMLINK"
	CodeInitDetect         = "PIOT_INIT_DETECT"
)

func newInitCmd(app *App) *cobra.Command {
	var cadence string
	var force, dryRun bool
	c := &cobra.Command{
		Use:   "init",
		Short: "Write putitoutthere.toml, the release workflows and the agent notes",
		Long: `init looks for Cargo.toml, pyproject.toml and package.json at any depth of
the repository (leaving out workspace roots, publish = false, private npm
packages, test fixtures, examples, benches and tools), reads each package's
tag scheme from the existing tags and the trusted publishers of existing
publish workflows, and writes:

  putitoutthere.toml                         one [[package]] per manifest found
  .github/workflows/release.yml              plan -> build -> publish
  .github/workflows/putitoutthere-check.yml  doctor + publish --dry-run on PRs
  putitoutthere/AGENTS.md                    the release: trailer convention
  CLAUDE.md                                  gains the line @putitoutthere/AGENTS.md

Existing files are left alone unless --force is given; when release.yml is
another workflow, the release workflow is written under a free name.
--dry-run prints what would be written and why, writing nothing.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			root := initcmd.RepoRoot(cmd.Context(), app.Cwd)
			opt := initcmd.Options{Root: root, Force: force, DryRun: dryRun}
			if cmd.Flags().Changed("cadence") {
				if cadence != config.CadenceImmediate && cadence != config.CadenceScheduled {
					return diag.Usage(diag.CodeUsage, "--cadence %q: must be immediate or scheduled", cadence).
						WithHint("immediate releases on every push to main; scheduled on a cron (e.g. --cadence scheduled)")
				}
				opt.Cadence = cadence
			}
			res, err := initcmd.Run(cmd.Context(), opt)
			var se *initcmd.SymlinkError
			if errors.As(err, &se) {
				return diag.New(CodeInitSymlink, "init: %v", err).Wrap(err).
					WithHint("replace %s with a regular file or directory (or remove it) and re-run; nothing was written through it", se.Link)
			}
			if err != nil {
				var gen *initcmd.GeneratedInvalidError
				if errors.As(err, &gen) {
					return diag.New(CodeInitDetect, "init: %v", err).Wrap(err).
						WithHint("nothing was written; run `putitoutthere init --dry-run` to see what was detected, and write putitoutthere.toml by hand from it (docs/adopting.md)")
				}
				return diag.New(CodeInitWrite, "init: %v", err).Wrap(err).
					WithHint("fix the path or permission named above and re-run; files already written are kept (and skipped on the re-run)")
			}
			if app.JSON {
				if err := app.PrintJSON(res); err != nil {
					return err
				}
				if len(res.Written) == 0 && !res.DryRun {
					return diag.ErrSilent
				}
				return nil
			}
			if !samePath(root, app.Cwd) {
				fmt.Fprintf(app.Out, "writing at the repository root %s\n", root)
			}
			printInit(app, res)
			if res.DryRun {
				return nil
			}
			if len(res.Written) == 0 {
				return diag.New(CodeInitNothingWritten, "init wrote nothing: every file already exists").
					WithHint("pass --force to overwrite them")
			}
			return nil
		},
	}
	c.Flags().StringVar(&cadence, "cadence", config.CadenceImmediate, "release cadence for the workflow template: immediate|scheduled")
	c.Flags().BoolVar(&force, "force", false, "overwrite existing files")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be written and why; write nothing")
	return c
}

// samePath compares directories after resolving symlinks (macOS /tmp).
func samePath(a, b string) bool {
	ra, errA := filepath.EvalSymlinks(a)
	rb, errB := filepath.EvalSymlinks(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return ra == rb
}

func printInit(app *App, res *initcmd.Result) {
	w := app.Out
	if len(res.Packages) == 0 {
		fmt.Fprintln(w, "found no Cargo.toml, pyproject.toml or package.json to release; putitoutthere.toml has commented examples")
	} else {
		fmt.Fprintf(w, "found %d package(s):\n", len(res.Packages))
		for _, p := range res.Packages {
			extra := ""
			if p.RegistryName != p.Name {
				extra = fmt.Sprintf(" (published as %s)", p.RegistryName)
			}
			if p.Build != "" {
				extra += fmt.Sprintf(" build=%s", p.Build)
			}
			fmt.Fprintf(w, "  %-8s %s at %s%s\n", p.Kind, p.Name, p.Path, extra)
			if p.Version != "" {
				fmt.Fprintf(w, "           version %s\n", p.Version)
			}
			if len(p.DependsOn) > 0 {
				fmt.Fprintf(w, "           depends on %s\n", strings.Join(p.DependsOn, ", "))
			}
			switch {
			case p.Group != "":
				fmt.Fprintf(w, "           released with group %s\n", p.Group)
			case p.TagFormat != "":
				fmt.Fprintf(w, "           tags %s: %s\n", p.TagFormat, p.TagEvidence)
			}
			for _, f := range p.PreviousTagFormats {
				fmt.Fprintf(w, "           earlier tags %s\n", f)
			}
			if tp := p.TrustPolicy; tp != nil {
				fmt.Fprintf(w, "           trusted publisher: workflow %s, environment %q (from %s)\n", tp.Workflow, tp.Environment, tp.From)
			}
			for _, n := range p.Notes {
				fmt.Fprintf(w, "           note: %s\n", n)
			}
		}
	}
	for _, g := range res.Groups {
		fmt.Fprintf(w, "group %s (%s): %s, tag %s", g.Name, g.Why, strings.Join(g.Members, ", "), g.TagFormat)
		if g.TagEvidence != "" {
			fmt.Fprintf(w, "; %s", g.TagEvidence)
		}
		fmt.Fprintln(w)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, s := range res.Ignored {
		fmt.Fprintf(w, "  left out %s: %s\n", s.File, s.Reason)
	}
	for _, warning := range res.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warning)
	}
	if res.TagFormatHint && (len(res.Packages) == 1 || !initcmd.UsesV(res.Packages, res.Groups)) {
		if len(res.Packages) == 1 {
			fmt.Fprintln(w, "the history has v* tags: tag_format = \"v{version}\" continues them")
		} else if len(res.Packages) > 1 {
			fmt.Fprintln(w, "the history has v* tags: see the tag_format comment in putitoutthere.toml")
		}
	}
	if res.DryRun {
		for _, p := range res.Plan {
			fmt.Fprintf(w, "would write %s: %s\n", p.File, p.Why)
		}
		for _, f := range res.Skipped {
			fmt.Fprintf(w, "would skip %s (exists; --force overwrites it)\n", f)
		}
		fmt.Fprintf(w, "\n%s would be:\n\n%s", initcmd.FileConfig, res.Config)
		fmt.Fprintln(w, "\n(dry run: nothing was written)")
		return
	}
	for _, f := range res.Written {
		fmt.Fprintf(w, "wrote %s\n", f)
	}
	for _, f := range res.Skipped {
		why := "exists; --force overwrites it"
		if f == initcmd.FileClaude {
			why = "already imports " + initcmd.ClaudeImport
		}
		fmt.Fprintf(w, "skipped %s (%s)\n", f, why)
	}
	if len(res.Written) > 0 {
		fmt.Fprintln(w, strings.TrimSpace(`
next:
  1. review putitoutthere.toml (depends_on, trust_policy) and the build steps in release.yml
  2. register release.yml and environment "release" as trusted publisher on each registry
  3. run: putitoutthere doctor`))
	}
}
