package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
)

// Codes raised by Load and Parse. The top-level error carries one of
// NOT_FOUND, SYNTAX, UNKNOWN_KEY (every problem is an unknown key) or INVALID;
// each Problem carries its own, finer code.
const (
	CodeConfigNotFound   = "PIOT_CONFIG_NOT_FOUND"
	CodeConfigSyntax     = "PIOT_CONFIG_SYNTAX"
	CodeConfigUnknownKey = "PIOT_CONFIG_UNKNOWN_KEY"
	CodeConfigType       = "PIOT_CONFIG_TYPE"
	CodeConfigMissingKey = "PIOT_CONFIG_MISSING_KEY"
	CodeConfigInvalid    = "PIOT_CONFIG_INVALID"
	CodeConfigDuplicate  = "PIOT_CONFIG_DUPLICATE"
	CodeConfigUnknownDep = "PIOT_CONFIG_UNKNOWN_DEPENDENCY"
	CodeConfigCycle      = "PIOT_CONFIG_CYCLE"
	CodeConfigPathEscape = "PIOT_CONFIG_PATH_ESCAPE"
)

// Problem is one thing wrong with the config, at a position.
type Problem struct {
	File    string `json:"file"`
	Pos     Pos    `json:"pos"`
	Package string `json:"package,omitempty"` // package name, `#N` when it has none, "" for top-level keys
	Key     string `json:"key,omitempty"`     // dotted key, e.g. "kind", "trust_policy.workflow"
	Msg     string `json:"message"`
	Code    string `json:"code"`
}

// String formats p as `file:line:col: package "x": key `k`: msg`.
func (p Problem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: ", p.File, p.Pos.Line, p.Pos.Col)
	if p.Package != "" {
		if strings.HasPrefix(p.Package, "#") {
			fmt.Fprintf(&b, "package %s: ", p.Package)
		} else {
			fmt.Fprintf(&b, "package %q: ", p.Package)
		}
	}
	if p.Key != "" {
		fmt.Fprintf(&b, "key `%s`: ", p.Key)
	}
	b.WriteString(p.Msg)
	return b.String()
}

// ProblemsError holds every problem found in one config file. It is the
// cause (Err) of the *diag.Error that Parse and Load return, so callers such
// as doctor can list problems with their positions via errors.As.
type ProblemsError struct {
	File     string
	Problems []Problem
	summary  string
}

// Error is the one-line summary; the problems themselves are the
// diag.Error's Details (so they print once).
func (e *ProblemsError) Error() string { return e.summary }

// ProblemsOf returns the config problems carried by err, if any.
func ProblemsOf(err error) []Problem {
	var pe *ProblemsError
	if errors.As(err, &pe) {
		return pe.Problems
	}
	return nil
}

// Load reads and validates the config file at path. Problems are returned as
// one *diag.Error (exit 2) listing every problem with file:line:col and key.
func Load(path string) (*Config, error) {
	data, err := safefile.ReadFile(path, safefile.MaxConfig)
	if err != nil {
		if errors.Is(err, safefile.ErrNotRegular) {
			if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
				return nil, diag.Usage(CodeConfigNotFound, "%s is a directory, not a config file", path).
					WithHint("pass --config the path of putitoutthere.toml itself (e.g. --config %s)", filepath.Join(path, FileName))
			}
			return nil, diag.Usage(CodeConfigNotFound, "%s is not a regular file", path).Wrap(err).
				WithHint("the config must be a plain file; a symlink may point only at a regular file")
		}
		if errors.Is(err, safefile.ErrTooLarge) {
			return nil, diag.Usage(CodeConfigInvalid, "%s is too large to be a config file", path).Wrap(err).
				WithHint("putitoutthere.toml is read whole and may be at most %d bytes", safefile.MaxConfig)
		}
		if os.IsNotExist(err) {
			return nil, diag.Usage(CodeConfigNotFound, "no config file at %s", path).
				WithHint("run `putitoutthere init` to write one, or pass --config PATH")
		}
		if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
			return nil, diag.Usage(CodeConfigNotFound, "%s is a directory, not a config file", path).
				WithHint("pass --config the path of putitoutthere.toml itself (e.g. --config %s)", filepath.Join(path, FileName))
		}
		if os.IsPermission(err) {
			return nil, diag.Usage(CodeConfigNotFound, "cannot read %s: permission denied", path).
				WithHint("make the file readable by the user running putitoutthere")
		}
		return nil, diag.Usage(CodeConfigNotFound, "reading %s", path).Wrap(err).
			WithHint("check that %s is a readable file", path)
	}
	cfg, err := parse(displayName(path), data)
	if err != nil {
		return cfg, err
	}
	cfg.File = path
	// The config sits at the repository root: no package path may leave it,
	// symlinks included.
	if err := CheckPathsInRepo(cfg, filepath.Dir(path)); err != nil {
		return nil, err
	}
	if ps := checkInheritedVersions(cfg, filepath.Dir(path)); len(ps) > 0 {
		return nil, problemsError(displayName(cfg.File), ps)
	}
	return cfg, nil
}

// displayName is path relative to the working directory when it lies under
// it, so problems read `putitoutthere.toml:3:1:` rather than a long absolute
// path (and stay clickable in a terminal).
func displayName(path string) string {
	if !filepath.IsAbs(path) {
		return path
	}
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return path
	}
	return rel
}

// Parse parses and validates config text; name is the file name used in
// messages. It reports every problem, not only the first.
func Parse(name string, data []byte) (*Config, error) {
	return parse(name, data)
}

func parse(name string, data []byte) (*Config, error) {
	// Editors on Windows may save a UTF-8 byte order mark; it is not TOML
	// but carries no meaning, so it is dropped.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	root, serr := parseTree(data)
	if serr != nil {
		p := Problem{File: name, Pos: serr.pos, Msg: syntaxMsg(serr.msg), Code: CodeConfigSyntax}
		return nil, problemsError(name, []Problem{p})
	}
	v := &validator{file: name}
	cfg := v.config(root)
	if len(v.problems) > 0 {
		return nil, problemsError(name, v.problems)
	}
	return cfg, nil
}

// syntaxMsg trims go-toml's "toml: " prefix.
func syntaxMsg(s string) string {
	s = strings.TrimPrefix(s, "toml: ")
	return "TOML syntax error: " + s
}

// maxProblemLen bounds one problem's message.
const maxProblemLen = 400

func problemsError(name string, ps []Problem) *diag.Error {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Pos.Line != ps[j].Pos.Line {
			return ps[i].Pos.Line < ps[j].Pos.Line
		}
		return ps[i].Pos.Col < ps[j].Pos.Col
	})
	code := CodeConfigInvalid
	allUnknown := true
	for _, p := range ps {
		if p.Code == CodeConfigSyntax {
			code = CodeConfigSyntax
		}
		if p.Code != CodeConfigUnknownKey {
			allUnknown = false
		}
	}
	if allUnknown {
		code = CodeConfigUnknownKey
	}
	noun := "problems"
	if len(ps) == 1 {
		noun = "problem"
	}
	e := diag.Usage(code, "%s: %d %s", name, len(ps), noun)
	if code == CodeConfigSyntax {
		e.Msg = fmt.Sprintf("%s is not valid TOML", name)
	}
	for i := range ps {
		// A message quotes values from the file: a huge one is not echoed whole.
		ps[i].Msg = safefile.Truncate(ps[i].Msg, maxProblemLen)
		e.Details = append(e.Details, ps[i].String())
	}
	e.Err = &ProblemsError{File: name, Problems: ps, summary: e.Msg}
	e.Hint = "fix each line above; docs/configuration.md lists every key, its type and default"
	return e
}
