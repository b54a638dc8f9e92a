package cli

import (
	"fmt"
	"github.com/putitoutthere/putitoutthere/internal/secret"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	"github.com/putitoutthere/putitoutthere/internal/rehearse"
	"github.com/putitoutthere/putitoutthere/internal/repo"
)

func newRehearseCmd(app *App) *cobra.Command {
	var trust []string
	var m rehearse.Options
	var approve bool
	c := &cobra.Command{
		Use:   "rehearse",
		Short: "Run plan and publish against in-process registry emulators; touch nothing real",
		Long: `Rehearse clones the current commit into a temporary directory, starts
emulators of crates.io, PyPI, npm, the GitHub API, the Actions OIDC issuer and
Sigstore, registers trusted publishers from your [package.trust_policy] blocks
(or --trust, or the local publish workflow), mints ID tokens with the claims
your publish job would present, and runs publish there. PyPI files are signed
with PEP 740 attestations the PyPI emulator verifies. A renamed workflow or
environment reproduces the registry's refusal locally. Your repository, tags
and remotes are only read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRehearse(cmd, app, trust, m, approve) },
	}
	c.Flags().StringArrayVar(&trust, "trust", nil, "register a trusted publisher: PACKAGE=OWNER/REPO:WORKFLOW.yml[:ENVIRONMENT] (repeatable)")
	c.Flags().StringVar(&m.Event, "event", "", "the event the publish run is triggered by (default: read from the publish workflow's on:)")
	c.Flags().StringVar(&m.Ref, "ref", "", "the ref the publish run is triggered on, e.g. refs/tags/v1.2.3 (default refs/heads/main)")
	c.Flags().StringVar(&m.Runner, "runner", "", "github-hosted or self-hosted (default: read from the publish job's runs-on:)")
	c.Flags().StringVar(&m.OwnerID, "owner-id", "", "the repository owner's numeric ID the run's tokens carry")
	c.Flags().StringVar(&m.RegisteredOwnerID, "registered-owner-id", "", "the owner ID the trusted publishers were registered with (default: the same as --owner-id)")
	c.Flags().StringVar(&m.Sub, "oidc-sub", "", "the OIDC subject shape: default, immutable, or a literal subject")
	c.Flags().BoolVar(&m.NPMStageOnly, "npm-stage-only", false, "register npm trusted publishers that allow only `npm stage publish` (npm's default since 2026-09-03)")
	c.Flags().BoolVar(&approve, "approve", false, "approve every staged npm version on the maintainer's behalf and run publish again, which tags and releases them")
	return c
}

func runRehearse(cmd *cobra.Command, app *App, trust []string, m rehearse.Options, approve bool) error {
	ctx := cmd.Context()
	cfg, err := config.Load(app.ConfigFile())
	if err != nil {
		return err
	}
	if err := rehearse.CheckTrust(trust, cfg); err != nil {
		return err
	}
	p, err := repo.PlanFor(ctx, app.Cwd, cfg)
	if err != nil {
		return err
	}
	if len(p.Releases) == 0 {
		app.Summary("### putitoutthere rehearse\n\nNothing to release: the plan is empty.\n\n")
		if app.JSON {
			return app.PrintJSON(map[string]any{"outcome": "nothing-to-release"})
		}
		fmt.Fprintln(app.Out, "nothing to release: the plan is empty, so there is nothing to rehearse")
		return nil
	}
	s, err := rehearse.Start(ctx, rehearse.Options{Root: app.Cwd, Config: cfg, Plan: p, Trust: trust, Env: app.Env,
		Event: m.Event, Ref: m.Ref, Runner: m.Runner, OwnerID: m.OwnerID, RegisteredOwnerID: m.RegisteredOwnerID, Sub: m.Sub, NPMStageOnly: m.NPMStageOnly,
		CratesUpstream: cratesUpstream(app.Env)})
	if err != nil {
		return err
	}
	defer s.Close()

	if !app.JSON {
		writeRehearsalSetup(app.Out, s)
	}
	rapp := *app
	rapp.Env, rapp.Cwd = s.Env, s.Dir
	rapp.actions = app.InActions()
	opts, err := publishOptions(ctx, &rapp, cfg)
	if err != nil {
		return err
	}
	if app.JSON {
		opts.Log = io.Discard
	}
	rep, perr := publish.Run(ctx, opts)
	// Staged npm versions wait for a maintainer: with --approve the
	// rehearsal approves them and publishes again, as the re-run after an
	// approval would (tags and GitHub Releases).
	var approved []string
	var after *publish.Report
	if perr == nil && rep != nil && rep.Outcome == "staged" && approve {
		if approved, perr = s.ApproveStages(); perr == nil {
			if !app.JSON {
				fmt.Fprintln(app.Out)
				writePublishReport(app.Out, rep)
				fmt.Fprintf(app.Out, "\napproved on the maintainer's behalf: %s\npublishing again:\n", strings.Join(approved, ", "))
			}
			if opts, perr = publishOptions(ctx, &rapp, cfg); perr == nil {
				if app.JSON {
					opts.Log = io.Discard
				}
				after, perr = publish.Run(ctx, opts)
			}
		}
	}
	exchanges := s.Exchanges()
	app.Summary(rehearseSummary(s, rep, perr))

	if app.JSON {
		doc := map[string]any{
			"outcome": "ok",
			"identity": map[string]any{
				"repository": s.Identity.Repository, "workflow": s.Workflow,
				"environment": s.Identity.Environment, "oidc": s.OIDC,
			},
			"registrations": s.Registrations,
			"notes":         s.Notes,
			"publish":       rep,
			"exchanges":     exchanges,
		}
		if rep != nil {
			doc["outcome"] = rep.Outcome
		}
		if u := s.UnresolvedCrates(); len(u) > 0 {
			doc["unresolved_dependencies"] = u
		}
		if approved != nil {
			doc["approved"] = approved
		}
		if after != nil {
			doc["after_approval"] = after
			doc["outcome"] = after.Outcome
		}
		if perr != nil {
			doc["outcome"] = "failed"
			doc["error"] = map[string]any{"code": diag.CodeOf(perr), "message": perr.Error(), "hint": diag.HintOf(perr)}
		}
		if err := app.PrintJSON(doc); err != nil {
			return err
		}
		if perr != nil {
			app.annotateError(perr)
			return diag.ErrSilent
		}
		return nil
	}
	fmt.Fprintln(app.Out)
	if after != nil {
		rep = after
	}
	writePublishReport(app.Out, rep)
	writeExchanges(app.Out, exchanges)
	if perr != nil {
		if diag.CodeOf(perr) == publish.CodeToolMissing {
			// The rehearsal runs the real cargo and npm on this machine: their
			// absence here says nothing about the publish job.
			fmt.Fprintln(app.Out, "\nrehearsal could not run: this machine lacks a tool the rehearsal runs (details below); install it and rehearse again")
			return perr
		}
		if u := s.UnresolvedCrates(); len(u) > 0 {
			// Not the release's fault: the rehearsal could not reach the
			// crates its crates depend on.
			fmt.Fprintf(app.Out, "\nrehearsal could not resolve these crate dependencies from %s:\n", s.CratesUpstream())
			for _, d := range u {
				fmt.Fprintf(app.Out, "  %s\n", d)
			}
			fmt.Fprintf(app.Out, "a rehearsal needs the dependencies' registry: run it with network access, or set %s to a reachable sparse index (a mirror)\n", EnvRehearseCratesUpstream)
			return diag.New(CodeRehearseUnresolved, "rehearsal could not resolve %d crate dependenc(ies) from %s", len(u), s.CratesUpstream()).Wrap(perr).
				WithHint("run the rehearsal with network access, or point %s at a reachable registry index", EnvRehearseCratesUpstream)
		}
		fmt.Fprintln(app.Out, "\nrehearsal FAILED: the real publish would stop here too (details below)")
		return perr
	}
	if rep != nil && rep.Outcome == "staged" {
		fmt.Fprintln(app.Out, "\nrehearsal passed: the npm package(s) above were staged and wait for a maintainer's approval; no tag or GitHub Release is made for them until they are live (rehearse with --approve to rehearse that re-run); nothing real was touched")
		return nil
	}
	fmt.Fprintln(app.Out, "\nrehearsal passed: every registry accepted the release; nothing real was touched")
	return nil
}

func writeRehearsalSetup(w io.Writer, s *rehearse.Session) {
	oidc := "yes"
	if !s.OIDC {
		oidc = "no (the publish job has no `id-token: write`, or no publish workflow was found)"
	}
	wf := s.Workflow
	if wf == "" {
		wf = "(none found)"
	}
	env := s.Identity.Environment
	if env == "" {
		env = "(none)"
	}
	fmt.Fprintf(w, "rehearsal: repository %s, workflow %s, environment %s, OIDC %s\n", s.Identity.Repository, wf, env, oidc)
	for _, r := range s.Registrations {
		switch {
		case r.Workflow == "":
			fmt.Fprintf(w, "  %-9s %s: not on the registry yet (first release); no trusted publisher can be registered for it\n", r.Registry, r.Package)
		default:
			kind := "trusted publisher"
			if r.Pending {
				kind = "pending publisher"
			}
			envs := ""
			if r.Environment != "" {
				envs = ", environment " + r.Environment
			}
			if r.NPMActions != "" {
				envs += ", allows " + r.NPMActions
			}
			fmt.Fprintf(w, "  %-9s %s: %s %s, workflow %s%s (from %s)\n", r.Registry, r.Package, kind, r.Repository, r.Workflow, envs, r.Source)
		}
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func writeExchanges(w io.Writer, xs []rehearse.Exchange) {
	if len(xs) == 0 {
		return
	}
	fmt.Fprintln(w, "\nwhat the registries answered:")
	for _, x := range xs {
		status := fmt.Sprint(x.Status)
		if x.Status < 0 {
			status = "(connection closed)"
		}
		line := fmt.Sprintf("  %-9s %-6s %s → %s", x.Registry, x.Method, x.Path, status)
		if x.Body != "" {
			body := strings.Join(strings.Fields(secret.Redact(x.Body)), " ")
			if len(body) > 300 {
				body = body[:300] + "…"
			}
			line += " " + body
		}
		fmt.Fprintln(w, line)
	}
}

// EnvRehearseCratesUpstream names the sparse index the rehearsal's crates.io
// emulator reads every crate not being released from (dependencies);
// "none" turns it off. Default: crates.io's index.
const EnvRehearseCratesUpstream = "PUTITOUTTHERE_REHEARSE_CRATES_UPSTREAM"

// CodeRehearseUnresolved: the rehearsal could not get the crates the
// released crates depend on (offline, or a registry the upstream lacks).
const CodeRehearseUnresolved = "PIOT_REHEARSE_DEPENDENCIES_UNRESOLVED"

// cratesUpstream is the rehearsal's upstream index. Test binaries default
// to none: tests never reach the network, and set it to a local emulator
// when they need one.
func cratesUpstream(e env.Env) string {
	v, set := e.Get(EnvRehearseCratesUpstream)
	switch {
	case set && (v == "" || v == "none" || v == "off"):
		return ""
	case set:
		return v
	case testing.Testing():
		return ""
	}
	return crates.CratesIOIndex
}
