package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/putitoutthere/putitoutthere/internal/authstore"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	gh "github.com/putitoutthere/putitoutthere/internal/registry/github"
)

// GitHubClientID is the public putitoutthere-cli GitHub App. GitHub Apps
// ignore OAuth scopes: what the token may read (secrets, environments and
// actions metadata, read-only) is set by the App's permissions.
const GitHubClientID = "Iv23lio0NtN1koa0Rwle"

// refreshMargin: a token expiring sooner than this is refreshed first.
const refreshMargin = 5 * time.Minute

// Stable codes of the auth and token commands (docs/errors.md).
const (
	CodeAuthNotLoggedIn      = "PIOT_AUTH_NOT_LOGGED_IN"
	CodeAuthRevoked          = "PIOT_AUTH_REVOKED"
	CodeAuthDenied           = "PIOT_AUTH_DENIED"
	CodeAuthCodeExpired      = "PIOT_AUTH_CODE_EXPIRED"
	CodeAuthDeviceFlow       = "PIOT_AUTH_DEVICE_FLOW_UNAVAILABLE"
	CodeAuthStore            = "PIOT_AUTH_STORE"
	CodeGitHubUnreachable    = "PIOT_GITHUB_UNREACHABLE"
	CodeGitHubSecretsDenied  = "PIOT_GITHUB_SECRETS_FORBIDDEN"
	CodeGitHubRateLimited    = "PIOT_GITHUB_RATE_LIMITED"
	CodeGitHubMalformed      = "PIOT_GITHUB_ANSWER_MALFORMED"
	CodeTokenRepoUnknown     = "PIOT_TOKEN_REPO_UNKNOWN"
	CodeTokenNone            = "PIOT_TOKEN_NONE"
	CodeTokenRegistryUnknown = "PIOT_TOKEN_REGISTRY_UNKNOWN"
	CodeTokenInspectFailed   = "PIOT_TOKEN_INSPECT_FAILED"
)

// ghClock is the device flow's clock and ghRetrySleep the HTTP retry wait;
// tests replace both so nothing waits for real.
var (
	ghClock      gh.Clock = gh.RealClock{}
	ghRetrySleep func(ctx context.Context, d time.Duration) error
)

func newGitHubClient(app *App) *gh.Client {
	c := gh.New(app.Env)
	if ghRetrySleep != nil {
		c.HTTP.Sleep = ghRetrySleep
	}
	return c
}

func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return u
}

func newAuthCmd(app *App) *cobra.Command {
	c := &cobra.Command{Use: "auth", Short: "Sign in to GitHub (for `token list --secrets`)", Args: cobra.ArbitraryArgs, RunE: groupRunE}
	c.AddCommand(
		&cobra.Command{
			Use: "login", Short: "Sign in through the putitoutthere-cli GitHub App (device flow)", Args: noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return authLogin(cmd.Context(), app) },
		},
		&cobra.Command{
			Use: "logout", Short: "Remove the stored GitHub credential", Args: noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return authLogout(app) },
		},
		&cobra.Command{
			Use: "status", Short: "Show whether a GitHub credential is stored and still valid", Args: noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return authStatus(cmd.Context(), app) },
		},
	)
	return c
}

func openStore(app *App) (*authstore.Store, error) {
	s, err := authstore.New(app.Env)
	if err != nil {
		return nil, diag.Usage(CodeAuthStore, "cannot open the credential store").Wrap(err).
			WithHint("set %s to %q or %q, or unset it", authstore.EnvStore, authstore.BackendFile, authstore.BackendKeyring)
	}
	return s, nil
}

// unreachable is the error for network failures and 5xx: the credential is kept.
func unreachable(c *gh.Client, err error) error {
	return diag.New(CodeGitHubUnreachable, "could not reach GitHub (%s)", hostOf(c.APIURL)).Wrap(err).
		WithHint("this looks transient (network or a GitHub outage); the stored credential was kept, try again later")
}

// loginUnreachable is unreachable for `auth login`, where no credential
// exists yet to be kept: nothing was stored, so the fix is to log in again.
func loginUnreachable(url string, err error) error {
	return diag.New(CodeGitHubUnreachable, "could not reach GitHub (%s)", hostOf(url)).Wrap(err).
		WithHint("this looks transient (network or a GitHub outage); nothing was stored, run `putitoutthere auth login` again later")
}

// rateLimited turns a GitHub rate-limit answer into its error, or returns nil.
func rateLimited(err error) error {
	ok, reset := gh.IsRateLimited(err)
	if !ok {
		return nil
	}
	when := "later"
	if !reset.IsZero() {
		when = "after " + reset.UTC().Format("15:04 MST")
	}
	return diag.New(CodeGitHubRateLimited, "GitHub's API rate limit is exhausted for this login").Wrap(err).
		WithHint("try again %s; the credential is fine and was kept", when)
}

// malformed is the error for an answer that is not what GitHub's protocol
// says: retrying will not help, and the server (GITHUB_SERVER_URL /
// GITHUB_API_URL, a proxy) is the thing to check.
func malformed(url string, err error) error {
	return diag.New(CodeGitHubMalformed, "%s answered with something that is not a valid GitHub answer", hostOf(url)).Wrap(err).
		WithHint("check that GITHUB_SERVER_URL and GITHUB_API_URL point at GitHub (or your GitHub Enterprise host) and that no proxy rewrites its answers; a stored credential is kept")
}

func isTransient(err error) bool {
	if errors.Is(err, gh.ErrMalformed) {
		return false
	}
	s := gh.StatusOf(err)
	return s == 0 || s == 429 || s >= 500
}

func authLogin(ctx context.Context, app *App) error {
	store, err := openStore(app)
	if err != nil {
		return err
	}
	c := newGitHubClient(app)
	dc, err := c.DeviceCode(ctx, GitHubClientID, ghClock)
	if err != nil {
		if errors.Is(err, gh.ErrDeviceFlowDisabled) {
			return diag.New(CodeAuthDeviceFlow, "GitHub refused to start the device flow for the putitoutthere-cli App at %s", hostOf(c.ServerURL)).Wrap(err).
				WithHint("check GITHUB_SERVER_URL points at github.com (or your GitHub Enterprise host where the App is installed)")
		}
		if errors.Is(err, gh.ErrMalformed) {
			return malformed(c.ServerURL, err)
		}
		return loginUnreachable(c.ServerURL, err)
	}
	fmt.Fprintf(app.Err, "First copy your one-time code: %s\n", dc.UserCode)
	fmt.Fprintf(app.Err, "Then open %s in a browser and enter it.\n", dc.VerificationURI)
	fmt.Fprintf(app.Err, "Waiting for authorization (the code expires in %s)...\n", time.Duration(dc.ExpiresIn)*time.Second)
	tok, err := c.PollToken(ctx, GitHubClientID, dc, ghClock)
	switch {
	case errors.Is(err, gh.ErrExpiredToken):
		return diag.New(CodeAuthCodeExpired, "the one-time code %s expired before it was entered", dc.UserCode).
			WithHint("run `putitoutthere auth login` again and enter the new code within %s", time.Duration(dc.ExpiresIn)*time.Second)
	case errors.Is(err, gh.ErrAccessDenied):
		return diag.New(CodeAuthDenied, "the authorization was cancelled on GitHub").
			WithHint("run `putitoutthere auth login` again and choose Authorize; the putitoutthere-cli App only reads secret names, environments and actions metadata")
	case err != nil && ctx.Err() != nil:
		return err
	case errors.Is(err, gh.ErrMalformed):
		return malformed(c.ServerURL, err)
	case err != nil:
		var oe *gh.OAuthError
		if errors.As(err, &oe) || !isTransient(err) {
			return diag.New(CodeAuthDeviceFlow, "GitHub refused the login").Wrap(err).
				WithHint("run `putitoutthere auth login` again; if it keeps failing, GitHub's error code above says why")
		}
		return loginUnreachable(c.ServerURL, err)
	}
	u, err := c.User(ctx, tok.AccessToken)
	if errors.Is(err, gh.ErrMalformed) {
		return malformed(c.APIURL, err)
	}
	if err != nil {
		return loginUnreachable(c.APIURL, err)
	}
	cred := &authstore.Credential{
		Login: u.Login, AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken,
		ExpiresAt: tok.ExpiresAt, RefreshExpiresAt: tok.RefreshExpiresAt,
		ServerURL: c.ServerURL, APIURL: c.APIURL, CreatedAt: ghClock.Now().UTC(),
	}
	loc, err := store.Save(cred)
	if err != nil {
		return diag.New(CodeAuthStore, "logged in as %s but could not store the credential", u.Login).Wrap(err).
			WithHint("make the user config directory writable, or set %s=file", authstore.EnvStore)
	}
	if app.JSON {
		return app.PrintJSON(map[string]any{"logged_in": true, "login": u.Login, "host": hostOf(c.ServerURL), "store": loc, "expires_at": nullTime(tok.ExpiresAt)})
	}
	fmt.Fprintf(app.Out, "Logged in to %s as %s\n", hostOf(c.ServerURL), u.Login)
	fmt.Fprintf(app.Out, "Credential stored in %s\n", loc)
	return nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func authLogout(app *App) error {
	store, err := openStore(app)
	if err != nil {
		return err
	}
	removed, err := store.Delete()
	if err != nil {
		return diag.New(CodeAuthStore, "could not remove the stored GitHub credential").Wrap(err).
			WithHint("remove %s by hand, or the keyring entry service=%s user=%s", store.Path, authstore.Service, authstore.User)
	}
	if app.JSON {
		return app.PrintJSON(map[string]any{"logged_out": len(removed) > 0, "removed": removed})
	}
	if len(removed) == 0 {
		fmt.Fprintln(app.Out, "Not logged in; nothing to remove.")
		return nil
	}
	for _, l := range removed {
		fmt.Fprintf(app.Out, "Removed the GitHub credential from %s\n", l)
	}
	fmt.Fprintln(app.Out, "To revoke the App's access too, visit https://github.com/settings/apps/authorizations")
	return nil
}

// session is a usable GitHub login.
type session struct {
	Cred      *authstore.Credential
	Loc       authstore.Location
	Client    *gh.Client
	Refreshed bool
	User      *gh.User
}

// errNotLoggedIn: no credential is stored.
var errNotLoggedIn = errors.New("not logged in")

// loadSession loads the stored credential, refreshes it when it is expired
// or expires within refreshMargin (storing the rotated pair), and checks it
// with GET /user. A 401 is answered with one refresh before the credential
// is called revoked. Errors: errNotLoggedIn, or a *diag.Error
// (revoked / unreachable / store).
func loadSession(ctx context.Context, app *App) (*session, error) {
	store, err := openStore(app)
	if err != nil {
		return nil, err
	}
	cred, loc, err := store.Load()
	if errors.Is(err, authstore.ErrNotFound) {
		return nil, errNotLoggedIn
	}
	if err != nil {
		return nil, diag.New(CodeAuthStore, "could not read the stored GitHub credential").Wrap(err).
			WithHint("run `putitoutthere auth logout` and then `putitoutthere auth login`")
	}
	s := &session{Cred: cred, Loc: loc, Client: newGitHubClient(app)}
	// A token goes only to the host it was issued by: a login made against
	// GitHub Enterprise (or an emulator) is not sent to api.github.com.
	if cred.APIURL != "" && !strings.EqualFold(strings.TrimRight(cred.APIURL, "/"), s.Client.APIURL) {
		return nil, diag.New(CodeAuthNotLoggedIn, "the stored GitHub login is for %s, not %s", hostOf(cred.APIURL), hostOf(s.Client.APIURL)).
			WithHint("run `putitoutthere auth login` for %s, or set GITHUB_API_URL and GITHUB_SERVER_URL to the host you logged in to", hostOf(s.Client.ServerURL))
	}
	revoked := func(cause error) error {
		return diag.New(CodeAuthRevoked, "the stored GitHub login of %s is no longer valid (revoked, or unused for 6 months)", cred.Login).Wrap(cause).
			WithHint("run `putitoutthere auth login` to sign in again; the old credential is kept until then (`putitoutthere auth logout` removes it)")
	}
	refresh := func() error {
		if cred.RefreshToken == "" {
			return revoked(errors.New("the access token expired and there is no refresh token"))
		}
		tok, err := s.Client.Refresh(ctx, GitHubClientID, cred.RefreshToken, ghClock)
		if errors.Is(err, gh.ErrMalformed) {
			return malformed(s.Client.ServerURL, err)
		}
		if err != nil && isTransient(err) && !errors.Is(err, gh.ErrBadRefreshToken) {
			var oe *gh.OAuthError
			if !errors.As(err, &oe) {
				return unreachable(s.Client, err)
			}
		}
		if err != nil {
			// Refused by GitHub (bad_refresh_token or another OAuth error):
			// the login cannot be renewed.
			return revoked(err)
		}
		cred.AccessToken, cred.RefreshToken = tok.AccessToken, tok.RefreshToken
		cred.ExpiresAt, cred.RefreshExpiresAt = tok.ExpiresAt, tok.RefreshExpiresAt
		// The old pair stopped working: the new one must be stored now.
		l, err := store.Save(cred)
		if err != nil {
			return diag.New(CodeAuthStore, "refreshed the GitHub login but could not store it").Wrap(err).
				WithHint("make the user config directory writable, then run `putitoutthere auth login`")
		}
		s.Loc, s.Refreshed = l, true
		return nil
	}
	if !cred.ExpiresAt.IsZero() && ghClock.Now().Add(refreshMargin).After(cred.ExpiresAt) {
		if err := refresh(); err != nil {
			return nil, err
		}
	}
	u, err := s.Client.User(ctx, cred.AccessToken)
	if gh.StatusOf(err) == 401 && !s.Refreshed {
		if rerr := refresh(); rerr != nil {
			return nil, rerr
		}
		u, err = s.Client.User(ctx, cred.AccessToken)
	}
	if rl := rateLimited(err); rl != nil {
		return nil, rl
	}
	switch {
	case err == nil:
	case gh.StatusOf(err) == 401:
		return nil, revoked(err)
	case errors.Is(err, gh.ErrMalformed):
		return nil, malformed(s.Client.APIURL, err)
	case isTransient(err):
		return nil, unreachable(s.Client, err)
	default:
		return nil, diag.New(CodeGitHubUnreachable, "GitHub refused to say who is logged in").Wrap(err).
			WithHint("run `putitoutthere auth login` again")
	}
	s.User = u
	if u.Login != "" && u.Login != cred.Login {
		cred.Login = u.Login
	}
	return s, nil
}

func authStatus(ctx context.Context, app *App) error {
	s, err := loadSession(ctx, app)
	if errors.Is(err, errNotLoggedIn) {
		return diag.New(CodeAuthNotLoggedIn, "not logged in to GitHub").
			WithHint("run `putitoutthere auth login` (only `token list --secrets` needs it)")
	}
	if err != nil {
		return err
	}
	host := hostOf(s.Client.ServerURL)
	if app.JSON {
		return app.PrintJSON(map[string]any{
			"logged_in": true, "login": s.User.Login, "host": host, "store": s.Loc,
			"expires_at": nullTime(s.Cred.ExpiresAt), "refreshed": s.Refreshed,
		})
	}
	fmt.Fprintf(app.Out, "Logged in to %s as %s\n", host, s.User.Login)
	fmt.Fprintf(app.Out, "Credential stored in %s\n", s.Loc)
	if !s.Cred.ExpiresAt.IsZero() {
		left := s.Cred.ExpiresAt.Sub(ghClock.Now()).Round(time.Minute)
		fmt.Fprintf(app.Out, "Access token expires %s (in %s)%s\n", s.Cred.ExpiresAt.UTC().Format(time.RFC3339), left, map[bool]string{true: "; refreshed just now", false: ""}[s.Refreshed])
	}
	return nil
}
