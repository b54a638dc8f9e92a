package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	gh "github.com/putitoutthere/putitoutthere/internal/registry/github"
	"github.com/putitoutthere/putitoutthere/internal/secret"
	"github.com/putitoutthere/putitoutthere/internal/token"
)

// loginNote is the one line `token list --secrets` prints without a login.
const loginNote = "run `putitoutthere auth login` to list repository secrets"

func newTokenCmd(app *App) *cobra.Command {
	c := &cobra.Command{Use: "token", Short: "List and inspect registry credentials without showing them", Args: cobra.ArbitraryArgs, RunE: groupRunE}
	var secrets bool
	list := &cobra.Command{
		Use: "list", Short: "List registry-shaped credentials in the environment (and repo secrets with --secrets)",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return tokenList(cmd.Context(), app, secrets) },
	}
	list.Flags().BoolVar(&secrets, "secrets", false, "also list repository and environment secret names (needs `auth login`)")
	var value, registry string
	inspect := &cobra.Command{
		Use: "inspect", Short: "Show what a token may publish and when it expires",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return tokenInspect(cmd.Context(), app, value, cmd.Flags().Changed("token"), registry)
		},
	}
	inspect.Flags().StringVar(&value, "token", "", "the token to inspect (default: every credential in the environment)")
	inspect.Flags().StringVar(&registry, "registry", "", "crates|pypi|npm (default: detected from the token)")
	c.AddCommand(list, inspect)
	return c
}

// listResult is `token list --json`.
type listResult struct {
	Credentials []token.Credential `json:"credentials"`
	Secrets     secretsStatus      `json:"secrets"`
	CrossCheck  *token.CrossCheck  `json:"cross_check,omitempty"`
}

type secretsStatus struct {
	Requested  bool   `json:"requested"`
	Listed     bool   `json:"listed"`
	Repository string `json:"repository,omitempty"`
	Login      string `json:"login,omitempty"`
	Note       string `json:"note,omitempty"`
	Error      any    `json:"error,omitempty"`
}

// loadConfigIfPresent reads putitoutthere.toml when it exists; a missing file
// is not an error here (token list works in any directory).
func loadConfigIfPresent(app *App) (*config.Config, error) {
	path := app.ConfigFile()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && app.ConfigPath == "" {
		return nil, nil
	}
	return config.Load(path)
}

func tokenList(ctx context.Context, app *App, withSecrets bool) error {
	res := listResult{Credentials: token.ScanEnv(app.Env)}
	var secretsErr error
	if withSecrets {
		res.Secrets.Requested = true
		rows, err := listSecrets(ctx, app, &res.Secrets)
		res.Credentials = append(res.Credentials, rows...)
		if err != nil {
			secretsErr = err
			res.Secrets.Error = map[string]any{"code": diag.CodeOf(err), "message": err.Error(), "hint": diag.HintOf(err)}
		}
	}
	cfg, cfgErr := loadConfigIfPresent(app)
	if cfgErr != nil {
		// The listing does not need the config; only the cross-check does.
		fmt.Fprintf(app.Err, "note: no cross-check with %s: %s\n", config.FileName, configSummary(cfgErr))
	}
	if cfg != nil {
		cc := token.Check(cfg, res.Credentials, app.Env)
		res.CrossCheck = &cc
	}
	if res.Credentials == nil {
		res.Credentials = []token.Credential{}
	}
	if app.JSON {
		if err := app.PrintJSON(res); err != nil {
			return err
		}
		if secretsErr != nil {
			return diag.ErrSilent
		}
		return nil
	}
	printCredentialTable(app, res.Credentials)
	if res.Secrets.Note != "" {
		fmt.Fprintln(app.Err, res.Secrets.Note)
	}
	if res.CrossCheck != nil && len(res.CrossCheck.Notes) > 0 {
		fmt.Fprintln(app.Out)
		fmt.Fprintf(app.Out, "cross-check with %s:\n", config.FileName)
		for _, n := range res.CrossCheck.Notes {
			fmt.Fprintf(app.Out, "  note: %s\n", n)
		}
	}
	return secretsErr
}

func printCredentialTable(app *App, creds []token.Credential) {
	if len(creds) == 0 {
		fmt.Fprintln(app.Err, "no registry credentials found in the environment")
		return
	}
	tw := tabwriter.NewWriter(app.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGISTRY\tSOURCE\tENV/NAME\tDETAILS")
	for _, c := range creds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Registry, c.Source, c.Name, c.Details)
	}
	_ = tw.Flush()
}

// listSecrets returns the registry-shaped secret names of the current repo
// and its environments. Without a login it sets st.Note and returns no error.
func listSecrets(ctx context.Context, app *App, st *secretsStatus) ([]token.Credential, error) {
	// The login comes first: logged out, --secrets is a one-line note
	// wherever it runs, even outside a GitHub clone.
	s, err := loadSession(ctx, app)
	if errors.Is(err, errNotLoggedIn) {
		st.Note = loginNote
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	owner, repo, ok := token.CurrentRepo(ctx, app.Env, app.Cwd)
	if !ok {
		return nil, diag.New(CodeTokenRepoUnknown, "cannot tell which GitHub repository to list secrets of").
			WithHint("run inside a clone whose `origin` remote is on GitHub, or set GITHUB_REPOSITORY=owner/repo")
	}
	full := owner + "/" + repo
	st.Repository = full
	st.Login = s.User.Login
	c, tok := s.Client, s.Cred.AccessToken
	forbidden := func(err error) error {
		return diag.New(CodeGitHubSecretsDenied, "GitHub did not let %s read the secrets of %s", s.User.Login, full).Wrap(err).
			WithHint("install the putitoutthere-cli App on %s (https://github.com/apps/putitoutthere-cli); reading secret names needs admin or write access to the repository", full)
	}
	classify := func(err error) error {
		if rl := rateLimited(err); rl != nil {
			return rl
		}
		switch st := gh.StatusOf(err); {
		case st == 403 || st == 404:
			return forbidden(err)
		case isTransient(err):
			return unreachable(c, err)
		}
		return diag.New(CodeGitHubUnreachable, "listing the secrets of %s failed", full).Wrap(err).
			WithHint("re-run `putitoutthere token list --secrets`; the env rows above are complete")
	}
	var rows []token.Credential
	secrets, err := c.RepoSecrets(ctx, tok, owner, repo)
	if err != nil {
		return nil, classify(err)
	}
	for _, sec := range secrets {
		if row, ok := token.SecretRow(sec.Name, full, ""); ok {
			rows = append(rows, row)
		}
	}
	envs, err := c.Environments(ctx, tok, owner, repo)
	if err != nil {
		return rows, classify(err)
	}
	for _, e := range envs {
		es, err := c.EnvSecrets(ctx, tok, owner, repo, e.Name)
		if err != nil {
			return rows, classify(err)
		}
		for _, sec := range es {
			if row, ok := token.SecretRow(sec.Name, full, e.Name); ok {
				rows = append(rows, row)
			}
		}
	}
	st.Listed = true
	return rows, nil
}

// inspectResult is `token inspect --json`.
type inspectResult struct {
	Tokens []*token.Report `json:"tokens"`
	Errors []inspectError  `json:"errors"`
}

type inspectError struct {
	Source  string `json:"source"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

type inspectTarget struct{ source, value, registry string }

func tokenInspect(ctx context.Context, app *App, value string, given bool, registry string) error {
	switch registry {
	case "", token.Crates, token.PyPI, token.NPM:
	default:
		return diag.Usage(CodeTokenRegistryUnknown, "--registry %q: want crates, pypi or npm", registry).
			WithHint("pass --registry crates|pypi|npm, or leave it out to detect the registry from the token")
	}
	var targets []inspectTarget
	var skipped []string
	var mismatched []inspectError
	if given {
		if value == "-" {
			b, err := io.ReadAll(io.LimitReader(app.In, 64<<10))
			if err != nil {
				return diag.Usage(diag.CodeUsage, "reading the token from stdin").Wrap(err).
					WithHint("pipe the token in (`... | putitoutthere token inspect --token -`), or set it in the registry's variable")
			}
			value = strings.TrimSpace(string(b))
		}
		if strings.TrimSpace(value) == "" {
			return diag.Usage(CodeTokenNone, "--token is empty").WithHint("pass the token, or `--token -` to read it from stdin")
		}
		secret.Register(value)
		targets = append(targets, inspectTarget{source: "--token", value: value, registry: registry})
	} else {
		for _, c := range token.ScanEnv(app.Env) {
			if !c.Set {
				continue
			}
			// Only the default variables of crates.io, PyPI and npm are sent
			// to those registries: CARGO_REGISTRIES_MYCORP_TOKEN belongs to a
			// private registry and NPM_GITHUB_PACKAGES_TOKEN to another npm
			// host; sending them to the public registry would hand a stranger
			// the credential.
			reg, exact := token.DefaultName(c.Name)
			if !exact {
				skipped = append(skipped, c.Name)
				continue
			}
			if registry != "" && reg != registry {
				continue
			}
			if shape := token.ClassifyValue(c.Value()).Registry; shape != token.Unknown && shape != reg {
				mismatched = append(mismatched, inspectError{Source: c.Name, Code: CodeTokenInspectFailed,
					Message: fmt.Sprintf("%s holds a %s token, not a %s one; not sent to either registry", c.Name, shape, reg),
					Hint:    fmt.Sprintf("put the %s token in that registry's variable, or pass it with `--token - --registry %s`", shape, shape)})
				continue
			}
			targets = append(targets, inspectTarget{source: c.Name, value: c.Value(), registry: reg})
		}
		if len(targets) == 0 && len(mismatched) == 0 {
			return diag.New(CodeTokenNone, "no registry token found in the environment").
				WithHint("pass --token (or `--token -` to read it from stdin), or set CARGO_REGISTRY_TOKEN, PYPI_API_TOKEN or NODE_AUTH_TOKEN")
		}
	}
	cfg, err := loadConfigIfPresent(app)
	if err != nil {
		fmt.Fprintf(app.Err, "note: no per-package verdicts, %s could not be read: %s\n", config.FileName, configSummary(err))
		cfg = nil
	}
	res := inspectResult{Tokens: []*token.Report{}, Errors: append([]inspectError{}, mismatched...)}
	failed := len(mismatched) > 0
	if len(skipped) > 0 {
		fmt.Fprintf(app.Err, "note: not inspected (not a default registry variable, so possibly another registry's credential): %s; pass one with `--token - --registry crates|pypi|npm` to inspect it\n", strings.Join(skipped, ", "))
	}
	for _, t := range targets {
		reg := t.registry
		if reg == "" {
			reg = token.ClassifyValue(t.value).Registry
		}
		var pkgs []string
		if cfg != nil {
			for i := range cfg.Packages {
				if cfg.Packages[i].Kind == reg {
					pkgs = append(pkgs, cfg.Packages[i].RegistryName())
				}
			}
		}
		rep, err := token.InspectValue(ctx, app.Env, t.value, t.registry, pkgs)
		if err != nil {
			failed = true
			ie := inspectError{Source: t.source, Code: CodeTokenInspectFailed, Message: err.Error()}
			if errors.Is(err, token.ErrUnknownRegistry) {
				ie.Code = CodeTokenRegistryUnknown
				ie.Message = "cannot tell which registry this token belongs to; pass --registry crates|pypi|npm"
			} else if c := diag.CodeOf(err); c != diag.CodeInternal {
				ie.Code = c
			}
			ie.Hint = diag.HintOf(err)
			switch {
			case ie.Code == CodeTokenRegistryUnknown:
				ie.Hint = "pass --registry crates|pypi|npm"
			case ie.Hint == "":
				// The registry did not answer: nothing is known about the token yet.
				ie.Hint = "the registry did not answer; re-run later (PUTITOUTTHERE_NPM_REGISTRY / PUTITOUTTHERE_CRATES_IO_URL point at another registry)"
			}
			res.Errors = append(res.Errors, ie)
			if rep == nil {
				continue
			}
		}
		rep.Source = t.source
		if rep.State == token.StateInvalid {
			failed = true
		}
		res.Tokens = append(res.Tokens, rep)
	}
	if app.JSON {
		if err := app.PrintJSON(res); err != nil {
			return err
		}
	} else {
		printInspect(app, res)
	}
	if failed {
		return diag.ErrSilent
	}
	return nil
}

func printInspect(app *App, res inspectResult) {
	for i, r := range res.Tokens {
		if i > 0 {
			fmt.Fprintln(app.Out)
		}
		fmt.Fprintf(app.Out, "%s (%s, %s)\n", r.Source, r.Registry, r.Fingerprint)
		fmt.Fprintf(app.Out, "  state: %s\n", r.State)
		if r.Owner != "" {
			fmt.Fprintf(app.Out, "  owner: %s\n", r.Owner)
		}
		for _, s := range r.Summary {
			fmt.Fprintf(app.Out, "  %s\n", s)
		}
		if len(r.Packages) > 0 {
			fmt.Fprintln(app.Out, "  can publish:")
			for _, p := range r.Packages {
				fmt.Fprintf(app.Out, "    %s: %s — %s\n", p.Package, p.CanPublish, p.Why)
			}
		}
		if len(r.Unknowable) > 0 {
			fmt.Fprintln(app.Out, "  not knowable from the token alone:")
			for _, s := range r.Unknowable {
				fmt.Fprintf(app.Out, "    - %s\n", s)
			}
		}
	}
	for _, e := range res.Errors {
		fmt.Fprintf(app.Err, "error: %s: %s [%s]\n", e.Source, e.Message, e.Code)
		if e.Hint != "" {
			fmt.Fprintf(app.Err, "hint: %s\n", e.Hint)
		}
	}
}

// configSummary is a config load error in one line for a note: token
// commands work without the config, and doctor lists its problems.
func configSummary(err error) string {
	first, _, multi := strings.Cut(err.Error(), "\n")
	s := fmt.Sprintf("%s [%s]", first, diag.CodeOf(err))
	if multi {
		s += " (run `putitoutthere doctor` to see each problem)"
	}
	return s
}
