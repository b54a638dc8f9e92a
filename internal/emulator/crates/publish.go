package crates

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/putitoutthere/putitoutthere/internal/cratefile"
	"github.com/putitoutthere/putitoutthere/internal/rules"
)

const maxJSON = 1 << 20

// publishDep is one `deps[]` entry of cargo's NewCrate JSON.
type publishDep struct {
	Optional           bool     `json:"optional"`
	DefaultFeatures    bool     `json:"default_features"`
	Name               string   `json:"name"`
	Features           []string `json:"features"`
	VersionReq         string   `json:"version_req"`
	Target             *string  `json:"target"`
	Kind               string   `json:"kind"`
	Registry           *string  `json:"registry"`
	ExplicitNameInToml *string  `json:"explicit_name_in_toml"`
}

// indexDep is a dependency as the sparse index spells it.
type indexDep struct {
	Name            string   `json:"name"`
	Req             string   `json:"req"`
	Features        []string `json:"features"`
	Optional        bool     `json:"optional"`
	DefaultFeatures bool     `json:"default_features"`
	Target          *string  `json:"target"`
	Kind            string   `json:"kind"`
	Registry        *string  `json:"registry,omitempty"`
	Package         *string  `json:"package,omitempty"`
}

type publishMeta struct {
	Name     string              `json:"name"`
	Vers     string              `json:"vers"`
	Deps     []publishDep        `json:"deps"`
	Features map[string][]string `json:"features"`
	Readme   *string             `json:"readme"`
	Links    *string             `json:"links"`
}

// handlePublish implements PUT /api/v1/crates/new (§3.4).
func (s *Server) handlePublish(w http.ResponseWriter, r *http.Request) {
	att := PublishAttempt{At: s.now()}
	status, detail, resp := s.publish(r, &att)
	att.Status, att.Detail = status, detail
	s.mu.Lock()
	s.attempts = append(s.attempts, att)
	s.mu.Unlock()
	if status != http.StatusOK {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", resp.(string))
		}
		writeErr(w, status, detail)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) publish(r *http.Request, att *PublishAttempt) (int, string, any) {
	body := io.LimitReader(r.Body, int64(s.opts.MaxUploadSize+maxJSON+8))
	var n32 [4]byte
	if _, err := io.ReadFull(body, n32[:]); err != nil {
		return http.StatusBadRequest, "invalid metadata length", nil
	}
	jsonLen := binary.LittleEndian.Uint32(n32[:])
	if jsonLen > maxJSON {
		return http.StatusRequestEntityTooLarge, "JSON metadata blob too large", nil
	}
	jsonBytes := make([]byte, jsonLen)
	if _, err := io.ReadFull(body, jsonBytes); err != nil {
		return http.StatusBadRequest, fmt.Sprintf("invalid metadata length for remaining payload: %d", jsonLen), nil
	}
	var meta publishMeta
	if err := json.Unmarshal(jsonBytes, &meta); err != nil {
		return http.StatusBadRequest, "invalid upload request: " + err.Error(), nil
	}
	var keys map[string]json.RawMessage
	_ = json.Unmarshal(jsonBytes, &keys)
	for _, k := range []string{"name", "vers"} {
		if _, ok := keys[k]; !ok {
			return http.StatusBadRequest, "invalid upload request: missing field `" + k + "`", nil
		}
	}
	att.Name, att.Version = meta.Name, meta.Vers
	if e := validateCrateName(meta.Name); e != "" {
		return http.StatusBadRequest, e, nil
	}
	if _, err := semver.StrictNewVersion(meta.Vers); err != nil {
		return http.StatusBadRequest, fmt.Sprintf("%q is an invalid semver version", meta.Vers), nil
	}
	// MAX_VERSION_LENGTH (crates/crates_io_validation/src/lib.rs), counted
	// in characters of the normalised version.
	if vs := rules.CratesVersion(meta.Vers); len(vs) > 0 {
		return http.StatusBadRequest, vs[0].Message, nil
	}

	// Authentication: a cio_tp_ token takes the trusted-publishing path.
	s.mu.Lock()
	existing := s.crates[canonical(meta.Name)]
	s.mu.Unlock()
	var publisher *user
	var tp *tpToken
	if !s.originOK(r) {
		return http.StatusForbidden, detailBadOrigin, nil
	}
	tok, present, e := extractToken(r)
	if e != nil {
		return e.status, e.detail, nil
	}
	if present && strings.HasPrefix(tok, TPPrefix) {
		att.Auth = "trustpub"
		h, ok := parseTPToken(tok)
		if !ok {
			return http.StatusUnauthorized, detailParseToken, nil
		}
		if existing == nil {
			return http.StatusForbidden, "Trusted Publishing tokens do not support creating new crates. Publish the crate manually, first", nil
		}
		s.mu.Lock()
		tp = s.lookupTPLocked(h)
		s.mu.Unlock()
		if tp == nil {
			return http.StatusForbidden, "Invalid authentication token", nil
		}
		if !containsInt(tp.crateIDs, existing.ID) {
			return http.StatusForbidden, fmt.Sprintf("The provided access token is not valid for crate `%s`", existing.Name), nil
		}
	} else {
		att.Auth = "token"
		at, e := s.authAPIToken(r)
		if e != nil {
			if !present {
				att.Auth = ""
			}
			return e.status, e.detail, nil
		}
		scope := "publish-new"
		if existing != nil {
			scope = "publish-update"
		}
		if !at.allows(scope, meta.Name) {
			return http.StatusForbidden, detailPermissions, nil
		}
		s.mu.Lock()
		publisher = s.userLocked(at.Owner)
		if existing != nil && !s.isOwnerLocked(existing, at.Owner) {
			s.mu.Unlock()
			return http.StatusForbidden, "this crate exists but you don't seem to be an owner. If you believe this is a mistake, perhaps you need to accept an invitation to be an owner before publishing.", nil
		}
		trustpubOnly := existing != nil && existing.TrustpubOnly
		unverified := publisher.Unverified
		s.mu.Unlock()
		if trustpubOnly {
			return http.StatusForbidden, "New versions of this crate can only be published using Trusted Publishing (see https://crates.io/docs/trusted-publishing).", nil
		}
		if unverified {
			return http.StatusBadRequest, "A verified email address is required to publish crates to crates.io. Visit https://crates.io/settings/profile to set and verify your email address.", nil
		}
	}

	// Rate limits are taken before the tarball is read.
	if existing == nil {
		if at, limited := s.take(s.newCrates, publisher.Login, s.opts.NewCrateBurst, s.opts.NewCrateRefill); limited {
			d := at.UTC().Format(http.TimeFormat)
			return http.StatusTooManyRequests, "You have published too many new crates in a short period of time. Please try again after " + d + " and see https://crates.io/docs/rate-limits for more details.", d
		}
	} else if publisher != nil {
		// Updates are limited per user. Trusted publishing has no user and
		// crates.io applies no rate limit to it (publish.rs checks
		// rate limits only `if let Some(user_id) = auth.user_id()`).
		key := "user:" + publisher.Login
		if at, limited := s.take(s.newVers, key, s.opts.VersionBurst, s.opts.VersionRefill); limited {
			d := at.UTC().Format(http.TimeFormat)
			return http.StatusTooManyRequests, "You have published too many updates to existing crates in a short period of time. Please try again after " + d + " and see https://crates.io/docs/rate-limits for more details.", d
		}
	}

	if _, err := io.ReadFull(body, n32[:]); err != nil {
		return http.StatusBadRequest, "invalid tarball length", nil
	}
	tarLen := binary.LittleEndian.Uint32(n32[:])
	if int64(tarLen) > int64(s.opts.MaxUploadSize) {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("max upload size is: %d", s.opts.MaxUploadSize), nil
	}
	tarball := make([]byte, tarLen)
	if _, err := io.ReadFull(body, tarball); err != nil {
		return http.StatusBadRequest, fmt.Sprintf("invalid tarball length for remaining payload: %d", tarLen), nil
	}
	info, detail := readTarball(tarball, meta.Name, meta.Vers)
	if detail != "" {
		return http.StatusBadRequest, detail, nil
	}
	if info.Name != meta.Name {
		return http.StatusBadRequest, fmt.Sprintf("metadata name `%s` does not match manifest name `%s`", meta.Name, info.Name), nil
	}
	if info.Version != meta.Vers {
		return http.StatusBadRequest, fmt.Sprintf("metadata version `%s` does not match manifest version `%s`", meta.Vers, info.Version), nil
	}
	// crates.io's content rules, in publish.rs's order (internal/rules).
	// Unknown dependencies and categories are found inside its transaction,
	// after the version checks below, so they answer last.
	var late []rules.Violation
	for _, v := range rules.CratesPublish(crateManifest(info, meta), s.crateKnown) {
		if v.Rule.ID == "crates/dependency-unknown" || v.Rule.ID == "crates/category-unknown" {
			late = append(late, v)
			continue
		}
		return http.StatusBadRequest, v.Message, nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.crates[canonical(meta.Name)]
	if c != nil && c.Name != meta.Name {
		return http.StatusBadRequest, fmt.Sprintf("crate was previously named `%s`", c.Name), nil
	}
	if c != nil {
		want := stripBuild(meta.Vers)
		for _, v := range c.Versions {
			if stripBuild(v.Num) == want {
				return http.StatusBadRequest, fmt.Sprintf("crate version `%s` is already uploaded", want), nil
			}
		}
	}
	if len(late) > 0 {
		return http.StatusBadRequest, late[0].Message, nil
	}
	if c == nil {
		c = s.createCrateLocked(meta.Name, publisher.Login)
	}
	v := &versionRec{
		ID: s.id(), Num: meta.Vers, Data: tarball, Checksum: info.Checksum, CreatedAt: s.now(),
		License: info.License, Description: info.Description, Homepage: info.Homepage, Repository: info.Repository,
		RustVersion: info.RustVersion, Edition: info.Edition, Links: info.Links, Features: meta.Features,
		Deps: indexDeps(meta.Deps), PublishedBy: publisher, Indexed: !s.indexPaused,
	}
	if v.Features == nil {
		v.Features = map[string][]string{}
	}
	if tp != nil {
		v.Trustpub = &trustpubData{tp.Repository, tp.RunID, tp.SHA}
	}
	c.Versions = append(c.Versions, v)
	c.UpdatedAt = v.CreatedAt
	c.Description, c.Homepage, c.Repository = info.Description, info.Homepage, info.Repository
	return http.StatusOK, "", map[string]any{
		"crate":    s.encodeCrateLocked(c),
		"warnings": map[string]any{"invalid_categories": []string{}, "invalid_badges": []string{}, "other": []string{}},
	}
}

// take consumes one token from the bucket for key; when empty it returns the
// time the next token arrives.
func (s *Server) take(buckets map[string]*bucket, key string, burst int, refill time.Duration) (time.Time, bool) {
	if burst < 0 {
		return time.Time{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	b := buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(burst), last: now}
		buckets[key] = b
	}
	b.tokens += float64(now.Sub(b.last)) / float64(refill)
	if b.tokens > float64(burst) {
		b.tokens = float64(burst)
	}
	b.last = now
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) * float64(refill))
		at := now.Add(wait)
		if t := at.Truncate(time.Second); !t.Equal(at) {
			at = t.Add(time.Second) // HTTP-dates have whole seconds; never early
		}
		return at, true
	}
	b.tokens--
	return time.Time{}, false
}

func stripBuild(v string) string {
	if i := strings.IndexByte(v, '+'); i >= 0 {
		return v[:i]
	}
	return v
}

// validateCrateName returns crates.io's error for an invalid name, or "".
func validateCrateName(name string) string {
	if name == "" {
		return "crate name cannot be empty"
	}
	if len(name) > 64 {
		return fmt.Sprintf("the name `%s` is too long (max 64 characters)", name)
	}
	first := name[0]
	if !(first >= 'a' && first <= 'z' || first >= 'A' && first <= 'Z') {
		if first >= '0' && first <= '9' {
			return fmt.Sprintf("the name `%s` cannot start with a digit", name)
		}
		return fmt.Sprintf("invalid character `%c` in crate name: `%s`, the first character must be an ASCII character", rune(first), name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Sprintf("invalid character `%c` in crate name: `%s`, characters must be an ASCII alphanumeric characters, `-`, or `_`", c, name)
		}
	}
	return ""
}

// readTarball applies crates.io's tarball rules and maps cratefile's errors
// to crates.io's texts.
func readTarball(data []byte, name, vers string) (*cratefile.Info, string) {
	info, err := cratefile.Parse(data)
	if err != nil {
		var ce *cratefile.Error
		errors.As(err, &ce)
		switch {
		case ce == nil:
			return nil, "uploaded tarball is malformed or too large when decompressed"
		case errors.Is(err, cratefile.ErrUnsafePath):
			if strings.Contains(ce.Msg, "link") {
				return nil, "unexpected symlink or hard link found: " + ce.Path
			}
			return nil, "invalid path found: " + ce.Path
		case errors.Is(err, cratefile.ErrNoManifest):
			return nil, "uploaded tarball is missing a `Cargo.toml` manifest file"
		case errors.Is(err, cratefile.ErrBadManifest):
			return nil, "failed to parse `Cargo.toml` manifest file\n\n" + ce.Msg
		default:
			return nil, "uploaded tarball is malformed or too large when decompressed"
		}
	}
	prefix := name + "-" + vers
	if info.Root != prefix {
		p := info.Root
		if len(info.Files) > 0 {
			p = info.Files[0]
		}
		return nil, "invalid path found: " + p
	}
	if len(info.LinkEntries) > 0 {
		return nil, "unexpected symlink or hard link found: " + info.LinkEntries[0]
	}
	if !info.HasPackage {
		return nil, "failed to parse `Cargo.toml` manifest file\n\nmissing field `package`"
	}
	if len(info.Inherited) > 0 {
		return nil, "failed to parse `Cargo.toml` manifest file\n\nvalue from workspace hasn't been set"
	}
	return info, ""
}

func indexDeps(deps []publishDep) []indexDep {
	out := make([]indexDep, 0, len(deps))
	for _, d := range deps {
		id := indexDep{Name: d.Name, Req: d.VersionReq, Features: d.Features, Optional: d.Optional,
			DefaultFeatures: d.DefaultFeatures, Target: d.Target, Kind: d.Kind, Registry: d.Registry}
		// The emulator stands in for crates.io: cargo names crates.io's index
		// for dependencies when publishing to an alternate registry, but in
		// crates.io's own index those dependencies are local (no registry).
		if id.Registry != nil && isCratesIOIndex(*id.Registry) {
			id.Registry = nil
		}
		if id.Features == nil {
			id.Features = []string{}
		}
		if id.Kind == "" {
			id.Kind = "normal"
		}
		if d.ExplicitNameInToml != nil && *d.ExplicitNameInToml != "" {
			pkg := d.Name
			id.Name, id.Package = *d.ExplicitNameInToml, &pkg
		}
		out = append(out, id)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// crateManifest is what crates.io reads: the tarball's Cargo.toml and the
// dependencies cargo sent.
func crateManifest(info *cratefile.Info, meta publishMeta) rules.CrateManifest {
	m := rules.CrateManifest{Name: meta.Name, Version: meta.Vers, Description: info.Description, License: info.License,
		LicenseFile: info.LicenseFile, Homepage: info.Homepage, Documentation: info.Documentation, Repository: info.Repository,
		RustVersion: info.RustVersion, Keywords: info.Keywords, Categories: info.Categories}
	for _, d := range meta.Deps {
		cd := rules.CrateDep{Name: d.Name, Req: d.VersionReq, Kind: d.Kind}
		if d.Registry != nil {
			cd.Registry = *d.Registry
		}
		m.Deps = append(m.Deps, cd)
	}
	return m
}

// crateKnown: a crate the registry has (add_dependencies matches names
// exactly).
func (s *Server) crateKnown(name string) bool {
	s.mu.Lock()
	c := s.crates[canonical(name)]
	s.mu.Unlock()
	if c != nil && c.Name == name {
		return true
	}
	return s.upstreamHas(name)
}

func isCratesIOIndex(u string) bool {
	u = strings.TrimSuffix(strings.TrimPrefix(u, "sparse+"), "/")
	return u == "https://github.com/rust-lang/crates.io-index" || u == "https://index.crates.io"
}
