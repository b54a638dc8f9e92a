// Package diag holds the error type every command returns, its stable codes,
// and the mapping from errors to exit codes. The CLI is the only place that
// prints these; everything below it only builds them.
package diag

import (
	"errors"
	"fmt"
	"strings"
)

// Exit codes (SPEC §11).
const (
	ExitOK    = 0 // success
	ExitFail  = 1 // a check failed or a publish failed
	ExitUsage = 2 // usage or config error
)

// Error is a user-facing failure: a stable code, what failed, where, and what
// to do. Err, when set, is the underlying cause (kept for errors.Is/As).
type Error struct {
	Code string // stable, e.g. PIOT_SHALLOW_CLONE; listed in docs/errors.md
	Msg  string // what failed and where
	Hint string // what to do; may be empty
	Exit int    // ExitFail or ExitUsage; 0 means ExitFail
	Err  error
	// Details are extra lines (e.g. one per config problem), printed under Msg.
	Details []string
	// File, Line and Col locate the problem when it has a place in a file
	// (a workflow, a manifest); inside GitHub Actions the annotation points there.
	File      string
	Line, Col int
}

// At sets where the problem is and returns e.
func (e *Error) At(file string, line, col int) *Error {
	e.File, e.Line, e.Col = file, line, col
	return e
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Msg)
	for _, d := range e.Details {
		b.WriteString("\n  ")
		b.WriteString(d)
	}
	if e.Err != nil && !strings.Contains(e.Msg, e.Err.Error()) {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// New builds an Error that exits 1.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Exit: ExitFail}
}

// Usage builds an Error that exits 2 (usage or config problem).
func Usage(code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Exit: ExitUsage}
}

// WithHint sets the hint and returns e.
func (e *Error) WithHint(format string, args ...any) *Error {
	e.Hint = fmt.Sprintf(format, args...)
	return e
}

// Wrap sets the cause and returns e.
func (e *Error) Wrap(err error) *Error { e.Err = err; return e }

// ErrSilent means "exit 1, the command already reported why" (e.g. doctor
// printed its failing checks).
var ErrSilent = errors.New("silent failure")

// ErrSilentUsage means "exit 2, the command already reported why" (doctor
// --json printed its report for a config that does not load).
var ErrSilentUsage = errors.New("silent usage failure")

// ExitCode maps any error to an exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, ErrSilentUsage) {
		return ExitUsage
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Exit == 0 {
			return ExitFail
		}
		return e.Exit
	}
	var u *UsageError
	if errors.As(err, &u) {
		return ExitUsage
	}
	return ExitFail
}

// UsageError marks bad flags or arguments.
type UsageError struct{ Err error }

func (u *UsageError) Error() string { return u.Err.Error() }
func (u *UsageError) Unwrap() error { return u.Err }

// CodeOf returns the stable code of err, or PIOT_INTERNAL when it has none.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	var u *UsageError
	if errors.As(err, &u) {
		return CodeUsage
	}
	return CodeInternal
}

// HintOf returns the hint of err, if any.
func HintOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}

// Codes shared across packages. Package-specific codes live next to the code
// that raises them; every code is listed in docs/errors.md.
const (
	CodeInternal       = "PIOT_INTERNAL"
	CodeUsage          = "PIOT_USAGE"
	CodeNotImplemented = "PIOT_NOT_IMPLEMENTED"
)
