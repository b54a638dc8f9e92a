// Package token finds registry credentials (in the environment and, by name,
// among a repository's GitHub secrets) and inspects what a token may do,
// without ever revealing its value: a token is identified by the first 8 hex
// characters of its SHA-256.
package token

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"sort"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Registries, spelled as config kinds.
const (
	Crates  = config.KindCrates
	PyPI    = config.KindPyPI
	NPM     = config.KindNPM
	Unknown = "unknown"
)

// Sources of a credential row.
const (
	SourceEnv        = "env"
	SourceRepoSecret = "repo-secret"
	SourceEnvSecret  = "environment-secret"
)

// exactNames are the credential variables of SPEC §7, with their registry.
var exactNames = map[string]string{
	"CARGO_REGISTRY_TOKEN": Crates,
	"PYPI_API_TOKEN":       PyPI,
	"PYPI_TOKEN":           PyPI,
	"TWINE_PASSWORD":       PyPI,
	"NPM_TOKEN":            NPM,
	"NODE_AUTH_TOKEN":      NPM,
}

// DefaultName returns the registry of one of the default credential
// variables (CARGO_REGISTRY_TOKEN, PYPI_API_TOKEN, …); ok is false for any
// other name, prefix-matched ones included.
func DefaultName(name string) (registry string, ok bool) {
	r, ok := exactNames[name]
	return r, ok
}

var prefixes = []struct{ prefix, registry string }{
	{"PYPI_", PyPI}, {"TWINE_", PyPI}, {"NPM_", NPM}, {"CARGO_", Crates},
}

// NameRegistry returns the registry a credential name points at and whether
// the name looks like a registry credential at all (exact names plus the
// PYPI_* / NPM_* / CARGO_* / TWINE_* prefixes).
func NameRegistry(name string) (string, bool) {
	n := strings.ToUpper(name)
	if r, ok := exactNames[n]; ok {
		return r, true
	}
	for _, p := range prefixes {
		if strings.HasPrefix(n, p.prefix) {
			return p.registry, true
		}
	}
	return "", false
}

var (
	uuidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	cioRE    = regexp.MustCompile(`^cio[A-Za-z0-9]{32}$`)
	cioTPRE  = regexp.MustCompile(`^cio_tp_[A-Za-z0-9]+$`)
	npmNewRE = regexp.MustCompile(`^npm_[A-Za-z0-9]{36}$`)
)

// Shape is what a token's string says about it (protocols.md §7.0).
type Shape struct {
	Registry string `json:"registry"` // crates | pypi | npm | unknown
	Kind     string `json:"kind"`     // e.g. "api token", "trusted-publishing token"
}

// ClassifyValue recognises a token by its shape. cio_tp_ is tested before cio.
func ClassifyValue(v string) Shape {
	v = strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(v, "pypi-"):
		return Shape{PyPI, "api token (macaroon)"}
	case strings.HasPrefix(v, "npm_"):
		if npmNewRE.MatchString(v) {
			return Shape{NPM, "access token"}
		}
		return Shape{NPM, "access token (unexpected length)"}
	case cioTPRE.MatchString(v):
		return Shape{Crates, "trusted-publishing token"}
	case cioRE.MatchString(v):
		return Shape{Crates, "api token"}
	case strings.HasPrefix(v, "cio"):
		return Shape{Crates, "api token (unexpected length)"}
	case uuidRE.MatchString(v):
		return Shape{NPM, "classic token (revoked by npm on 2025-12-09)"}
	}
	return Shape{Unknown, ""}
}

// Fingerprint identifies a value without revealing it: "sha256:" and the
// first 8 hex characters of its SHA-256.
func Fingerprint(v string) string {
	sum := sha256.Sum256([]byte(v))
	return "sha256:" + hex.EncodeToString(sum[:])[:8]
}

// Credential is one row of `token list`.
type Credential struct {
	Registry string `json:"registry"`
	Source   string `json:"source"` // env | repo-secret | environment-secret
	Name     string `json:"name"`
	Details  string `json:"details"`
	// Fingerprint is set for env rows with a value.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Set is false for an env variable that exists but is empty (treated as unset).
	Set         bool   `json:"set"`
	Kind        string `json:"kind,omitempty"`
	Repo        string `json:"repository,omitempty"`
	Environment string `json:"environment,omitempty"`
	// value is the token (env rows only); never serialised.
	value string
}

// Value returns the token of an env row (for inspect); never print it.
func (c Credential) Value() string { return c.value }

// ScanEnv finds registry-shaped credentials in e, sorted by name. Exact names
// always count; a prefix-matched variable counts when its name says it holds a
// secret (TOKEN, PASSWORD, …) or its value has a registry token's shape, so
// CARGO_HOME or NPM_CONFIG_USERCONFIG are not reported as credentials. A
// value's shape decides the registry over its name.
func ScanEnv(e env.Env) []Credential {
	var out []Credential
	for name, v := range e {
		reg, ok := NameRegistry(name)
		if !ok {
			continue
		}
		_, exact := exactNames[strings.ToUpper(name)]
		shape := ClassifyValue(v)
		if !exact && !secret.LooksSecret(name) && shape.Registry == Unknown {
			continue
		}
		c := Credential{Registry: reg, Source: SourceEnv, Name: name}
		if strings.TrimSpace(v) == "" {
			c.Details = "unset (empty value)"
			out = append(out, c)
			continue
		}
		secret.Register(v)
		c.Set, c.value, c.Fingerprint = true, v, Fingerprint(v)
		c.Details = c.Fingerprint
		c.Kind = shape.Kind
		if shape.Registry != Unknown && shape.Registry != reg {
			c.Details += " (value is a " + shape.Registry + " token)"
			c.Registry = shape.Registry
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SecretRow builds the row for a GitHub secret name; ok is false when the name
// does not look like a registry credential.
func SecretRow(name, repo, environment string) (Credential, bool) {
	reg, ok := NameRegistry(name)
	if !ok {
		return Credential{}, false
	}
	c := Credential{Registry: reg, Name: name, Repo: repo, Environment: environment, Set: true}
	if environment == "" {
		c.Source, c.Details = SourceRepoSecret, "repo secret ("+repo+")"
	} else {
		c.Source, c.Details = SourceEnvSecret, "environment secret ("+environment+")"
	}
	return c, true
}
