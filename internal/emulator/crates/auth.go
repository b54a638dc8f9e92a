package crates

import (
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"net/http"
	"strings"
)

// Token alphabet and the trusted-publishing token layout (protocols §3.3).
const (
	alnum       = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	TPPrefix    = "cio_tp_"
	tpRawLen    = 31
	apiPrefix   = "cio"
	apiTokenLen = 32
)

// Error details used by several endpoints (§3, §7.7).
const (
	detailAuthRequired = "this action requires authentication"
	detailAuthFailed   = "authentication failed"
	detailPermissions  = "this token does not have the required permissions to perform this action"
	detailWebsiteOnly  = "this action can only be performed on the crates.io website"
	detailParseToken   = "Invalid `Authorization` header: Failed to parse token"
	detailMissingAuth  = "Missing `Authorization` header"
	detailNonASCII     = "Invalid `Authorization` header: Found unexpected non-ASCII characters"
	detailBadOrigin    = "invalid origin header"
	detailBadFormat    = "The given API token does not match the format used by crates.io. Tokens generated before 2020-07-14 were generated with an insecure random number generator, and have been revoked. You can generate a new token at https://crates.io/me. For more information please see https://blog.rust-lang.org/2020/07/14/crates-io-security-advisory.html. We apologize for any inconvenience."
)

func randomAlnum(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alnum)))
	for i := range b {
		k, _ := rand.Int(rand.Reader, max)
		b[i] = alnum[k.Int64()]
	}
	return string(b)
}

// tpChecksum is the XOR of the raw bytes, mod 62, as an index into alnum.
func tpChecksum(raw string) byte {
	var x byte
	for i := 0; i < len(raw); i++ {
		x ^= raw[i]
	}
	return alnum[int(x)%len(alnum)]
}

// NewTPToken mints a well-formed trusted-publishing token string.
func NewTPToken() string {
	raw := randomAlnum(tpRawLen)
	return TPPrefix + raw + string(tpChecksum(raw))
}

// NewAPITokenString returns a random crates.io API token (cio + 32 alnum).
func NewAPITokenString() string { return apiPrefix + randomAlnum(apiTokenLen) }

// parseTPToken validates prefix, length, charset and checksum and returns
// the SHA-256 of the 31-char raw part (what crates.io stores).
func parseTPToken(tok string) ([32]byte, bool) {
	raw, ok := strings.CutPrefix(tok, TPPrefix)
	if !ok || len(raw) != tpRawLen+1 {
		return [32]byte{}, false
	}
	for i := 0; i < len(raw); i++ {
		if strings.IndexByte(alnum, raw[i]) < 0 {
			return [32]byte{}, false
		}
	}
	if tpChecksum(raw[:tpRawLen]) != raw[tpRawLen] {
		return [32]byte{}, false
	}
	return sha256.Sum256([]byte(raw[:tpRawLen])), true
}

// extractToken reads the Authorization header per §3.3: "<token>" or
// "Bearer <token>" (scheme case-insensitive, whitespace trimmed). present is
// false when the header is absent.
func extractToken(r *http.Request) (tok string, present bool, e *apiErr) {
	vals, ok := r.Header["Authorization"]
	if !ok || len(vals) == 0 {
		return "", false, nil
	}
	h := vals[0]
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			return "", true, &apiErr{http.StatusUnauthorized, detailNonASCII}
		}
	}
	scheme, token, found := strings.Cut(h, " ")
	if !found {
		scheme, token = "", h
	}
	if scheme != "" && !strings.EqualFold(scheme, "Bearer") {
		return "", true, &apiErr{http.StatusUnauthorized, "Invalid `Authorization` header: Found unexpected authentication scheme `" + scheme + "`"}
	}
	return strings.TrimSpace(token), true, nil
}

// originOK: browsers' Origin headers must be crates.io's own.
func (s *Server) originOK(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || o == "https://crates.io" || o == s.srv.URL
}

// authAPIToken authenticates a request carrying an API token, in crates.io's
// order of outcomes (§7.7 1–4). It stamps last_used_at.
func (s *Server) authAPIToken(r *http.Request) (*APIToken, *apiErr) {
	if !s.originOK(r) {
		return nil, forbidden(detailBadOrigin)
	}
	tok, present, e := extractToken(r)
	if e != nil {
		return nil, e
	}
	if !present {
		return nil, forbidden(detailAuthRequired)
	}
	if !strings.HasPrefix(tok, apiPrefix) {
		return nil, &apiErr{http.StatusUnauthorized, detailBadFormat}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.apiTokens[sha256.Sum256([]byte(tok))]
	now := s.now()
	if t == nil || t.Revoked || (t.ExpiredAt != nil && !t.ExpiredAt.After(now)) {
		return nil, forbidden(detailAuthFailed)
	}
	t.LastUsedAt = &now
	if u := s.users[t.Owner]; u != nil && u.Locked && (u.LockUntil == nil || u.LockUntil.After(now)) {
		if u.LockUntil == nil {
			return nil, forbidden("This account is indefinitely locked. Reason: %s", u.LockReason)
		}
		return nil, forbidden("This account is locked until %s. Reason: %s", u.LockUntil.UTC().Format("2006-01-02 at 15:04:05 UTC"), u.LockReason)
	}
	cp := *t
	return &cp, nil
}

// authCookieOrToken accepts a browser session (full rights of its user) or
// an API token.
func (s *Server) authCookieOrToken(r *http.Request) (*APIToken, *apiErr) {
	if u := s.sessionUser(r); u != nil {
		if !s.originOK(r) {
			return nil, forbidden(detailBadOrigin)
		}
		return &APIToken{Owner: u.Login, session: true}, nil
	}
	return s.authAPIToken(r)
}

// allows applies the token's endpoint and crate scopes (crates.io AuthCheck).
// crate "" means the endpoint names no crate.
func (t *APIToken) allows(endpoint, crate string) bool {
	if t.EndpointScopes != nil {
		if endpoint == "" {
			return false
		}
		ok := false
		for _, sc := range t.EndpointScopes {
			if sc == endpoint {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if len(t.CrateScopes) > 0 {
		if crate == "" {
			return false
		}
		for _, p := range t.CrateScopes {
			if crateScopeMatch(p, crate) {
				return true
			}
		}
		return false
	}
	return true
}

// crateScopeMatch: exact name, or prefix with a trailing `*`; case-sensitive,
// no -/_ folding.
func crateScopeMatch(pattern, name string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(name, p)
	}
	return pattern == name
}
