package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	gh "github.com/putitoutthere/putitoutthere/internal/registry/github"
	"github.com/putitoutthere/putitoutthere/internal/token"
)

// loginNote is the one line `token list --secrets` prints without a login.
const loginNote = "run `putitoutthere auth login` to list repository secrets"

func newTokenCmd(app *App) *cobra.Command {
	c := &cobra.Command{Use: "token", Short: "List and inspect registry credentials without showing them"}
	var secrets bool
	list := &cobra.Command{
		Use: "list", Short: "List registry-shaped credentials in the environment (and repo secrets with --secrets)",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return tokenList(cmd.Context(), app, secrets) },
	}
	list.Flags().BoolVar(&secrets, "secrets", false, "also list repository and environment secret names (needs `auth login`)")
	var value, registry string
	inspect := &cobra.Command{
		Use: "inspect", Short: "Show what a token may publish and when it expires",
		Args: cobra.NoArgs,
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
		return cfgErr
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
	owner, repo, ok := token.CurrentRepo(ctx, app.Env, app.Cwd)
	if !ok {
		return nil, diag.New(CodeTokenRepoUnknown, "cannot tell which GitHub repository to list secrets of").
			WithHint("run inside a clone whose `origin` remote is on GitHub, or set GITHUB_REPOSITORY=owner/repo")
	}
	full := owner + "/" + repo
	st.Repository = full
	s, err := loadSession(ctx, app)
	if errors.Is(err, errNotLoggedIn) {
		st.Note = loginNote
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	st.Login = s.User.Login
	c, tok := s.Client, s.Cred.AccessToken
	forbidden := func(err error) error {
		return diag.New(CodeGitHubSecretsDenied, "GitHub did not let %s read the secrets of %s", s.User.Login, full).Wrap(err).
			WithHint("install the putitoutthere-cli App on %s (https://github.com/apps/putitoutthere-cli); reading secret names needs admin or write access to the repository", full)
	}
	classify := func(err error) error {
		switch st := gh.StatusOf(err); {
		case st == 403 || st == 404:
			return forbidden(err)
		case isTransient(err):
			return unreachable(c, err)
		}
		return diag.New(CodeGitHubUnreachable, "listing the secrets of %s failed", full).Wrap(err)
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

func tokenInspect(ctx context.Context, app *App, value string, given bool, registry string) error {
	return notImplemented("token inspect")
}
