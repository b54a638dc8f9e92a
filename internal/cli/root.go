// Package cli is the command tree. It is the only package that imports cobra,
// decides exit codes, and prints errors and hints.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=1.2.3".
var Version = ""

// Stdio are the streams a command reads and writes.
type Stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// App carries what every command needs: streams (already redacting), the
// environment, and the global flags.
type App struct {
	Out io.Writer // results; with --json exactly one JSON document
	Err io.Writer // progress and diagnostics
	In  io.Reader
	Env env.Env

	Cwd        string // --cwd, absolute
	ConfigPath string // --config, as given ("" = <cwd>/putitoutthere.toml)
	JSON       bool   // --json

	// IsTerminal reports whether Out is a terminal (colour, progress).
	IsTerminal bool

	// annotated: the command already wrote its failures as annotations.
	annotated bool
	// actions: inside GitHub Actions whatever Env says (see InActions).
	actions bool

	// Timeout is --timeout (0 = none); deadline is the context it made.
	Timeout        time.Duration
	deadline       context.Context
	cancelDeadline context.CancelFunc
}

// ConfigFile is the path of the config file to read.
func (a *App) ConfigFile() string {
	if a.ConfigPath == "" {
		return filepath.Join(a.Cwd, config.FileName)
	}
	if filepath.IsAbs(a.ConfigPath) {
		return a.ConfigPath
	}
	return filepath.Join(a.Cwd, a.ConfigPath)
}

// PrintJSON writes v as the command's one JSON document. An object gets
// "schema": SchemaVersion as its first key (see schema.go); an array (the
// plan's matrix, which GitHub reads as it is) is printed unchanged.
func (a *App) PrintJSON(v any) error {
	data, err := withSchema(v)
	if err != nil {
		return err
	}
	_, err = a.Out.Write(data)
	return err
}

// Color reports whether colour may be used on Out.
func (a *App) Color() bool {
	return a.IsTerminal && !a.Env.Has("NO_COLOR") && a.Env.Value("TERM") != "dumb"
}

// VersionString is the version: the one embedded at release time, else
// the module version Go recorded (`go install ...@v1.2.3`, or a pseudo-version
// from a checkout), else "dev".
func VersionString() string {
	v := Version
	if v == "" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	if v == "" {
		v = "dev"
	}
	return strings.TrimPrefix(v, "v")
}

// Commit is set at build time like Version; without it the commit comes
// from the VCS stamp Go writes into builds from a checkout.
var Commit = ""

// CommitString is the commit the binary was built from (12 hex digits,
// "-dirty" when the checkout had changes), or "" when unknown.
func CommitString() string {
	if Commit != "" {
		return Commit
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" && dirty {
		rev += "-dirty"
	}
	return rev
}

// versionLine is what `version` and `--version` print.
func versionLine() string {
	c := CommitString()
	if c == "" {
		c = "unknown commit"
	} else {
		c = "commit " + c
	}
	return fmt.Sprintf("putitoutthere %s (%s, %s, %s/%s)\n", VersionString(), c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// Main runs the CLI with args and returns the exit code. It registers every
// credential found in the environment for redaction before anything prints.
func Main(ctx context.Context, args []string, stdio Stdio) int {
	return MainEnv(ctx, args, stdio, env.FromOS())
}

// MainEnv is Main with an explicit environment (tests).
func MainEnv(ctx context.Context, args []string, stdio Stdio, e env.Env) int {
	for _, name := range secret.CredentialEnvNames {
		secret.Register(e.Value(name))
	}
	for _, name := range e.Names() {
		if secret.LooksSecret(name) {
			secret.Register(e.Value(name))
		}
	}
	out, errw := secret.Writer(stdio.Out), secret.Writer(stdio.Err)
	// What a redacting writer still holds (a partial last line) is written
	// on the way out, whatever the exit.
	defer func() {
		_ = out.Flush()
		_ = errw.Flush()
	}()
	app := &App{
		Out: out,
		Err: errw,
		In:  stdio.In,
		Env: e,
	}
	app.IsTerminal = isTerminal(stdio.Out)
	app.Out = decorate(app.Out, app.IsTerminal, e)
	app.Err = decorate(app.Err, isTerminal(stdio.Err), e)
	root := NewRoot(app)
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(app.Out)
	root.SetErr(app.Err)
	err := root.ExecuteContext(ctx)
	if app.cancelDeadline != nil {
		defer app.cancelDeadline()
	}
	if err == nil {
		return diag.ExitOK
	}
	// Stopped by a signal: one clear line, and the shell's 128+signal code,
	// whatever the command was doing when the signal arrived.
	var se *SignalError
	if errors.As(context.Cause(ctx), &se) {
		// Under --json a command that already printed its document keeps it
		// the only one.
		if !app.JSON || !errors.Is(err, diag.ErrSilent) {
			report(app, diag.New("PIOT_INTERRUPTED", "interrupted (%s)", se.Name()).
				WithHint("re-run the command; publish resumes from what already landed"))
		}
		return se.ExitCode()
	}
	if errors.Is(err, diag.ErrSilent) {
		return diag.ExitFail
	}
	if errors.Is(err, diag.ErrSilentUsage) {
		return diag.ExitUsage
	}
	if app.deadline != nil && errors.Is(app.deadline.Err(), context.DeadlineExceeded) && (!isDiag(err) || diag.CodeOf(err) == diag.CodeInternal) {
		err = diag.New("PIOT_TIMEOUT", "stopped after --timeout %s", app.Timeout).Wrap(err).
			WithHint("raise --timeout (the action's timeout input); a re-run of publish skips what was already published")
	}
	if ctx.Err() != nil && !isDiag(err) {
		err = diag.New("PIOT_INTERRUPTED", "interrupted").Wrap(err)
	}
	// cobra reports an unknown command as a plain error: it is a usage error.
	if !isDiag(err) && strings.HasPrefix(err.Error(), "unknown command") {
		err = &diag.UsageError{Err: err}
	}
	var ue *diag.UsageError
	if errors.As(err, &ue) {
		err = diag.Usage(diag.CodeUsage, "%s", ue.Err.Error()).WithHint("run `putitoutthere --help` for the commands, or `putitoutthere COMMAND --help` for a command's flags")
	}
	report(app, err)
	return diag.ExitCode(err)
}

// SignalError is the cause of a context cancelled by SIGINT or SIGTERM.
type SignalError struct{ Signal os.Signal }

func (e *SignalError) Error() string { return "interrupted by " + e.Name() }

// Name is the signal's conventional name.
func (e *SignalError) Name() string {
	if e.Signal == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// ExitCode is 128 + the signal number, as a shell reports a killed process.
func (e *SignalError) ExitCode() int {
	if e.Signal == syscall.SIGTERM {
		return 128 + 15
	}
	return 128 + 2
}

func isDiag(err error) bool {
	var e *diag.Error
	return errors.As(err, &e)
}

// report prints err once: as a JSON document under --json, else on stderr
// with its code and hint.
func report(app *App, err error) {
	app.annotateError(err)
	code := diag.CodeOf(err)
	hint := diag.HintOf(err)
	msg := err.Error()
	if app.JSON {
		_ = app.PrintJSON(map[string]any{"error": map[string]any{
			"code": code, "message": msg, "hint": hint, "exit_code": diag.ExitCode(err),
		}})
		return
	}
	// The code goes on the first line (the summary); detail lines follow.
	first, rest, _ := strings.Cut(msg, "\n")
	fmt.Fprintf(app.Err, "error: %s [%s]\n", first, code)
	if rest != "" {
		fmt.Fprintln(app.Err, rest)
	}
	if hint != "" {
		fmt.Fprintf(app.Err, "hint: %s\n", hint)
	}
}

// NewRoot builds the command tree.
func NewRoot(app *App) *cobra.Command {
	var cwd string
	root := &cobra.Command{
		Use:   "putitoutthere",
		Short: "Release orchestrator for crates.io, PyPI and npm from GitHub Actions",
		Long: `putitoutthere reads putitoutthere.toml, works out which packages changed and at
which version (plan), ships them in dependency order with OIDC trusted publishing
(publish), and tells you before a release fails why a registry would refuse it
(doctor).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       VersionString(),
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if cwd == "" {
				cwd = "."
			}
			abs, err := filepath.Abs(cwd)
			if err != nil {
				return &diag.UsageError{Err: err}
			}
			if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
				return diag.Usage(diag.CodeUsage, "--cwd %s is not a directory", cwd)
			}
			app.Cwd = abs
			if app.Timeout < 0 {
				return diag.Usage(diag.CodeUsage, "--timeout %s is negative", app.Timeout)
			}
			if app.Timeout > 0 {
				ctx, cancel := context.WithTimeout(cmd.Context(), app.Timeout)
				app.deadline, app.cancelDeadline = ctx, cancel
				cmd.SetContext(ctx)
			}
			if app.ConfigPath == "" && cmd.Name() != "init" { // init finds the repository root itself
				app.Cwd = configRoot(abs)
			}
			return nil
		},
	}
	root.SetVersionTemplate(versionLine())
	root.Flags().Bool("version", false, "print the version and exit")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &diag.UsageError{Err: err} })
	pf := root.PersistentFlags()
	pf.StringVar(&cwd, "cwd", ".", "run as if started in this directory")
	pf.StringVar(&app.ConfigPath, "config", "", "path to the config file (default <cwd>/putitoutthere.toml)")
	pf.BoolVar(&app.JSON, "json", false, "print one JSON document on stdout")
	pf.DurationVar(&app.Timeout, "timeout", 0, "give up after this long (e.g. 30m); 0 = no limit")

	root.AddCommand(
		newInitCmd(app),
		newPlanCmd(app),
		newPublishCmd(app),
		newPrepareCmd(app),
		newDoctorCmd(app),
		newPreflightCmd(app),
		newStatusCmd(app),
		newTokenCmd(app),
		newAuthCmd(app),
		newRehearseCmd(app),
		newVersionCmd(app),
		newManCmd(app),
	)
	// cobra's completion command prints its help and exits 0 for a shell it
	// does not support (`completion tcsh`): make that a usage error.
	// The generated scripts are written where cobra's root writes when the
	// command is created: set it first.
	if app.Out != nil {
		root.SetOut(app.Out)
	}
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(cmd *cobra.Command, args []string) error {
				if len(args) == 0 {
					return cmd.Help()
				}
				return diag.Usage(diag.CodeUsage, "unsupported shell %q for `%s`", args[0], cmd.CommandPath()).
					WithHint("supported shells: bash, zsh, fish, powershell")
			}
		}
	}
	// After the completion command exists, so it gets its examples too.
	polish(root, app)
	return root
}

func newVersionCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit and the Go version it was built with",
		Example: `  putitoutthere version
  putitoutthere --version
  putitoutthere version --json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if app.JSON {
				return app.PrintJSON(map[string]any{"schema": SchemaVersion, "version": VersionString(), "commit": CommitString(), "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH})
			}
			fmt.Fprint(app.Out, versionLine())
			return nil
		},
	}
}

// notImplemented is the answer of commands whose behaviour has not landed.
func notImplemented(name string) error {
	return diag.Usage(diag.CodeNotImplemented, "`%s` is not implemented yet", name)
}

// configRoot is the directory commands run in: dir itself when it holds
// putitoutthere.toml, else the nearest parent that does, searching no higher
// than the enclosing git repository's root (so `plan` works from a package's
// folder). Without a config anywhere, dir.
func configRoot(dir string) string {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, config.FileName)); err == nil {
			return d
		}
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return dir
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir
		}
		d = parent
	}
}
