package macaroon

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Request is what Warehouse knows when it evaluates a token's caveats for an
// upload: the clock, who the token authenticates as, and the project.
type Request struct {
	Now time.Time
	// Identity: exactly one of UserID / PublisherID is set.
	UserID      string
	PublisherID string
	// Project context; HasProject false means "no project context".
	HasProject        bool
	ProjectName       string // display name
	ProjectNormalized string // PEP 503 name
	ProjectID         string
	// PublisherProjects are the project IDs still attached to the publisher.
	PublisherProjects []string
}

// CaveatError is a failing caveat, worded as Warehouse reports it after
// "Invalid API Token: ".
type CaveatError struct{ Reason string }

func (e *CaveatError) Error() string { return e.Reason }

// Authorize checks the signature with rootKey, then every caveat against req.
// As pymacaroons does, evaluation stops at the first failing caveat.
func Authorize(m *Macaroon, rootKey []byte, req Request) error {
	sigErr := m.Verify(rootKey)
	for _, c := range m.Caveats {
		if c.ThirdParty() {
			break // reported as a signature failure below
		}
		p, err := ParseCaveat(c.ID)
		if err != nil {
			return &CaveatError{Reason: err.Error()}
		}
		if reason := Check(p, req); reason != "" {
			return &CaveatError{Reason: reason}
		}
	}
	if sigErr != nil {
		return &CaveatError{Reason: "signature mismatch"}
	}
	return nil
}

// Check evaluates one caveat; "" means it holds.
func Check(p Predicate, req Request) string {
	switch p.Tag {
	case TagExpiration:
		now := req.Now.Unix()
		if !(p.NotBefore <= now && now < p.ExpiresAt) {
			return "token is expired"
		}
	case TagProjectName:
		if !req.HasProject {
			return "project-scoped token used outside of a project context"
		}
		if !slices.Contains(p.Names, req.ProjectNormalized) {
			return fmt.Sprintf("project-scoped token is not valid for project: %s", pyRepr(req.ProjectName))
		}
	case TagProjectID:
		if !req.HasProject {
			return "project-scoped token used outside of a project context"
		}
		if !slices.Contains(p.ProjectIDs, req.ProjectID) {
			return fmt.Sprintf("project-scoped token is not valid for project: %s", pyRepr(req.ProjectName))
		}
	case TagRequestUser:
		if req.UserID == "" {
			return "token with user restriction without a user"
		}
		if !p.Legacy && p.UserID != req.UserID {
			return "current user does not match user restriction in token"
		}
	case TagOIDCPublisher:
		if req.PublisherID == "" {
			return "OIDC scoped token used outside of an OIDC identified request"
		}
		if p.PublisherID != req.PublisherID {
			return "current OIDC publisher does not match publisher restriction in token"
		}
		if !req.HasProject {
			return "OIDC scoped token used outside of a project context"
		}
		if !slices.Contains(req.PublisherProjects, req.ProjectID) {
			return fmt.Sprintf("OIDC scoped token is not valid for project '%s'", req.ProjectName)
		}
	default:
		return fmt.Sprintf("caveat has unknown tag: %d", p.Tag)
	}
	return ""
}

// pyRepr quotes s as Python's repr() does for simple strings.
func pyRepr(s string) string {
	if !containsRune(s, '\'') {
		return "'" + escapeRepr(s, '\'') + "'"
	}
	if !containsRune(s, '"') {
		return `"` + escapeRepr(s, '"') + `"`
	}
	return "'" + escapeRepr(s, '\'') + "'"
}

func containsRune(s string, r rune) bool {
	for _, c := range s {
		if c == r {
			return true
		}
	}
	return false
}

func escapeRepr(s string, q rune) string {
	var b []rune
	for _, c := range s {
		switch {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == q:
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// IsCaveatError reports whether err is a failing caveat.
func IsCaveatError(err error) bool {
	var ce *CaveatError
	return errors.As(err, &ce)
}
