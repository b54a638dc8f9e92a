package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/doctor"
	"github.com/putitoutthere/putitoutthere/internal/repo"
	"github.com/putitoutthere/putitoutthere/internal/workflow"
)

// preflightPackage is one package in `preflight --json`.
type preflightPackage struct {
	Name    string         `json:"name"`
	Kind    string         `json:"kind"`
	Auth    string         `json:"auth"`
	Method  string         `json:"method"`
	Env     string         `json:"env,omitempty"`
	Needs   string         `json:"needs,omitempty"`
	OK      bool           `json:"ok"`
	Token   string         `json:"token,omitempty"`
	Issues  []doctor.Issue `json:"issues"`
	Version string         `json:"version,omitempty"`
}

func newPreflightCmd(app *App) *cobra.Command {
	var all bool
	c := &cobra.Command{
		Use:   "preflight",
		Short: "Check auth and tokens for the packages in the current plan",
		Long: `preflight checks, with no side effects, that every package in the current
plan (--all: every package) can authenticate to its registry: oidc, token
(ENV_NAME), or missing with what it needs. It exits 1 on any failure.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := config.Load(app.ConfigFile())
			if err != nil {
				return err
			}
			versions := map[string]string{}
			var pkgs []*config.Package
			source := "every package"
			if all {
				for i := range cfg.Packages {
					pkgs = append(pkgs, &cfg.Packages[i])
				}
			} else {
				pl, err := repo.PlanFor(ctx, app.Cwd, cfg)
				if err != nil {
					return err
				}
				for _, r := range pl.Releases {
					if p := cfg.Package(r.Name); p != nil {
						pkgs = append(pkgs, p)
						versions[r.Name] = r.Version
					}
				}
				source = "from the plan"
			}
			wfs, _ := workflow.LoadDir(app.Cwd)
			analysis := workflow.Analyze(wfs, workflow.Options{})
			var out []preflightPackage
			failed := false
			inspect := inspectToken(app)
			for _, p := range pkgs {
				v := doctor.ResolveAuth(p, app.Env, analysis)
				pp := preflightPackage{Name: p.Name, Kind: p.Kind, Auth: v.Text(), Method: string(v.Resolution.Method),
					Env: v.Resolution.EnvName, Needs: v.Resolution.Needs, OK: v.OK(), Issues: doctor.AuthIssues(v), Version: versions[p.Name]}
				if v.FromWorkflow {
					pp.Method, pp.Needs = "oidc", ""
				}
				if pp.Issues == nil {
					pp.Issues = []doctor.Issue{}
				}
				if v.Resolution.EnvName != "" {
					info, err := inspect(ctx, p, v.Resolution.EnvName)
					switch {
					case err != nil:
						pp.Token = "not inspected: " + err.Error()
					case info.Unknown:
						pp.Token = info.Detail
					case !info.Covers:
						pp.OK = false
						pp.Token = info.Detail
						pp.Issues = append(pp.Issues, doctor.Issue{Code: doctor.CodeTokenScope, Severity: doctor.SevError,
							Message: fmt.Sprintf("package `%s`: %s (%s) does not cover `%s`", p.Name, v.Resolution.EnvName, info.Detail, p.RegistryName()),
							Hint:    "create a token scoped to this package (or use trusted publishing)"})
					default:
						pp.Token = info.Detail
					}
				}
				if !pp.OK {
					failed = true
				}
				out = append(out, pp)
			}
			if out == nil {
				out = []preflightPackage{}
			}
			if app.JSON {
				if err := app.PrintJSON(map[string]any{"ok": !failed, "packages": out}); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(app.Out, "preflight: %d package%s (%s)\n", len(out), map[bool]string{true: "", false: "s"}[len(out) == 1], source)
				if len(out) == 0 {
					fmt.Fprintln(app.Out, "nothing to publish")
				}
				for _, pp := range out {
					mark := "✓"
					if !pp.OK {
						mark = "✗"
					}
					line := fmt.Sprintf("%s %s (%s): %s", mark, pp.Name, pp.Kind, pp.Auth)
					if pp.Token != "" {
						line += " [" + pp.Token + "]"
					}
					fmt.Fprintln(app.Out, line)
					for _, is := range pp.Issues {
						w := ""
						if is.Severity == doctor.SevWarning {
							w = "warning: "
						}
						fmt.Fprintf(app.Out, "auth: %s%s — %s\n", w, is.Message, is.Hint)
					}
				}
			}
			annotatePreflight(app, out)
			if failed {
				return diag.ErrSilent
			}
			return nil
		},
	}
	c.Flags().BoolVar(&all, "all", false, "check every package, not only those in the plan")
	return c
}
