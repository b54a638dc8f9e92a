package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/putitoutthere/putitoutthere/internal/attest"
	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/ghactions"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	cratesh "github.com/putitoutthere/putitoutthere/internal/publish/crates"
	npmh "github.com/putitoutthere/putitoutthere/internal/publish/npm"
	pypih "github.com/putitoutthere/putitoutthere/internal/publish/pypi"
	"github.com/putitoutthere/putitoutthere/internal/registry/cratesio"
	"github.com/putitoutthere/putitoutthere/internal/registry/github"
	npmreg "github.com/putitoutthere/putitoutthere/internal/registry/npm"
	pypireg "github.com/putitoutthere/putitoutthere/internal/registry/pypi"
	"github.com/putitoutthere/putitoutthere/internal/repo"
	"github.com/putitoutthere/putitoutthere/internal/run"
	"github.com/putitoutthere/putitoutthere/internal/token"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// maskOut receives ::add-mask:: commands. It is the raw stderr: the
// redacting writers would turn the command into `::add-mask::***`, and the
// Actions runner reads workflow commands from stderr as well as stdout (so
// --json output stays one document).
var maskOut io.Writer = os.Stderr

// newRunner and newHTTP build the subprocess runner and the HTTP client;
// tests replace them (a recording runner, no real backoff sleeps).
var (
	newRunner = func(e env.Env, stream io.Writer) run.Runner { return run.Exec{Base: e, Stream: stream} }
	newHTTP   = httpx.New
)

// newPyPIClient builds the PyPI client for the handler.
var newPyPIClient = func(e env.Env, h *httpx.Client) pypih.Client { return pypireg.New(e, h) }

func newPublishCmd(app *App) *cobra.Command {
	var dryRun, preflight bool
	var wait time.Duration
	c := &cobra.Command{
		Use:   "publish",
		Short: "Publish the plan in dependency order, tag it and create the GitHub Releases",
		Long: `Publish re-runs the plan, checks auth and artifacts for every package, performs
every trusted-publishing exchange and packaging check before the first upload,
then publishes in depends_on order: write the version into the manifest,
upload, create and push the tag, create the GitHub Release. A failure stops the
run; re-running publishes only what is missing and repairs missing tags.
An npm package that is staged (npm_publish, or a trusted publisher that allows
only staging) is reported staged with its stage ids: its tag and GitHub
Release are made once a maintainer approves it, by a later publish or by this
one with --wait.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPublish(cmd.Context(), app, dryRun, preflight, wait)
		},
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "check everything and run each ecosystem's own dry run; publish nothing")
	c.Flags().BoolVar(&preflight, "preflight-check", false, "run only the checks that precede the first upload")
	c.Flags().DurationVar(&wait, "wait", 0, "after staging npm packages for approval, poll up to this long (e.g. 30m) until each is approved (then tag and release it) or rejected; 0 = do not wait")
	return c
}

// progress stamps lines in CI (SPEC §11: timestamped lines in CI).
func progressClock(app *App) func() time.Time {
	if !app.IsTerminal && (app.Env.Has("CI") || app.Env.InActions()) {
		return time.Now
	}
	return nil
}

// lookPathOf is the runner's tool lookup, when it has one (the real runner
// does; a test's fake does not, and then the check is skipped).
func lookPathOf(r run.Runner) func(string) error {
	if lp, ok := r.(interface{ LookPath(string) error }); ok {
		return lp.LookPath
	}
	return nil
}

// retryReason is what went wrong, without the method and URL the line
// already names (Go's errors repeat them: `Get "http://…": EOF`).
func retryReason(req *http.Request, reason string) string {
	reason = firstLineOf(reason)
	if i := strings.LastIndex(reason, req.URL.String()); i >= 0 {
		if rest := strings.TrimLeft(reason[i+len(req.URL.String()):], `": `); rest != "" {
			return rest
		}
	}
	return reason
}

// progressf prints a handler's progress line like the flow's own lines.
func progressf(app *App) func(format string, a ...any) {
	clock := progressClock(app)
	return func(format string, a ...any) {
		prefix := ""
		if clock != nil {
			prefix = clock().UTC().Format("15:04:05") + " "
		}
		fmt.Fprintf(app.Err, prefix+format+"\n", a...)
	}
}

func runPublish(ctx context.Context, app *App, dryRun, preflight bool, wait time.Duration) error {
	cfg, err := config.Load(app.ConfigFile())
	if err != nil {
		return err
	}
	opts, err := publishOptions(ctx, app, cfg)
	if err != nil {
		return err
	}
	opts.DryRun, opts.PreflightOnly, opts.Wait = dryRun, preflight, wait
	rep, err := publish.Run(ctx, opts)
	if err != nil && ctx.Err() != nil && diag.CodeOf(err) == diag.CodeInternal {
		err = diag.New("PIOT_TIMEOUT", "publish stopped: %v", ctx.Err()).WithHint("raise --timeout, or re-run: what was published is skipped")
	}
	if gerr := publishGitHub(app, rep, err); gerr != nil && err == nil {
		err = gerr
	}
	if app.JSON {
		if rep == nil {
			return err
		}
		if rep.Outcome == "nothing-to-release" {
			fmt.Fprintln(app.Err, "nothing to release")
		}
		if err != nil && diag.ExitCode(err) == diag.ExitUsage {
			return err // nothing was attempted; the CLI prints the error document
		}
		pkgs := rep.Packages
		if pkgs == nil {
			pkgs = []publish.Result{} // `[]`, never null: consumers iterate it
		}
		doc := map[string]any{"dry_run": rep.DryRun, "preflight_check": rep.Preflight, "outcome": rep.Outcome, "packages": pkgs}
		if len(rep.Warnings) > 0 {
			doc["warnings"] = rep.Warnings
		}
		if len(rep.Problems) > 0 {
			doc["problems"] = rep.Problems
		}
		if err != nil {
			doc["error"] = map[string]any{"code": diag.CodeOf(err), "message": err.Error(), "hint": diag.HintOf(err), "exit_code": diag.ExitCode(err)}
		}
		if perr := app.PrintJSON(doc); perr != nil {
			return perr
		}
		if err != nil {
			app.annotateError(err)
			return diag.ErrSilent
		}
		return nil
	}
	writePublishReport(app.Out, rep)
	return err
}

// publishOptions wires the real clients.
func publishOptions(ctx context.Context, app *App, cfg *config.Config) (publish.Options, error) {
	e := app.Env
	hc := newHTTP()
	if hc.OnRetry == nil {
		// A registry that asks us to wait (429 Retry-After) or fails for a
		// moment is waited for out loud, not in silence.
		say := progressf(app)
		hc.OnRetry = func(req *http.Request, attempt int, wait time.Duration, reason string) {
			say("%s %s%s: %s; retrying in %s (retry %d)", req.Method, req.URL.Host, req.URL.Path, retryReason(req, reason), wait.Round(time.Millisecond), attempt)
		}
	}
	if hc.OnSend == nil && app.IsTerminal {
		hc.OnSend = uploadProgress(app.Err, time.Now)
	}
	idToken := func(ctx context.Context, aud string) (string, error) { return auth.FetchIDToken(ctx, nil, e, aud) }
	var mask func(string)
	if e.InActions() {
		mask = func(t string) { ghactions.AddMask(maskOut, t) }
	}
	// On a terminal, cargo's and npm's own progress is shown as it comes;
	// inside Actions too, folded into a group per command.
	var stream io.Writer
	if app.IsTerminal || app.InActions() {
		stream = app.Err
	}
	runner := newRunner(e, stream)
	if app.InActions() {
		runner = groupRunner{inner: runner, w: app.Err}
	}
	opts := publish.Options{
		Root:     app.Cwd,
		Config:   cfg,
		Env:      e,
		Plan:     repo.PlanFor,
		Handlers: map[string]publish.Handler{},
		Git:      &publish.GitCLI{Runner: run.Exec{Base: e}, Env: e}, // git is never faked
		SetVersion: func(kind, dir, version string) (string, string, error) {
			ch, err := manifest.SetVersion(kind, dir, version)
			if err != nil || ch == nil {
				return "", "", err
			}
			return ch.File, ch.Hint, nil
		},
		CheckVersion: manifest.CheckVersion,
		ProveToken:   proveToken(e),
		LookPath:     lookPathOf(runner),
		Tagged:       publish.TaggedFromGit,
		Log:          app.Err,
		Now:          progressClock(app),
	}
	kinds := map[string]bool{}
	for _, p := range cfg.Packages {
		kinds[p.Kind] = true
	}
	if kinds[config.KindCrates] {
		opts.Handlers[config.KindCrates] = &cratesh.Handler{Client: cratesio.New(e, hc), Runner: runner, IDToken: idToken, Mask: mask, HTTP: hc,
			Progress: progressf(app), Sleep: hc.Sleep}
	}
	if kinds[config.KindNPM] {
		nc, err := npmreg.New(ctx, e, hc)
		if err != nil {
			return opts, err
		}
		opts.Handlers[config.KindNPM] = &npmh.Handler{Client: nc, Runner: runner, IDToken: idToken, Mask: mask,
			SetVersion: func(kind, dir, version string) error { _, err := manifest.SetVersion(kind, dir, version); return err }}
	}
	if kinds[config.KindPyPI] {
		base := e.Value("PUTITOUTTHERE_PYPI_URL")
		if base == "" {
			base = "https://pypi.org"
		}
		fulcio, rekor := attest.Endpoints(e)
		opts.Handlers[config.KindPyPI] = &pypih.Handler{Client: newPyPIClient(e, hc), BaseURL: base, IDToken: idToken, Mask: mask, HTTP: hc,
			Progress: progressf(app),
			Sigstore: &pypih.Sigstore{FulcioURL: fulcio, RekorURL: rekor, TrustedRoot: func(ctx context.Context) (root.TrustedMaterial, error) {
				return attest.TrustedRoot(ctx, e, nil)
			}}}
	}
	if tok, repoSlug := e.Value("GITHUB_TOKEN"), e.Value("GITHUB_REPOSITORY"); tok != "" && repoSlug != "" {
		owner, name, ok := ghactions.SplitRepository(repoSlug)
		if !ok {
			return opts, diag.Usage("PIOT_GITHUB_REPOSITORY", "GITHUB_REPOSITORY=%q is not owner/repo", repoSlug).
				WithHint("GitHub Actions sets it; outside Actions set it to exactly OWNER/REPO (letters, digits, '-', '.', '_'), or unset it")
		}
		gh := github.New(e)
		gh.HTTP = hc
		opts.Releases = &publish.GitHubReleases{Client: gh, Token: tok, Owner: owner, Repo: name}
	}
	return opts, nil
}

func writePublishReport(w io.Writer, rep *publish.Report) {
	if rep == nil {
		return
	}
	if rep.Outcome == "nothing-to-release" {
		fmt.Fprintln(w, "nothing to release")
		return
	}
	if len(rep.Packages) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tPACKAGE\tVERSION\tREGISTRY\tAUTH\tTAG\tURL")
	for _, p := range rep.Packages {
		tag := p.Tag
		if p.TagState != "" {
			tag += " (" + p.TagState + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Status, p.Name, p.Version, p.Registry, p.Auth, tag, p.URL)
	}
	tw.Flush()
	for _, p := range rep.Packages {
		for _, n := range p.Notes {
			fmt.Fprintf(w, "note: %s: %s\n", p.Name, n)
		}
		if p.Release != "" {
			fmt.Fprintf(w, "release: %s: %s\n", p.Name, p.Release)
		}
		for _, s := range p.Stages {
			id := s.ID
			if id == "" {
				id = "(id unknown: npm stage list " + s.Name + ")"
			}
			fmt.Fprintf(w, "%s: %s: %s %s stage %s\n", p.Status, p.Name, s.Name, s.Version, id)
		}
		if p.Approve != "" && p.Status == publish.StatusStaged {
			fmt.Fprintf(w, "approve: %s: %s\n", p.Name, p.Approve)
		}
		if p.Status == publish.StatusRejected && p.Error != "" {
			fmt.Fprintf(w, "rejected: %s: %s\n", p.Name, p.Error)
		}
	}
}

// proveToken asks a token's registry, with its cheapest authenticated read,
// whether the token publish would use is live and may publish the package
// (token inspect's probes: crates.io's token probe, npm's whoami and
// access; PyPI's macaroon read offline, as PyPI has no read an API token can
// make). The value is read from the environment and never printed.
func proveToken(e env.Env) func(ctx context.Context, j publish.Job) (publish.TokenProof, error) {
	return func(ctx context.Context, j publish.Job) (publish.TokenProof, error) {
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		rep, err := token.InspectValue(ctx, e, e.Value(j.Auth.EnvName), j.Package.Kind, []string{j.Name()})
		if err != nil {
			return publish.TokenProof{}, err
		}
		detail := rep.Brief()
		p := publish.TokenProof{Dead: rep.State == token.StateInvalid, Detail: detail}
		for _, v := range rep.Packages {
			if v.CanPublish == token.No {
				p.NotCovering = true
				p.Detail += ": " + v.Why
			}
		}
		if j.Package.Kind == config.KindPyPI && !p.Dead && !p.NotCovering {
			p.Unknowable = "PyPI has no authenticated read an API token can make, so its liveness cannot be proven before the upload; its expiry and project scope were read offline (" + detail + ")"
		}
		return p, nil
	}
}
