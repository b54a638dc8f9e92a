// Package env reads the process environment with the one rule every command
// shares: a variable set to the empty string is unset (SPEC §5), so an
// unconfigured `${{ secrets.X }}` never shadows another path.
package env

import (
	"os"
	"sort"
	"strings"
)

// Env is a snapshot of environment variables. Commands take an Env rather than
// calling os.Getenv so tests can pass their own.
type Env map[string]string

// FromOS snapshots the process environment.
func FromOS() Env { return FromList(os.Environ()) }

// FromList builds an Env from KEY=VALUE pairs.
func FromList(list []string) Env {
	e := Env{}
	for _, kv := range list {
		if k, v, ok := strings.Cut(kv, "="); ok {
			e[k] = v
		}
	}
	return e
}

// Get returns the value of name and whether it is set and non-empty.
func (e Env) Get(name string) (string, bool) {
	v, ok := e[name]
	if !ok || v == "" {
		return "", false
	}
	return v, true
}

// Value returns the value of name, "" when unset or empty.
func (e Env) Value(name string) string { v, _ := e.Get(name); return v }

// Has reports whether name is set and non-empty.
func (e Env) Has(name string) bool { _, ok := e.Get(name); return ok }

// Names returns the sorted names of the non-empty variables.
func (e Env) Names() []string {
	var out []string
	for k, v := range e {
		if v != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// InActions reports whether we run inside GitHub Actions.
func (e Env) InActions() bool { return e.Value("GITHUB_ACTIONS") == "true" }

// OIDCAvailable reports whether a GitHub ID token can be requested
// (both request variables set and non-empty).
func (e Env) OIDCAvailable() bool {
	return e.Has("ACTIONS_ID_TOKEN_REQUEST_URL") && e.Has("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
}

// List returns KEY=VALUE pairs (sorted), for exec.
func (e Env) List() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+e[k])
	}
	return out
}
