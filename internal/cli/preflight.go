package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/doctor"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	"github.com/putitoutthere/putitoutthere/internal/repo"
	"github.com/putitoutthere/putitoutthere/internal/secret"
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
	// Exchange is what the registry said when asked, through publish's
	// own preflight steps: ready | already-published | failed | "" (not
	// asked: no credentials here, or not in the plan).
	Exchange string `json:"exchange,omitempty"`
}

func newPreflightCmd(app *App) *cobra.Command {
	var all bool
	c := &cobra.Command{
		Use:   "preflight",
		Short: "Check auth and tokens for the packages in the current plan",
		Long: `preflight checks, with no side effects, that every package in the current
plan (--all: every package) can authenticate to its registry: oidc, token
(ENV_NAME), or missing with what it needs. Where this job has credentials
(an ID token, a registry token) it then runs publish's own preflight steps
for the plan: each token is proven live, each trusted-publishing exchange is
performed (and the short-lived token revoked where the registry allows),
and a package that does not exist yet is found. It exits 1 on any failure.`,
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
			// The registries' answers, through publish's preflight steps
			// (one code path with publish --preflight-check).
			var exErr error
			skipped := ""
			if !all || len(versions) > 0 {
				if rep, err, ran := preflightExchanges(ctx, app, cfg, out); ran {
					perPackage := mergeExchanges(out, rep)
					if doctor.ExchangeFinding(err, perPackage) {
						exErr = err
					} else if err != nil {
						skipped = "the registries were not asked: " + secret.Redact(err.Error())
					}
				}
			}
			for _, pp := range out {
				if !pp.OK {
					failed = true
				}
			}
			if exErr != nil {
				failed = true
			}
			if out == nil {
				out = []preflightPackage{}
			}
			if app.JSON {
				doc := map[string]any{"ok": !failed, "packages": out}
				if skipped != "" {
					doc["note"] = skipped
				}
				if exErr != nil {
					doc["error"] = map[string]any{"code": diag.CodeOf(exErr), "message": secret.Redact(exErr.Error()), "hint": diag.HintOf(exErr)}
				}
				if err := app.PrintJSON(doc); err != nil {
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
					if pp.Exchange != "" {
						line += " — registry: " + pp.Exchange
					}
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
			if skipped != "" && !app.JSON {
				fmt.Fprintf(app.Out, "note: %s\n", skipped)
			}
			if exErr != nil && !app.JSON {
				fmt.Fprintf(app.Out, "preflight: %s [%s]\n", secret.Redact(exErr.Error()), diag.CodeOf(exErr))
				if h := diag.HintOf(exErr); h != "" {
					fmt.Fprintf(app.Out, "hint: %s\n", h)
				}
			}
			if failed {
				return diag.ErrSilent
			}
			return nil
		},
	}
	c.Flags().BoolVar(&all, "all", false, "check every package, not only those in the plan")
	return c
}

// preflightExchanges runs publish's preflight steps for the plan with only
// the credential checks (publish.Options.AuthOnly): the same token probes,
// trust exchanges (revoked after) and registry reads as
// `publish --preflight-check`, without artifacts or tools. ran is false when
// no package has credentials in this environment (nothing to ask).
func preflightExchanges(ctx context.Context, app *App, cfg *config.Config, pkgs []preflightPackage) (rep *publish.Report, err error, ran bool) {
	any := false
	for _, pp := range pkgs {
		if pp.Method == string(auth.MethodToken) || pp.Method == string(auth.MethodOIDC) && app.Env.OIDCAvailable() {
			any = true
		}
	}
	if !any {
		return nil, nil, false
	}
	rep, err = runAuthOnly(ctx, app, cfg, nil)
	return rep, err, true
}

// runAuthOnly runs publish's preflight steps with only the credential
// checks (publish.Options.AuthOnly); log nil = publish's own progress lines.
// preflight and doctor both ask the registries through it.
func runAuthOnly(ctx context.Context, app *App, cfg *config.Config, log io.Writer) (*publish.Report, error) {
	opts, err := publishOptions(ctx, app, cfg)
	if err != nil {
		return nil, err
	}
	opts.PreflightOnly, opts.AuthOnly = true, true
	if log != nil {
		opts.Log = log
	}
	return publish.Run(ctx, opts)
}

// mergeExchanges adds each registry's answer to the package it is about;
// it reports whether some package was refused.
func mergeExchanges(out []preflightPackage, rep *publish.Report) (refused bool) {
	if rep == nil {
		return false
	}
	for _, res := range rep.Packages {
		for i := range out {
			if out[i].Name != res.Name {
				continue
			}
			pp := &out[i]
			if res.Status != publish.StatusNotAttempted {
				pp.Exchange = string(res.Status)
			}
			if res.Error != "" || res.Status == publish.StatusFailed {
				pp.OK = false
				pp.Exchange = "failed"
				code := res.Code
				if code == "" {
					code = publish.CodeTrustRefusedGeneric
				}
				pp.Issues = append(pp.Issues, doctor.Issue{Code: code, Severity: doctor.SevError, Message: fmt.Sprintf("package `%s`: %s", res.Name, res.Error)})
				refused = true
			}
		}
	}
	return refused
}
