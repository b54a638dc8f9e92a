// Package run starts the ecosystem tools (cargo, npm) with a minimal
// environment: an allowlist of harmless variables plus exactly the credentials
// the caller passes for that tool. No other secret on the runner reaches them,
// and their output is redacted before it is kept or shown.
package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Allowlist is every variable copied from our environment into a tool's.
// Everything else (tokens, cloud keys, GITHUB_*) stays behind; credentials a
// tool needs are passed explicitly through Cmd.Env.
var Allowlist = []string{
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "LC_CTYPE",
	"TMPDIR", "TEMP", "TMP", "CARGO_HOME", "RUSTUP_HOME",
	"NPM_CONFIG_USERCONFIG", "npm_config_userconfig",
	// Windows basics: without them many programs cannot even start.
	"SystemRoot", "ComSpec", "PATHEXT", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "ProgramData", "windir",
}

// Cmd is one tool invocation. It is never run through a shell.
type Cmd struct {
	Dir   string
	Name  string
	Args  []string
	Env   []string // KEY=VALUE added to the allowlisted environment (the tool's credentials)
	Stdin io.Reader
}

// String is the command line for messages (arguments never carry secrets,
// but it is redacted anyway).
func (c Cmd) String() string {
	return secret.Redact(strings.TrimSpace(c.Name + " " + strings.Join(c.Args, " ")))
}

// Result is what a finished command printed, already redacted.
type Result struct {
	Stdout   string
	Stderr   string
	ExitCode int
}

// Runner runs commands. Exec is the real one; Fake records calls for tests.
type Runner interface {
	Run(ctx context.Context, c Cmd) (Result, error)
}

// RunError is a command that ran and exited non-zero. Stderr is the redacted
// tail of its error output, so the tool's own words reach the user.
type RunError struct {
	Cmd      string
	ExitCode int
	Stderr   string
}

func (e *RunError) Error() string {
	msg := fmt.Sprintf("%s exited with status %d", e.Cmd, e.ExitCode)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ":\n" + indent(s)
	}
	return msg
}

func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n")
}

// tailBytes bounds the stderr kept in a RunError.
const tailBytes = 4096

// Tail returns the last n bytes of s, starting at a line boundary when possible.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return "…" + s
}

// Environ builds a tool's environment: the allowlisted variables of base, then
// extra (later entries win). Sorted, so tests and logs are stable.
func Environ(base env.Env, extra []string) []string {
	m := map[string]string{}
	for _, k := range Allowlist {
		if v, ok := base.Get(k); ok {
			m[k] = v
		}
	}
	for _, kv := range extra {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Exec runs commands for real.
type Exec struct {
	// Base is where the allowlisted variables come from (the process env).
	Base env.Env
	// Stream, when set, receives the redacted output lines as they come
	// (progress for long `cargo publish` runs). The Result still holds all of it.
	Stream io.Writer
}

// Run implements Runner.
func (x Exec) Run(ctx context.Context, c Cmd) (Result, error) {
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = Environ(x.Base, c.Env)
	cmd.Stdin = c.Stdin
	// A killed tool's children may keep the pipes open; don't wait forever.
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if x.Stream != nil {
		// One redacting writer per stream: each holds back a partial line
		// that could be the start of a token until the rest arrives, so a
		// token split across two reads of the pipe is still masked whole.
		lw := &lockedWriter{w: x.Stream}
		so, se := secret.Writer(lw), secret.Writer(lw)
		cmd.Stdout = io.MultiWriter(&stdout, so)
		cmd.Stderr = io.MultiWriter(&stderr, se)
		defer func() {
			_ = so.Flush()
			_ = se.Flush()
			secret.Flush(x.Stream)
		}()
	}
	err := cmd.Run()
	res := Result{Stdout: secret.Redact(stdout.String()), Stderr: secret.Redact(stderr.String())}
	if err == nil {
		return res, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		res.ExitCode = ee.ExitCode()
		return res, &RunError{Cmd: c.String(), ExitCode: res.ExitCode, Stderr: Tail(res.Stderr, tailBytes)}
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("running %s: %w", c.String(), ctx.Err())
	}
	res.ExitCode = -1
	if errors.Is(err, exec.ErrNotFound) {
		return res, fmt.Errorf("running %s: %w", c.Name, &NotFoundError{Name: c.Name})
	}
	return res, fmt.Errorf("running %s: %w", c.String(), errors.New(secret.Redact(err.Error())))
}

// NotFoundError is a tool that is not installed (not on PATH).
type NotFoundError struct{ Name string }

func (e *NotFoundError) Error() string { return e.Name + " is not installed or not on PATH" }

// LookPath reports whether the tool name can be run, as Run would find it.
func (x Exec) LookPath(name string) error {
	path, ok := x.Base.Get("PATH")
	if !ok {
		if _, err := exec.LookPath(name); err != nil {
			return &NotFoundError{Name: name}
		}
		return nil
	}
	// The tool runs with Base's PATH, which may not be this process's.
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		for _, ext := range exeExts() {
			if fi, err := os.Stat(filepath.Join(dir, name+ext)); err == nil && !fi.IsDir() && (runtime.GOOS == "windows" || fi.Mode()&0o111 != 0) {
				return nil
			}
		}
	}
	return &NotFoundError{Name: name}
}

func exeExts() []string {
	if runtime.GOOS != "windows" {
		return []string{""}
	}
	return []string{".exe", ".cmd", ".bat", ""}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Fake is a Runner for tests: it records every call (with the environment the
// real runner would have built) and answers through Handler.
type Fake struct {
	Base    env.Env
	Handler func(c Cmd) (Result, error)

	mu    sync.Mutex
	calls []Call
}

// Call is one recorded invocation.
type Call struct {
	Cmd
	Environ []string // the full environment the tool would get
}

// Run implements Runner.
func (f *Fake) Run(ctx context.Context, c Cmd) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	f.mu.Lock()
	f.calls = append(f.calls, Call{Cmd: c, Environ: Environ(f.Base, c.Env)})
	f.mu.Unlock()
	if f.Handler == nil {
		return Result{}, nil
	}
	res, err := f.Handler(c)
	res.Stdout, res.Stderr = secret.Redact(res.Stdout), secret.Redact(res.Stderr)
	if err == nil && res.ExitCode != 0 {
		err = &RunError{Cmd: c.String(), ExitCode: res.ExitCode, Stderr: Tail(res.Stderr, tailBytes)}
	}
	return res, err
}

// Calls returns the recorded calls.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}
