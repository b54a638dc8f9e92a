package npm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Packument is the part of the registry's package document we read.
type Packument struct {
	ID          string                     `json:"_id"`
	Rev         string                     `json:"_rev"`
	Name        string                     `json:"name"`
	DistTags    map[string]string          `json:"dist-tags"`
	Versions    map[string]VersionManifest `json:"versions"`
	Time        map[string]any             `json:"time"` // "unpublished" is an object
	Maintainers []Person                   `json:"maintainers"`
}

// VersionManifest is one entry of versions.
type VersionManifest struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	Deprecated any    `json:"deprecated,omitempty"`
	Dist       Dist   `json:"dist"`
}

// Dist is versions[v].dist.
type Dist struct {
	Tarball      string        `json:"tarball"`
	Shasum       string        `json:"shasum"`
	Integrity    string        `json:"integrity"`
	FileCount    int           `json:"fileCount,omitempty"`
	UnpackedSize int64         `json:"unpackedSize,omitempty"`
	Attestations *Attestations `json:"attestations,omitempty"`
}

// Attestations is dist.attestations, present when provenance was published.
type Attestations struct {
	URL        string `json:"url"`
	Provenance struct {
		PredicateType string `json:"predicateType"`
	} `json:"provenance"`
}

// Person is a maintainer.
type Person struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Packument fetches the full document of name. A package that does not exist
// (or is invisible to us: the registry answers 404 for both) is nil, nil.
func (c *Client) Packument(ctx context.Context, name string) (*Packument, error) {
	req, err := c.newRequest(ctx, http.MethodGet, c.url(EscapeName(name)), "view", c.ReadToken, "application/json")
	if err != nil {
		return nil, err
	}
	var p Packument
	status, err := c.do(ctx, req, &p)
	if status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading npm package %s: %w", name, err)
	}
	return &p, nil
}

// PackageExists reports whether name exists on the registry.
func (c *Client) PackageExists(ctx context.Context, name string) (bool, error) {
	p, err := c.Packument(ctx, name)
	return p != nil, err
}

// VersionExists reports whether name@version is published, with its
// dist.integrity so a caller can tell "ours" from "someone else's".
func (c *Client) VersionExists(ctx context.Context, name, version string) (bool, string, error) {
	p, err := c.Packument(ctx, name)
	if err != nil || p == nil {
		return false, "", err
	}
	v, ok := p.Versions[version]
	if !ok {
		return false, "", nil
	}
	return true, v.Dist.Integrity, nil
}

// Visibility reports whether a package is public
// (GET /-/package/{escapedName}/visibility).
func (c *Client) Visibility(ctx context.Context, name string) (bool, error) {
	req, err := c.newRequest(ctx, http.MethodGet, c.url("-/package/"+EscapeName(name)+"/visibility"), "access", c.ReadToken, "")
	if err != nil {
		return false, err
	}
	var v struct {
		Public bool `json:"public"`
	}
	if _, err := c.do(ctx, req, &v); err != nil {
		return false, fmt.Errorf("reading visibility of npm package %s: %w", name, err)
	}
	return v.Public, nil
}

// Whoami returns the user a token belongs to. A 401 is an unknown, revoked or
// expired token. Tokens from the OIDC exchange are not sessions, so whoami
// does not recognise them.
func (c *Client) Whoami(ctx context.Context, token string) (string, error) {
	req, err := c.newRequest(ctx, http.MethodGet, c.url("-/whoami"), "whoami", token, "")
	if err != nil {
		return "", err
	}
	var v struct {
		Username any `json:"username"`
	}
	if _, err := c.do(ctx, req, &v); err != nil {
		return "", fmt.Errorf("npm whoami: %w", err)
	}
	name, ok := v.Username.(string)
	if !ok || name == "" {
		return "", &APIError{Status: http.StatusOK, Message: "the registry answered without a username (npm reports ENEEDAUTH)", URL: c.url("-/whoami")}
	}
	return name, nil
}

// TokenInfo is one entry of the account's token list.
type TokenInfo struct {
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Key         string       `json:"key"`
	Token       string       `json:"token"` // redacted by the registry: first8...last4
	Expiry      string       `json:"expiry"`
	CIDR        []string     `json:"cidr"`
	CIDRList    []string     `json:"cidr_whitelist"`
	Bypass2FA   bool         `json:"bypass_2fa"`
	Readonly    bool         `json:"readonly"`
	Created     string       `json:"created"`
	Updated     string       `json:"updated"`
	Accessed    string       `json:"accessed"`
	Revoked     any          `json:"revoked"`
	Permissions []Permission `json:"permissions"`
	Scopes      []Scope      `json:"scopes"`
}

// Permission of a granular token, e.g. {package write}.
type Permission struct {
	Name   string `json:"name"`
	Action string `json:"action"`
}

// Scope of a granular token, e.g. {my-pkg package}.
type Scope struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Matches reports whether this entry is the token t, by the registry's
// first8...last4 redaction.
func (ti TokenInfo) Matches(t string) bool {
	return len(t) > 12 && ti.Token == t[:8]+"..."+t[len(t)-4:]
}

// Tokens lists the account's tokens (GET /-/npm/v1/tokens, following
// urls.next). A 401 or 403 is ErrIntrospectionUnavailable: the registry may
// refuse listing to tokens that are otherwise valid.
func (c *Client) Tokens(ctx context.Context, token string) ([]TokenInfo, error) {
	next := c.url("-/npm/v1/tokens")
	var out []TokenInfo
	seen := map[string]bool{}
	for page := 0; next != "" && page < 100; page++ {
		if seen[next] {
			break
		}
		seen[next] = true
		if !c.sameHost(next) {
			return out, fmt.Errorf("npm token list: refusing to follow urls.next to another host (%s)", secret.Redact(next))
		}
		req, err := c.newRequest(ctx, http.MethodGet, next, "token", token, "")
		if err != nil {
			return nil, err
		}
		var v struct {
			Objects []TokenInfo `json:"objects"`
			Total   int         `json:"total"`
			URLs    struct {
				Next string `json:"next"`
			} `json:"urls"`
		}
		status, err := c.do(ctx, req, &v)
		if status == http.StatusUnauthorized || status == http.StatusForbidden {
			return nil, fmt.Errorf("%w: %w", ErrIntrospectionUnavailable, err)
		}
		if err != nil {
			return nil, fmt.Errorf("npm token list: %w", err)
		}
		out = append(out, v.Objects...)
		next = c.resolve(v.URLs.Next)
	}
	return out, nil
}

// resolve makes a possibly relative href absolute against the registry.
func (c *Client) resolve(href string) string {
	if href == "" {
		return ""
	}
	base, _ := url.Parse(c.registry)
	u, err := base.Parse(href)
	if err != nil {
		return ""
	}
	return u.String()
}

// sameHost keeps a token from following a link off the registry.
func (c *Client) sameHost(raw string) bool {
	a, _ := url.Parse(c.registry)
	b, err := url.Parse(raw)
	return err == nil && strings.EqualFold(a.Host, b.Host) && a.Scheme == b.Scheme
}

// ExchangeOIDC trades a GitHub ID token (audience Audience()) for a
// short-lived publish token for name; see Exchange.
func (c *Client) ExchangeOIDC(ctx context.Context, name, idToken string) (string, error) {
	x, err := c.Exchange(ctx, name, idToken)
	return x.Token, err
}

// Exchanged is the answer of the trusted-publishing exchange.
type Exchanged struct {
	Token string
	// Permissions are the actions the connection allows, in npm's trust
	// names (PermPublish, PermStagePublish), when the answer lists them;
	// nil when it does not (npm's own client reads only `token`).
	Permissions []string
}

// npm's names for what a trusted publisher may do (lib/trust-cmd.js PERMISSIONS).
const (
	PermPublish      = "createPackage"
	PermStagePublish = "createStagedPackage"
)

// DirectAllowed says whether `npm publish` is allowed, when known.
func (x Exchanged) DirectAllowed() (allowed, known bool) {
	if x.Permissions == nil {
		return false, false
	}
	for _, p := range x.Permissions {
		if p == PermPublish {
			return true, true
		}
	}
	return false, true
}

// Exchange trades a GitHub ID token (audience Audience()) for a
// short-lived publish token for name, the way npm does it. Unlike npm, which
// silently falls back to a configured token, a refusal is an error:
// *diag.Error PIOT_NPM_TRUST_REFUSED wrapping *APIError with the registry's
// `message`. The minted token is registered for redaction.
func (c *Client) Exchange(ctx context.Context, name, idToken string) (Exchanged, error) {
	// npm resolves "/-/npm/v1/..." against the registry, which drops any path
	// the registry URL has; do the same so we test what npm will do.
	base, _ := url.Parse(c.registry)
	u := base.Scheme + "://" + base.Host + "/-/npm/v1/oidc/token/exchange/package/" + EscapeName(name)
	req, err := c.newRequest(ctx, http.MethodPost, u, "publish", idToken, "")
	if err != nil {
		return Exchanged{}, err
	}
	var v struct {
		Token       string   `json:"token"`
		Permissions []string `json:"permissions"`
	}
	_, err = c.do(ctx, req, &v)
	var ae *APIError
	if errors.As(err, &ae) {
		return Exchanged{}, diag.New(CodeTrustRefused, "npm refused the trusted-publishing token exchange for %s: HTTP %d: %s", name, ae.Status, ae.Message).
			Wrap(ae).
			WithHint("npm matches the trusted publisher on the repository, the calling workflow's filename (workflow_ref) and, if set, the environment, all case-sensitive; compare them with the package's Trusted Publisher settings on npmjs.com. \"package not found\" also means the package does not exist yet: publish it once with a token first")
	}
	if err != nil {
		return Exchanged{}, fmt.Errorf("npm trusted-publishing exchange for %s: %w", name, err)
	}
	if v.Token == "" {
		return Exchanged{}, diag.New(CodeTrustRefused, "npm's token exchange for %s answered without a token", name)
	}
	secret.Register(v.Token)
	return Exchanged{Token: v.Token, Permissions: v.Permissions}, nil
}
