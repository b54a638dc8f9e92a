package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/repo"
)

// MaxMatrixRows is GitHub's limit on the jobs one matrix may generate.
const MaxMatrixRows = 256

// CodePlanTooLarge: the plan has more matrix rows than GitHub runs.
const CodePlanTooLarge = "PIOT_PLAN_TOO_LARGE"

func newPlanCmd(app *App) *cobra.Command {
	var graph bool
	c := &cobra.Command{
		Use:   "plan",
		Short: "Work out which packages changed and at which version; print the build matrix",
		Long: `Work out which packages changed since their last release tag and at which
version, and print the build matrix.

--json prints the matrix rows as one JSON array (use it as
strategy.matrix.include). Inside GitHub Actions the same array, compact, is
appended to $GITHUB_OUTPUT as matrix=..., and a table with a Mermaid graph of
the cascade (which packages changed, which follow through depends_on) to
$GITHUB_STEP_SUMMARY. --graph prints that graph instead of the table.

GitHub runs at most 256 jobs from one matrix: a plan with more rows stops
(exit 1) without writing the matrix, and says how to split the release.`,
		Example: `  putitoutthere plan
  putitoutthere plan --json | jq '.[].artifact_name'
  putitoutthere plan --graph`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPlan(cmd, app, graph) },
	}
	c.Flags().BoolVar(&graph, "graph", false, "print the cascade as a Mermaid graph (paste it into Markdown)")
	return c
}

func runPlan(cmd *cobra.Command, app *App, graph bool) error {
	cfg, err := config.Load(app.ConfigFile())
	if err != nil {
		return err
	}
	p, err := repo.PlanFor(cmd.Context(), app.Cwd, cfg)
	if err != nil {
		return err
	}
	if len(p.Rows) > MaxMatrixRows {
		app.Summary(planSummary(cfg, p) + fmt.Sprintf("**Stopped:** %d matrix rows; GitHub runs at most %d jobs from one matrix.\n\n", len(p.Rows), MaxMatrixRows))
		if !app.JSON {
			writePlanTable(app.Out, p)
		}
		return tooManyRows(p)
	}
	compact, err := json.Marshal(p.Rows)
	if err != nil {
		return err
	}
	if err := app.Output("matrix", string(compact)); err != nil {
		return err
	}
	app.Summary(planSummary(cfg, p))
	if graph {
		if app.JSON {
			return app.PrintJSON(map[string]any{"schema": SchemaVersion, "mermaid": cascadeGraph(cfg, p)})
		}
		fmt.Fprint(app.Out, cascadeGraph(cfg, p))
		return nil
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

// tooManyRows is the error for a plan GitHub cannot run as one matrix,
// with the packages that make it large so the user knows what to split.
func tooManyRows(p *plan.Plan) error {
	per := map[string]int{}
	for _, r := range p.Rows {
		per[r.Name]++
	}
	type cnt struct {
		name string
		n    int
	}
	var top []cnt
	for _, r := range p.Releases {
		top = append(top, cnt{r.Name, per[r.Name]})
	}
	sort.SliceStable(top, func(i, j int) bool { return top[i].n > top[j].n })
	e := diag.New(CodePlanTooLarge, "the plan has %d matrix rows for %d packages; GitHub runs at most %d jobs from one matrix, so the build job would be refused", len(p.Rows), len(p.Releases), MaxMatrixRows)
	for i, c := range top {
		if i == 5 {
			e.Details = append(e.Details, fmt.Sprintf("… and %d more package(s)", len(top)-5))
			break
		}
		e.Details = append(e.Details, fmt.Sprintf("%s: %d row(s)", c.name, c.n))
	}
	return e.WithHint("release in parts: make HEAD's commit message end with `release: skip [%s, ...]` naming packages to leave for the next release (see docs/trailer.md), or give the biggest packages fewer targets", top[0].name)
}

// planSummary is the Markdown for the step summary: the table and the
// cascade as a Mermaid graph.
func planSummary(cfg *config.Config, p *plan.Plan) string {
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
	b.WriteString("\n```mermaid\n")
	b.WriteString(cascadeGraph(cfg, p))
	b.WriteString("```\n\n")
	fmt.Fprintf(&b, "%d matrix row(s).\n\n", len(p.Rows))
	return b.String()
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
