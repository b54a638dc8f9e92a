package macaroon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Tag of a current-form caveat.
type Tag int

const (
	TagExpiration    Tag = 0
	TagProjectName   Tag = 1
	TagProjectID     Tag = 2
	TagRequestUser   Tag = 3
	TagOIDCPublisher Tag = 4
)

func (t Tag) String() string {
	switch t {
	case TagExpiration:
		return "Expiration"
	case TagProjectName:
		return "ProjectName"
	case TagProjectID:
		return "ProjectID"
	case TagRequestUser:
		return "RequestUser"
	case TagOIDCPublisher:
		return "OIDCPublisher"
	}
	return "tag " + strconv.Itoa(int(t))
}

// Predicate is one parsed Warehouse caveat. Only the fields of its Tag are set.
type Predicate struct {
	Tag Tag
	// Legacy is set when the caveat used a pre-2022 mapping form.
	Legacy bool

	ExpiresAt, NotBefore int64    // Expiration (unix seconds)
	Names                []string // ProjectName: normalised project names
	ProjectIDs           []string // ProjectID: project UUIDs
	UserID               string   // RequestUser; "" for legacy {"permissions":"user"}
	PublisherID          string   // OIDCPublisher
	Claims               json.RawMessage
}

// UnknownTagError is a caveat whose tag this Warehouse does not know; a newer
// Warehouse may have added it.
type UnknownTagError struct{ Tag string }

func (e *UnknownTagError) Error() string { return "caveat has unknown tag: " + e.Tag }

// Decoding failures, worded as Warehouse words them.
var (
	ErrNotArray     = errors.New("caveat must be an array")
	ErrEmptyArray   = errors.New("caveat array cannot be empty")
	ErrNotEnough    = errors.New("Not enough values")
	ErrInvalidValue = errors.New("invalid values for fields")
)

var intRe = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// ParseCaveat parses a first-party caveat: a JSON array [tag, field…] or one
// of the legacy mappings.
func ParseCaveat(b []byte) (Predicate, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		return parseLegacy(b)
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(b, &arr); err != nil {
		var anyV any
		if json.Unmarshal(b, &anyV) == nil {
			return Predicate{}, ErrNotArray
		}
		return Predicate{}, fmt.Errorf("caveat is not JSON: %w", err)
	}
	if arr == nil {
		return Predicate{}, ErrNotArray // JSON null
	}
	if len(arr) == 0 {
		return Predicate{}, ErrEmptyArray
	}
	tagRaw := strings.TrimSpace(string(arr[0]))
	if !intRe.MatchString(tagRaw) {
		return Predicate{}, &UnknownTagError{Tag: tagRaw}
	}
	n, err := strconv.Atoi(tagRaw)
	if err != nil || n < 0 || n > int(TagOIDCPublisher) {
		return Predicate{}, &UnknownTagError{Tag: tagRaw}
	}
	p := Predicate{Tag: Tag(n)}
	f := arr[1:]
	switch p.Tag {
	case TagExpiration:
		if len(f) < 2 {
			return p, ErrNotEnough
		}
		if p.ExpiresAt, err = strictInt(f[0]); err != nil {
			return p, err
		}
		if p.NotBefore, err = strictInt(f[1]); err != nil {
			return p, err
		}
	case TagProjectName, TagProjectID:
		if len(f) < 1 {
			return p, ErrNotEnough
		}
		list, err := strictStrings(f[0])
		if err != nil {
			return p, err
		}
		if p.Tag == TagProjectName {
			p.Names = list
		} else {
			p.ProjectIDs = list
		}
	case TagRequestUser:
		if len(f) < 1 {
			return p, ErrNotEnough
		}
		if p.UserID, err = strictString(f[0]); err != nil {
			return p, err
		}
	case TagOIDCPublisher:
		if len(f) < 1 {
			return p, ErrNotEnough
		}
		if p.PublisherID, err = strictString(f[0]); err != nil {
			return p, err
		}
		if len(f) > 1 {
			c := bytes.TrimSpace(f[1])
			if !bytes.Equal(c, []byte("null")) && (len(c) == 0 || c[0] != '{') {
				return p, ErrInvalidValue
			}
			if !bytes.Equal(c, []byte("null")) {
				p.Claims = clone(c)
			}
		}
	}
	return p, nil
}

func strictInt(raw json.RawMessage) (int64, error) {
	s := strings.TrimSpace(string(raw))
	if !intRe.MatchString(s) {
		return 0, ErrInvalidValue
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, ErrInvalidValue
	}
	return v, nil
}

func strictString(raw json.RawMessage) (string, error) {
	var s string
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '"' {
		return "", ErrInvalidValue
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", ErrInvalidValue
	}
	return s, nil
}

func strictStrings(raw json.RawMessage) ([]string, error) {
	var items []json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' {
		return nil, ErrInvalidValue
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, ErrInvalidValue
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, err := strictString(it)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// parseLegacy converts the pre-2022 mapping forms (Warehouse _legacy.adapt).
func parseLegacy(b []byte) (Predicate, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return Predicate{}, fmt.Errorf("caveat is not JSON: %w", err)
	}
	if v, ok := m["version"]; ok && strings.TrimSpace(string(v)) == "1" {
		perm := bytes.TrimSpace(m["permissions"])
		if bytes.Equal(perm, []byte(`"user"`)) {
			return Predicate{Tag: TagRequestUser, Legacy: true}, nil
		}
		var projects struct {
			Projects *[]json.RawMessage `json:"projects"`
		}
		if len(perm) > 0 && perm[0] == '{' && json.Unmarshal(perm, &projects) == nil && projects.Projects != nil {
			names := []string{}
			for _, it := range *projects.Projects {
				s, err := strictString(it)
				if err != nil {
					return Predicate{}, ErrNotArray
				}
				names = append(names, s)
			}
			return Predicate{Tag: TagProjectName, Legacy: true, Names: names}, nil
		}
		return Predicate{}, ErrNotArray
	}
	exp, hasExp := m["exp"]
	nbf, hasNbf := m["nbf"]
	if hasExp && hasNbf {
		e, err1 := strictInt(exp)
		n, err2 := strictInt(nbf)
		if err1 != nil || err2 != nil {
			return Predicate{}, ErrInvalidValue
		}
		return Predicate{Tag: TagExpiration, Legacy: true, ExpiresAt: e, NotBefore: n}, nil
	}
	if ids, ok := m["project_ids"]; ok {
		list, err := strictStrings(ids)
		if err != nil {
			return Predicate{}, err
		}
		return Predicate{Tag: TagProjectID, Legacy: true, ProjectIDs: list}, nil
	}
	return Predicate{}, ErrNotArray
}

// Encode writes p in the current form, as Warehouse does
// (json.dumps(sort_keys=True, separators=(",", ":"))).
func (p Predicate) Encode() []byte {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	list := func(xs []string) string {
		parts := make([]string, len(xs))
		for i, x := range xs {
			parts[i] = q(x)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	switch p.Tag {
	case TagExpiration:
		return fmt.Appendf(nil, "[0,%d,%d]", p.ExpiresAt, p.NotBefore)
	case TagProjectName:
		return []byte("[1," + list(p.Names) + "]")
	case TagProjectID:
		return []byte("[2," + list(p.ProjectIDs) + "]")
	case TagRequestUser:
		return []byte("[3," + q(p.UserID) + "]")
	case TagOIDCPublisher:
		claims := "null"
		if len(p.Claims) > 0 {
			claims = string(p.Claims)
		}
		return []byte("[4," + q(p.PublisherID) + "," + claims + "]")
	}
	return nil
}

// Convenience constructors for minting.

func Expiration(expiresAt, notBefore int64) []byte {
	return Predicate{Tag: TagExpiration, ExpiresAt: expiresAt, NotBefore: notBefore}.Encode()
}
func ProjectNames(names ...string) []byte {
	return Predicate{Tag: TagProjectName, Names: names}.Encode()
}
func ProjectIDs(ids ...string) []byte {
	return Predicate{Tag: TagProjectID, ProjectIDs: ids}.Encode()
}
func RequestUser(userID string) []byte {
	return Predicate{Tag: TagRequestUser, UserID: userID}.Encode()
}
func OIDCPublisher(publisherID string) []byte {
	return Predicate{Tag: TagOIDCPublisher, PublisherID: publisherID}.Encode()
}
