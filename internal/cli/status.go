package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	"github.com/putitoutthere/putitoutthere/internal/repo"
)

func newStatusCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show, per package, the last tag, the registry's latest version and any drift",
		Long: `Status shows, per package, its last release tag, the registry's latest version,
whether the tagged and the planned versions are published, and drift:
published-untagged (the registry has a version with no tag; the next publish
creates it) and tagged-unpublished (a tag whose version never reached the
registry). It needs no credentials. It exits 0 whatever the drift; a package
whose registry cannot be read is reported on its line and makes it exit 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := config.Load(app.ConfigFile())
			if err != nil {
				return err
			}
			tags, err := repo.LastTags(ctx, app.Cwd, cfg)
			if err != nil {
				return err
			}
			var warnings []string
			p, err := repo.PlanFor(ctx, app.Cwd, cfg)
			if err != nil {
				// A plan error (e.g. a malformed trailer) must not hide the state.
				warnings = append(warnings, "planned versions unknown: "+firstLineOf(err.Error()))
				p = nil
			}
			opts, err := publishOptions(ctx, app, cfg)
			if err != nil {
				return err
			}
			sts := publish.Status(ctx, publish.StatusOptions{Root: app.Cwd, Config: cfg, Env: app.Env, LastTags: tags, Plan: p, Handlers: opts.Handlers, Git: opts.Git,
				Progress: statusProgress(app, len(cfg.Packages))})
			if app.IsTerminal {
				fmt.Fprint(app.Err, "\r\033[K") // clear the progress line
			}
			app.Summary(statusSummary(sts, p, warnings))
			failed := false
			for _, s := range sts {
				if s.Error != "" {
					failed = true
				}
			}
			if app.JSON {
				doc := map[string]any{"packages": sts}
				if len(warnings) > 0 {
					doc["warnings"] = warnings
				}
				if err := app.PrintJSON(doc); err != nil {
					return err
				}
			} else {
				for _, w := range warnings {
					app.Warnf("%s", w)
				}
				writeStatus(app.Out, sts, p)
			}
			if failed {
				if app.JSON {
					for _, st := range sts {
						if st.Error != "" {
							app.annotateError(diag.New("PIOT_STATUS_REGISTRY", "%s: registry not read: %s", st.Name, firstLineOf(st.Error)))
						}
					}
					return diag.ErrSilent
				}
				return diag.New("PIOT_STATUS_REGISTRY", "some registries could not be read (see the lines marked error)").
					WithHint("re-run when the registry is reachable; PUTITOUTTHERE_*_URL overrides apply")
			}
			return nil
		},
	}
}

func firstLineOf(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func yesNo(b *bool) string {
	switch {
	case b == nil:
		return "-"
	case *b:
		return "yes"
	}
	return "no"
}

// writeStatus prints the status table. Two columns say "published": each
// is named after the version it is about, the tagged one or the planned one.
func writeStatus(w io.Writer, sts []publish.PackageStatus, p *plan.Plan) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PACKAGE\tKIND\tLAST TAG\tTAG PUBLISHED\tREGISTRY LATEST\tPLANNED\tPLANNED PUBLISHED\tDRIFT")
	for _, s := range sts {
		dash := func(v string) string {
			if v == "" {
				return "-"
			}
			return v
		}
		latest := dash(s.Latest)
		if s.Error != "" {
			latest = "error"
		}
		drift := driftText(s)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Kind, dash(s.LastTag), yesNo(s.TaggedPublished), latest, dash(s.Planned), yesNo(s.PlannedPublished), drift)
	}
	tw.Flush()
	for _, s := range sts {
		for _, d := range s.Detail {
			fmt.Fprintf(w, "drift: %s: %s\n", s.Name, d)
		}
		if s.Error != "" {
			fmt.Fprintf(w, "error: %s: %s\n", s.Name, firstLineOf(s.Error))
		}
	}
	if p != nil && len(p.Releases) == 0 {
		fmt.Fprintln(w, "nothing to release")
	}
}

// statusProgress shows registry reads as they finish: one updating line on
// a terminal, a timestamped line per package in CI, nothing otherwise (a
// pipe gets only the table).
func statusProgress(app *App, total int) func(done, total int, name string) {
	var mu sync.Mutex
	switch {
	case app.IsTerminal && total > 1:
		return func(done, total int, name string) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(app.Err, "\r\033[Kreading registries: %d/%d (%s)", done, total, name)
		}
	case progressClock(app) != nil:
		say := progressf(app)
		return func(done, total int, name string) {
			mu.Lock()
			defer mu.Unlock()
			say("status: read %s (%d/%d)", name, done, total)
		}
	}
	return nil
}
