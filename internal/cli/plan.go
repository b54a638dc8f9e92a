package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/ghactions"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/repo"
)

func newPlanCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "plan",
		Short: "Work out which packages changed and at which version; print the build matrix",
		Long: `Work out which packages changed since their last release tag and at which
version, and print the build matrix.

--json prints the matrix rows as one JSON array (use it as
strategy.matrix.include). Inside GitHub Actions the same array, compact, is
appended to $GITHUB_OUTPUT as matrix=..., and a table to $GITHUB_STEP_SUMMARY.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPlan(cmd, app) },
	}
}

func runPlan(cmd *cobra.Command, app *App) error {
	cfg, err := config.Load(app.ConfigFile())
	if err != nil {
		return err
	}
	p, err := repo.PlanFor(cmd.Context(), app.Cwd, cfg)
	if err != nil {
		return err
	}
	compact, err := json.Marshal(p.Rows)
	if err != nil {
		return err
	}
	if path := app.Env.Value("GITHUB_OUTPUT"); path != "" {
		if err := ghactions.AppendOutput(path, "matrix", string(compact)); err != nil {
			return diag.New("PIOT_GITHUB_OUTPUT", "writing the matrix to GITHUB_OUTPUT (%s)", path).Wrap(err).
				WithHint("check that $GITHUB_OUTPUT points at a writable file")
		}
	}
	if path := app.Env.Value("GITHUB_STEP_SUMMARY"); path != "" {
		if err := ghactions.AppendSummary(path, planSummary(p)); err != nil {
			return diag.New("PIOT_GITHUB_OUTPUT", "writing the plan to GITHUB_STEP_SUMMARY (%s)", path).Wrap(err).
				WithHint("check that $GITHUB_STEP_SUMMARY points at a writable file")
		}
	}
	if app.JSON {
		if len(p.Releases) == 0 {
			fmt.Fprintln(app.Err, "nothing to release")
		}
		return app.PrintJSON(p.Rows)
	}
	writePlanTable(app.Out, p)
	return nil
}

// writePlanTable is the human form: one line per release, then the rows.
func writePlanTable(w io.Writer, p *plan.Plan) {
	if len(p.Releases) == 0 {
		fmt.Fprintln(w, "nothing to release")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PACKAGE\tKIND\tVERSION\tBUMP\tLAST TAG\tREASON")
	for _, r := range p.Releases {
		bump, last := r.Bump, r.LastTag
		if r.FirstRelease {
			bump = "first release"
		}
		if last == "" {
			last = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Kind, r.Version, bump, last, r.Reason)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\n%d matrix row(s):\n", len(p.Rows))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  ARTIFACT\tTARGET\tRUNS ON\tPATH")
	for _, r := range p.Rows {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.ArtifactName, r.Target, r.RunsOn, r.ArtifactPath)
	}
	_ = tw.Flush()
}

// planSummary is the Markdown table for the step summary.
func planSummary(p *plan.Plan) string {
	var b bytes.Buffer
	b.WriteString("### putitoutthere plan\n\n")
	if len(p.Releases) == 0 {
		b.WriteString("Nothing to release.\n\n")
		return b.String()
	}
	b.WriteString("| package | kind | version | bump | last tag | reason |\n|---|---|---|---|---|---|\n")
	for _, r := range p.Releases {
		bump, last := r.Bump, r.LastTag
		if r.FirstRelease {
			bump = "first release"
		}
		if last == "" {
			last = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", mdCell(r.Name), r.Kind, r.Version, bump, mdCell(last), mdCell(r.Reason))
	}
	b.WriteString("\n")
	return b.String()
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
