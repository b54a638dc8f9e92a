package cli

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/doctor"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/repo"
	"github.com/putitoutthere/putitoutthere/internal/token"
)

// doctorOptions wires doctor to the real world; tests of the command replace
// fields through doctorHook.
func doctorOptions(app *App) doctor.Options {
	opt := doctor.Options{
		Root:       app.Cwd,
		ConfigFile: app.ConfigFile(),
		Env:        app.Env,
		Plan: func(ctx context.Context, cfg *config.Config) (*plan.Plan, error) {
			return repo.PlanFor(ctx, app.Cwd, cfg)
		},
		InspectToken: inspectToken(app),
		Exchanges: func(ctx context.Context) ([]doctor.ExchangeResult, error) {
			cfg, err := config.Load(app.ConfigFile())
			if err != nil {
				return nil, err
			}
			rep, err := runAuthOnly(ctx, app, cfg, io.Discard) // doctor reports the answers itself
			var out []doctor.ExchangeResult
			if rep != nil {
				for _, p := range rep.Packages {
					out = append(out, doctor.ExchangeResult{Package: p.Name, Status: string(p.Status), Code: p.Code, Error: p.Error, Auth: p.Auth})
				}
			}
			return out, err
		},
	}
	if doctorHook != nil {
		doctorHook(&opt)
	}
	return opt
}

// doctorHook lets tests adjust doctor's options (fake servers, timeouts).
var doctorHook func(*doctor.Options)

// inspectToken asks the token's registry what it may publish (doctor --deep,
// preflight). The value is read from the environment and never printed.
func inspectToken(app *App) func(ctx context.Context, pkg *config.Package, envName string) (doctor.TokenInfo, error) {
	return func(ctx context.Context, pkg *config.Package, envName string) (doctor.TokenInfo, error) {
		ctx, cancel := context.WithTimeout(ctx, doctor.DefaultRegistryTimeout)
		defer cancel()
		rep, err := token.InspectValue(ctx, app.Env, app.Env.Value(envName), pkg.Kind, []string{pkg.RegistryName()})
		if err != nil {
			return doctor.TokenInfo{}, err
		}
		detail := rep.Brief()
		info := doctor.TokenInfo{Detail: detail, Covers: rep.State != token.StateInvalid, Dead: rep.State == token.StateInvalid}
		for _, v := range rep.Packages {
			switch v.CanPublish {
			case token.No:
				info.Covers = false
				info.Detail += ": " + v.Why
			case token.Undecided:
				info.Unknown = info.Covers
				if v.Why != "" {
					info.Detail += ": " + v.Why
				}
			}
		}
		return info, nil
	}
}

func newDoctorCmd(app *App) *cobra.Command {
	var withArtifacts, deep bool
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Check config, auth and trusted-publishing setup before a release fails",
		Long: `doctor runs, in order: config, auth, trust policy (local), trust policy
(declared), trust policy (crates.io registry, with CRATES_IO_DOCTOR_TOKEN) and
trust policy (OIDC claims, inside GitHub Actions). It exits 0 when clean, 1 on
any failure, 2 when the config does not load.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt := doctorOptions(app)
			opt.Artifacts, opt.Deep = withArtifacts, deep
			rep := doctor.Run(cmd.Context(), opt)
			if app.Env.InActions() {
				rep.Annotate(app.Err)
				app.annotated = true
			}
			app.Summary(doctorSummary(rep))
			if rep.ConfigError {
				// Exit 2, with the report: the local workflow checks still ran.
				if app.JSON {
					if err := app.PrintJSON(rep.JSON()); err != nil {
						return err
					}
					return diag.ErrSilentUsage
				}
				rep.WriteText(app.Out)
				return configError(rep)
			}
			if app.JSON {
				if err := app.PrintJSON(rep.JSON()); err != nil {
					return err
				}
			} else {
				rep.WriteText(app.Out)
			}
			if rep.Failed() {
				return diag.ErrSilent
			}
			return nil
		},
	}
	c.Flags().BoolVar(&withArtifacts, "artifacts", false, "also check that every artifact of the current plan is present")
	c.Flags().BoolVar(&deep, "deep", false, "also inspect fallback tokens and check their scope covers each package")
	return c
}

// configError turns the config phase's failure into the exit-2 error.
func configError(rep *doctor.Report) error {
	if rep.ConfigErr != nil {
		// The load error itself: every problem, its code and its hint.
		var de *diag.Error
		if errors.As(rep.ConfigErr, &de) {
			return rep.ConfigErr
		}
	}
	if p := rep.Phase(doctor.PhaseConfig); p != nil {
		for _, is := range p.Issues() {
			return diag.Usage(is.Code, "%s", is.Message).WithHint("%s", is.Hint)
		}
	}
	return diag.Usage(doctor.CodeConfigInvalid, "the config did not load")
}
