package token

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/macaroon"
	"github.com/putitoutthere/putitoutthere/internal/registry/cratesio"
	"github.com/putitoutthere/putitoutthere/internal/registry/npm"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Verdicts of Report.Packages.
const (
	Yes       = "yes"
	No        = "no"
	Undecided = "unknown"
)

// Token states.
const (
	StateValid   = "valid"   // the registry accepts it (or, offline, nothing stops it)
	StateInvalid = "invalid" // unknown, revoked, malformed, expired
	StateUnknown = "unknown" // cannot be told from here
)

// ErrUnknownRegistry: the value has no registry token shape and none was given.
var ErrUnknownRegistry = errors.New("cannot tell which registry the token belongs to")

// PackageVerdict says whether the token can publish one package.
type PackageVerdict struct {
	Package    string `json:"package"`
	CanPublish string `json:"can_publish"` // yes | no | unknown
	Why        string `json:"why"`
}

// Report is what `token inspect` learned about one token. It never holds
// the token.
type Report struct {
	Registry    string           `json:"registry"`
	Source      string           `json:"source,omitempty"` // env var name, or "--token"
	Fingerprint string           `json:"fingerprint"`
	Shape       string           `json:"shape"`
	State       string           `json:"state"`
	Kind        string           `json:"kind,omitempty"`  // user-wide, project-scoped, legacy, scoped, granular, ...
	Owner       string           `json:"owner,omitempty"` // npm username
	Projects    []string         `json:"projects,omitempty"`
	ExpiresAt   *time.Time       `json:"expires_at,omitempty"`
	Summary     []string         `json:"summary"`
	Unknowable  []string         `json:"cannot_know"`
	Packages    []PackageVerdict `json:"packages"`
	PyPI        *macaroon.Report `json:"pypi,omitempty"`
}

// Brief is the one-line description publish and doctor print beside a
// token's check: its kind (else its shape), owner and state, leaving out
// what the registry did not say.
func (r *Report) Brief() string {
	var parts []string
	if r.Kind != "" {
		parts = append(parts, r.Kind)
	} else if r.Shape != "" {
		parts = append(parts, r.Shape)
	}
	if r.Owner != "" {
		parts = append(parts, "owner "+r.Owner)
	}
	if r.State != "" {
		parts = append(parts, r.State)
	}
	return strings.Join(parts, ", ")
}

// Now is the clock offline checks (expiry) use; tests replace it.
var Now = time.Now

// HTTPClient builds the HTTP client of the registry probes; tests replace it
// to avoid real retry waits.
var HTTPClient = func() *httpx.Client { return httpx.New() }

// InspectValue inspects value as a token of registry ("" = detect from its
// shape) and judges whether it can publish each of packages (registry names
// of that registry). It returns an error only when the registry cannot be
// determined or reached; what the registry says about the token is in the
// Report. The caller's ctx bounds every request.
func InspectValue(ctx context.Context, e env.Env, value, registry string, packages []string) (*Report, error) {
	value = strings.TrimSpace(value)
	secret.Register(value)
	shape := ClassifyValue(value)
	if registry == "" {
		registry = shape.Registry
	}
	if registry == Unknown || registry == "" {
		return nil, ErrUnknownRegistry
	}
	r := &Report{Registry: registry, Fingerprint: Fingerprint(value), Shape: shape.Kind, State: StateUnknown,
		Summary: []string{}, Unknowable: []string{}, Packages: []PackageVerdict{}}
	if shape.Registry != Unknown && shape.Registry != registry {
		r.Summary = append(r.Summary, "the value looks like a "+shape.Registry+" token, not "+registry)
	}
	var err error
	switch registry {
	case PyPI:
		inspectPyPI(r, value, packages)
	case NPM:
		err = inspectNPM(ctx, e, r, value, packages)
	case Crates:
		err = inspectCrates(ctx, e, r, value, packages)
	default:
		return nil, fmt.Errorf("%w: %q is not crates, pypi or npm", ErrUnknownRegistry, registry)
	}
	if err != nil {
		return r, err
	}
	return r, nil
}

func verdictAll(r *Report, packages []string, v, why string) {
	for _, p := range packages {
		r.Packages = append(r.Packages, PackageVerdict{Package: p, CanPublish: v, Why: why})
	}
}

var pep503 = regexp.MustCompile(`[-_.]+`)

func normalizePyPI(n string) string { return strings.ToLower(pep503.ReplaceAllString(n, "-")) }

func inspectPyPI(r *Report, value string, packages []string) {
	r.Unknowable = append(r.Unknowable,
		"whether the token still exists: a deleted token decodes exactly like a live one (PyPI has no token-introspection endpoint)",
		"who owns it: the token carries a user ID, not a username",
		"caveats stored only in PyPI's database, and whether the owner has 2FA and a verified email")
	rep, err := macaroon.Inspect(value, Now())
	if err != nil {
		r.State = StateInvalid
		r.Summary = append(r.Summary, "does not decode as a PyPI token ("+err.Error()+"); PyPI answers such a token as if it did not exist")
		verdictAll(r, packages, No, "the token is malformed")
		return
	}
	r.PyPI = rep
	r.Kind = rep.Kind
	r.ExpiresAt = rep.ExpiresAt
	r.Projects = rep.ProjectNames
	switch {
	case len(rep.Problems) > 0:
		r.State = StateInvalid
		r.Summary = append(r.Summary, "unusable with PyPI: "+strings.Join(rep.Problems, "; "))
	case rep.Expired:
		r.State = StateInvalid
		r.Summary = append(r.Summary, "expired at "+rep.ExpiresAt.UTC().Format(time.RFC3339))
	case rep.NotYetValid:
		r.State = StateInvalid
		r.Summary = append(r.Summary, "not valid yet (not before "+rep.NotBefore.UTC().Format(time.RFC3339)+")")
	default:
		r.State = StateValid
	}
	switch rep.Kind {
	case macaroon.KindUserWide:
		r.Summary = append(r.Summary, "user-wide token: may upload to every project where its owner holds an upload role")
	case macaroon.KindProjectScoped:
		s := "project-scoped token"
		if len(rep.ProjectNames) > 0 {
			s += ": " + strings.Join(rep.ProjectNames, ", ")
		} else if rep.HasProjectNames {
			s += ": no project (the name caveats do not intersect)"
		}
		if len(rep.ProjectIDs) > 0 {
			s += fmt.Sprintf(" (also limited to %d project ID(s))", len(rep.ProjectIDs))
		}
		r.Summary = append(r.Summary, s)
	case macaroon.KindTrustedPublishing:
		r.Summary = append(r.Summary, "trusted-publishing token minted by the OIDC exchange (lives 15 minutes)")
	case macaroon.KindScopeNotEmbedded:
		r.Summary = append(r.Summary, "no caveats: the whole scope lives in PyPI's database")
	default:
		r.Summary = append(r.Summary, "kind: "+rep.Kind)
	}
	if rep.ExpiresAt != nil && r.State == StateValid {
		r.Summary = append(r.Summary, "expires "+rep.ExpiresAt.UTC().Format(time.RFC3339)+" (in "+humanDuration(rep.ValidFor)+")")
	} else if rep.ExpiresAt == nil {
		r.Summary = append(r.Summary, "no expiry caveat")
	}
	for _, p := range packages {
		v := PackageVerdict{Package: p}
		switch {
		case r.State == StateInvalid:
			v.CanPublish, v.Why = No, r.Summary[len(r.Summary)-1]
			if len(rep.Problems) > 0 || rep.Expired || rep.NotYetValid {
				v.Why = r.Summary[0]
			}
		case rep.HasProjectNames:
			// PyPI compares the caveat's names verbatim with the project's
			// normalised (PEP 503) name: a non-normalised entry never matches.
			norm := normalizePyPI(p)
			switch {
			case slices.Contains(rep.ProjectNames, norm):
				v.CanPublish, v.Why = Yes, "the token is scoped to "+p
				if rep.HasProjectIDs {
					v.Why += " (its project-ID caveat names the same project by UUID, which cannot be checked offline)"
				}
			case slices.ContainsFunc(rep.ProjectNames, func(n string) bool { return normalizePyPI(n) == norm }):
				v.CanPublish, v.Why = No, "the token names "+p+" in a non-normalised spelling; PyPI compares normalised names verbatim, so it never matches"
			default:
				v.CanPublish, v.Why = No, "the token is scoped to "+orNone(rep.ProjectNames)+", not "+p
			}
		case rep.HasProjectIDs || rep.Kind == macaroon.KindTrustedPublishing:
			v.CanPublish, v.Why = Undecided, "the token names projects by ID; IDs cannot be matched to names offline"
		case rep.Kind == macaroon.KindUserWide:
			v.CanPublish, v.Why = Undecided, "user-wide: yes if the owner holds an upload role on "+p+" (PyPI checks at upload time)"
		default:
			v.CanPublish, v.Why = Undecided, "the scope is not in the token"
		}
		r.Packages = append(r.Packages, v)
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no project"
	}
	return strings.Join(s, ", ")
}

func inspectNPM(ctx context.Context, e env.Env, r *Report, value string, packages []string) error {
	c, err := npm.New(ctx, e, HTTPClient())
	if err != nil {
		return err
	}
	c.ReadToken = value // restricted packages are visible only to their maintainers
	r.Unknowable = append(r.Unknowable,
		"npm tokens are opaque: nothing can be read from the string itself",
		"a package set to \"require two-factor authentication and disallow tokens\" refuses every token")
	if uuidRE.MatchString(value) {
		r.Summary = append(r.Summary, "a classic (UUID) token: npm revoked all of these on 2025-12-09")
	}
	user, err := c.Whoami(ctx, value)
	var ae *npm.APIError
	switch {
	case err == nil:
		r.State, r.Owner = StateValid, user
		r.Summary = append(r.Summary, "belongs to npm user "+user)
	case errors.As(err, &ae) && ae.Status == 401:
		r.State = StateInvalid
		r.Summary = append(r.Summary, "the registry does not accept this token (unknown, revoked or expired)")
		verdictAll(r, packages, No, "the token is not accepted")
		return nil
	case errors.As(err, &ae) && ae.Status == 403:
		r.Summary = append(r.Summary, "the registry refused whoami (403): the token may be limited to other IP ranges")
		verdictAll(r, packages, Undecided, "whoami was refused")
		return nil
	default:
		return fmt.Errorf("asking npm who owns the token: %w", err)
	}
	var entry *npm.TokenInfo
	list, lerr := c.Tokens(ctx, value)
	switch {
	case errors.Is(lerr, npm.ErrIntrospectionUnavailable):
		r.Unknowable = append(r.Unknowable, "the token's package scopes: the registry would not list the account's tokens to this token")
	case lerr != nil:
		r.Summary = append(r.Summary, "could not read the account's token list: "+lerr.Error())
	default:
		var matches []npm.TokenInfo
		for _, ti := range list {
			if ti.Matches(value) {
				matches = append(matches, ti)
			}
		}
		if len(matches) == 1 {
			entry = &matches[0]
		} else {
			r.Unknowable = append(r.Unknowable, "the token's scopes: it is not (uniquely) in the account's token list; login session and trusted-publishing tokens are never listed")
		}
	}
	if entry != nil {
		describeNPMEntry(r, entry)
	}
	for _, p := range packages {
		r.Packages = append(r.Packages, npmVerdict(ctx, c, user, entry, p))
	}
	return nil
}

func describeNPMEntry(r *Report, ti *npm.TokenInfo) {
	kind := "classic"
	if len(ti.Permissions) > 0 || len(ti.Scopes) > 0 || ti.Name != "" {
		kind = "granular"
	}
	r.Kind = kind
	var perms []string
	for _, p := range ti.Permissions {
		perms = append(perms, p.Name+":"+p.Action)
	}
	var scopes []string
	for _, s := range ti.Scopes {
		scopes = append(scopes, s.Name)
	}
	s := kind + " token"
	if ti.Name != "" {
		s += " " + fmt.Sprintf("%q", ti.Name)
	}
	if ti.Readonly {
		s += ", read-only"
	}
	if len(perms) > 0 {
		s += ", permissions " + strings.Join(perms, ", ")
	}
	if len(scopes) > 0 {
		s += ", packages " + strings.Join(scopes, ", ")
		r.Projects = scopes
	}
	r.Summary = append(r.Summary, s)
	if ti.Expiry != "" {
		if t, err := time.Parse(time.RFC3339, ti.Expiry); err == nil {
			r.ExpiresAt = &t
			r.Summary = append(r.Summary, "expires "+t.UTC().Format(time.RFC3339))
		}
	}
}

func npmVerdict(ctx context.Context, c *npm.Client, user string, ti *npm.TokenInfo, pkg string) PackageVerdict {
	v := PackageVerdict{Package: pkg}
	if ti != nil {
		canWrite := !ti.Readonly
		if len(ti.Permissions) > 0 {
			canWrite = slices.ContainsFunc(ti.Permissions, func(p npm.Permission) bool { return p.Name == "package" && p.Action == "write" })
		}
		if !canWrite {
			v.CanPublish, v.Why = No, "the token has no package write permission"
			return v
		}
		if len(ti.Scopes) > 0 {
			scope, _, _ := strings.Cut(pkg, "/")
			in := slices.ContainsFunc(ti.Scopes, func(s npm.Scope) bool {
				return s.Name == pkg || (strings.HasPrefix(pkg, "@") && (s.Name == scope || s.Name == strings.TrimPrefix(scope, "@")))
			})
			if !in {
				v.CanPublish, v.Why = No, "the token is limited to other packages"
				return v
			}
		}
	}
	pk, err := c.Packument(ctx, pkg)
	switch {
	case err != nil:
		v.CanPublish, v.Why = Undecided, "could not read the package: "+err.Error()
		return v
	case pk == nil:
		v.CanPublish, v.Why = Undecided, pkg+" does not exist yet (or is not visible to this token); a first publish would create it under "+user
		return v
	}
	if len(pk.Maintainers) > 0 && !slices.ContainsFunc(pk.Maintainers, func(m npm.Person) bool { return m.Name == user }) {
		v.CanPublish, v.Why = No, user+" is not a maintainer of "+pkg
		return v
	}
	if ti != nil {
		v.CanPublish, v.Why = Yes, user+" maintains "+pkg+" and the token may write it"
		return v
	}
	v.CanPublish, v.Why = Undecided, user+" maintains "+pkg+", but the token's own scopes are not visible"
	return v
}

func inspectCrates(ctx context.Context, e env.Env, r *Report, value string, packages []string) error {
	c := cratesio.New(e, HTTPClient())
	r.Unknowable = append(r.Unknowable,
		"the token's owner, endpoint scopes, crate scopes and expiry: crates.io shows them only to a browser session (https://crates.io/settings/tokens)",
		"publish-new / publish-update rights: they cannot be probed without publishing")
	p, err := c.ProbeToken(ctx, value)
	if err != nil {
		return err
	}
	r.Kind = string(p.Kind)
	if p.Summary != "" {
		r.Summary = append(r.Summary, p.Summary)
	}
	switch {
	case p.Kind == cratesio.KindTrustedPublishing:
		verdictAll(r, packages, Undecided, "a trusted-publishing token is bound to the crates of its trusted publisher and lives 30 minutes")
		return nil
	case !p.Known || !p.Live:
		r.State = StateInvalid
		verdictAll(r, packages, No, "crates.io does not accept the token")
		return nil
	}
	r.State = StateValid
	if p.Legacy {
		r.Kind = "legacy"
		verdictAll(r, packages, Undecided, "a legacy token may publish every crate its owner owns; crates.io does not tell a token who its owner is")
		return nil
	}
	r.Kind = "scoped"
	for _, crate := range packages {
		covered, err := c.CoversTrustedPublishing(ctx, value, crate)
		v := PackageVerdict{Package: crate, CanPublish: Undecided}
		switch {
		case err != nil:
			v.Why = "the scope probe failed: " + err.Error()
		case covered:
			v.Why = "the token's crate scope covers " + crate + " (probed on the trusted-publishing endpoint); its publish scopes cannot be probed"
		default:
			v.Why = "the token lacks the trusted-publishing scope for " + crate + "; its publish scopes cannot be probed"
		}
		r.Packages = append(r.Packages, v)
	}
	return nil
}

// humanDuration renders a time left the way people say it: days beyond two
// days, hours and minutes below.
func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	}
	return d.Round(time.Second).String()
}
