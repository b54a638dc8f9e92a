package macaroon

import (
	"errors"
	"slices"
	"time"
)

// Kinds of PyPI token (protocols §7.4).
const (
	KindTrustedPublishing = "trusted-publishing"
	KindProjectScoped     = "project-scoped"
	KindUserWide          = "user-wide"
	KindScopeNotEmbedded  = "scope-not-embedded"
	// KindUnknown: caveats are present but none this Warehouse understands.
	KindUnknown = "unknown"
)

// Report is what a PyPI token says about itself offline.
type Report struct {
	Kind       string   `json:"kind"`
	Format     string   `json:"format"` // "v2" or "v1"
	Location   string   `json:"location,omitempty"`
	Identifier string   `json:"identifier"`
	Caveats    []string `json:"caveats"` // raw caveat text, in order

	// Projects: intersection of every ProjectName / ProjectID caveat. The
	// Has flags distinguish "no restriction" from "empty intersection".
	ProjectNames    []string `json:"project_names,omitempty"`
	HasProjectNames bool     `json:"-"`
	ProjectIDs      []string `json:"project_ids,omitempty"`
	HasProjectIDs   bool     `json:"-"`
	UserID          string   `json:"user_id,omitempty"`
	LegacyUser      bool     `json:"legacy_user,omitempty"`
	PublisherID     string   `json:"publisher_id,omitempty"`

	// Time window: the largest not-before and the smallest expiry.
	NotBefore   *time.Time    `json:"not_before,omitempty"`
	ExpiresAt   *time.Time    `json:"expires_at,omitempty"`
	Expired     bool          `json:"expired"`
	NotYetValid bool          `json:"not_yet_valid"`
	ValidFor    time.Duration `json:"valid_for_ns,omitempty"` // remaining, when in its window and it expires

	UnknownTags []string `json:"unknown_tags,omitempty"`
	// Problems make the token unusable with this Warehouse (unparseable
	// caveats, third-party caveats, unknown tags).
	Problems []string `json:"problems,omitempty"`
}

// Usable reports whether nothing found offline stops the token from working.
func (r *Report) Usable() bool {
	return len(r.Problems) == 0 && !r.Expired && !r.NotYetValid
}

// Inspect decodes a PyPI token and classifies it. It never needs the root
// key, so the signature is not checked. A token that does not decode returns
// an error wrapping ErrMalformed.
func Inspect(token string, now time.Time) (*Report, error) {
	m, err := ParseToken(token)
	if err != nil {
		return nil, err
	}
	r := &Report{Format: "v2", Location: m.Location, Identifier: string(m.Identifier), Caveats: []string{}}
	if m.Format == V1 {
		r.Format = "v1"
	}
	var (
		hasNBF, hasExp bool
		nbf, exp       int64
		known          int
		hasUser        bool
	)
	for i, c := range m.Caveats {
		r.Caveats = append(r.Caveats, string(c.ID))
		if c.ThirdParty() {
			r.Problems = append(r.Problems, caveatNo(i)+"is third-party; PyPI supplies no discharge macaroons, so the token cannot pass")
			continue
		}
		p, err := ParseCaveat(c.ID)
		if err != nil {
			var ut *UnknownTagError
			if errors.As(err, &ut) {
				r.UnknownTags = append(r.UnknownTags, ut.Tag)
				r.Problems = append(r.Problems, caveatNo(i)+"has unknown tag "+ut.Tag+" (a newer PyPI may have added it)")
			} else {
				r.Problems = append(r.Problems, caveatNo(i)+"cannot be read: "+err.Error())
			}
			continue
		}
		known++
		switch p.Tag {
		case TagExpiration:
			if !hasNBF || p.NotBefore > nbf {
				nbf = p.NotBefore
			}
			if !hasExp || p.ExpiresAt < exp {
				exp = p.ExpiresAt
			}
			hasNBF, hasExp = true, true
		case TagProjectName:
			r.ProjectNames = intersect(r.ProjectNames, p.Names, r.HasProjectNames)
			r.HasProjectNames = true
		case TagProjectID:
			r.ProjectIDs = intersect(r.ProjectIDs, p.ProjectIDs, r.HasProjectIDs)
			r.HasProjectIDs = true
		case TagRequestUser:
			hasUser = true
			if p.Legacy {
				r.LegacyUser = true
			} else {
				r.UserID = p.UserID
			}
		case TagOIDCPublisher:
			r.PublisherID = p.PublisherID
		}
	}
	switch {
	case r.PublisherID != "":
		r.Kind = KindTrustedPublishing
	case r.HasProjectNames || r.HasProjectIDs:
		r.Kind = KindProjectScoped
	case hasUser:
		r.Kind = KindUserWide
	case len(m.Caveats) == 0:
		r.Kind = KindScopeNotEmbedded
	case known == 0:
		r.Kind = KindUnknown
	default:
		r.Kind = KindScopeNotEmbedded // only time caveats: scope lives in the database
	}
	if hasNBF {
		t := time.Unix(nbf, 0).UTC()
		r.NotBefore = &t
	}
	if hasExp {
		t := time.Unix(exp, 0).UTC()
		r.ExpiresAt = &t
		n := now.Unix()
		r.Expired = n >= exp
		r.NotYetValid = n < nbf
		if !r.Expired && !r.NotYetValid {
			r.ValidFor = time.Duration(exp-n) * time.Second
		}
	}
	return r, nil
}

func caveatNo(i int) string { return "caveat " + itoa(i+1) + " " }

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// intersect keeps the entries of cur also in next; when !had, next is the
// first list seen.
func intersect(cur, next []string, had bool) []string {
	if !had {
		return append([]string{}, next...)
	}
	out := []string{}
	for _, c := range cur {
		if slices.Contains(next, c) {
			out = append(out, c)
		}
	}
	return out
}
