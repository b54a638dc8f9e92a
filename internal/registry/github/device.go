package github

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/httpx"
	"github.com/putitoutthere/putitoutthere/internal/secret"
	"github.com/putitoutthere/putitoutthere/internal/termtext"
)

// Clock is time for the device flow, injectable so tests never wait.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time { return time.Now() }

func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// DeviceCode is GitHub's answer to POST /login/device/code.
type DeviceCode struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
	// IssuedAt is when the code was received (by the caller's clock).
	IssuedAt time.Time `json:"-"`
}

// Token is a user access token with its refresh token.
type Token struct {
	AccessToken      string
	RefreshToken     string
	TokenType        string
	Scope            string
	ExpiresAt        time.Time // zero: does not expire
	RefreshExpiresAt time.Time // zero: unknown / none
}

// OAuthError is an error answer of the OAuth endpoints (GitHub sends most of
// them with HTTP 200).
type OAuthError struct {
	Code        string
	Description string
}

func (e *OAuthError) Error() string {
	if e.Description != "" {
		return e.Code + ": " + e.Description
	}
	return e.Code
}

// Typed outcomes of the device flow.
var (
	// ErrExpiredToken: the device code expired before the user approved it.
	ErrExpiredToken = errors.New("the device code expired before it was approved")
	// ErrAccessDenied: the user cancelled the authorization.
	ErrAccessDenied = errors.New("the authorization was denied")
	// ErrDeviceFlowDisabled: the App does not allow the device flow (or the
	// client ID is unknown).
	ErrDeviceFlowDisabled = errors.New("the device flow is not enabled for this GitHub App")
	// ErrBadRefreshToken: the refresh token is revoked, expired or already used.
	ErrBadRefreshToken = errors.New("the refresh token is invalid, expired or revoked")
)

type oauthAnswer struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	Interval         int    `json:"interval"`

	AccessToken           string `json:"access_token"`
	TokenType             string `json:"token_type"`
	Scope                 string `json:"scope"`
	ExpiresIn             int    `json:"expires_in"`
	RefreshToken          string `json:"refresh_token"`
	RefreshTokenExpiresIn int    `json:"refresh_token_expires_in"`
}

// ErrMalformed: the server answered, but not with what the protocol says
// (not JSON, fields missing or unusable). It is not a transient failure.
var ErrMalformed = errors.New("GitHub's answer is malformed")

// Bounds on what a server may ask of the device flow: GitHub uses a 5 s
// interval and a 900 s code lifetime; a server asking for more is not waited
// on forever.
const (
	maxInterval  = 60 * time.Second
	maxExpiresIn = 30 * 60
)

func pollInterval(sec int) time.Duration {
	switch {
	case sec <= 0:
		return 5 * time.Second
	case sec > int(maxInterval/time.Second):
		return maxInterval
	}
	return time.Duration(sec) * time.Second
}

// DeviceCode starts the device flow for the OAuth/GitHub App clientID.
// GitHub Apps ignore scopes (permissions come from the App), so none are sent.
func (c *Client) DeviceCode(ctx context.Context, clientID string, clock Clock) (*DeviceCode, error) {
	if clock == nil {
		clock = RealClock{}
	}
	var dc struct {
		DeviceCode
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	err := c.postForm(ctx, "/login/device/code", url.Values{"client_id": {clientID}}, &dc)
	if err != nil {
		// cli/oauth reads 401/403/404/422 here as "device flow unsupported".
		switch httpx.StatusOf(err) {
		case 400, 401, 403, 404, 422:
			return nil, fmt.Errorf("requesting a device code from %s: %w (%v)", c.ServerURL, ErrDeviceFlowDisabled, err)
		}
		return nil, fmt.Errorf("requesting a device code from %s: %w", c.ServerURL, err)
	}
	if dc.Error != "" {
		oe := &OAuthError{Code: dc.Error, Description: dc.ErrorDescription}
		if dc.Error == "device_flow_disabled" || dc.Error == "unauthorized_client" {
			return nil, fmt.Errorf("requesting a device code: %w: %w", ErrDeviceFlowDisabled, oe)
		}
		return nil, fmt.Errorf("requesting a device code: %w", oe)
	}
	if dc.DeviceCode.DeviceCode == "" || dc.UserCode == "" {
		return nil, fmt.Errorf("requesting a device code from %s: %w: the answer has no device_code/user_code", c.ServerURL, ErrMalformed)
	}
	// What the user is shown comes from the server: no escape sequence or
	// control character may reach the terminal (an OSC 8 hyperlink can show
	// one address and open another), and the address must be a web page.
	dc.UserCode = termtext.Clean(dc.UserCode)
	dc.VerificationURI = termtext.Clean(dc.VerificationURI)
	if u, err := url.Parse(dc.VerificationURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || dc.UserCode == "" || len(dc.UserCode) > 64 || len(dc.VerificationURI) > 2048 {
		return nil, fmt.Errorf("requesting a device code from %s: %w: unusable user_code or verification_uri", c.ServerURL, ErrMalformed)
	}
	if dc.ExpiresIn <= 0 || dc.ExpiresIn > maxExpiresIn {
		dc.ExpiresIn = maxExpiresIn
	}
	secret.Register(dc.DeviceCode.DeviceCode)
	out := dc.DeviceCode
	out.IssuedAt = clock.Now()
	return &out, nil
}

// PollToken polls for the access token until the user approves, waiting the
// device code's interval between polls (plus 5 s per slow_down). It returns
// ErrExpiredToken, ErrAccessDenied or an *OAuthError for the other outcomes.
func (c *Client) PollToken(ctx context.Context, clientID string, dc *DeviceCode, clock Clock) (*Token, error) {
	if clock == nil {
		clock = RealClock{}
	}
	interval := pollInterval(dc.Interval)
	var deadline time.Time
	if dc.ExpiresIn > 0 {
		issued := dc.IssuedAt
		if issued.IsZero() {
			issued = clock.Now()
		}
		deadline = issued.Add(time.Duration(dc.ExpiresIn) * time.Second)
	}
	form := url.Values{
		"client_id":   {clientID},
		"device_code": {dc.DeviceCode},
		"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
	}
	for {
		if err := clock.Sleep(ctx, interval); err != nil {
			return nil, err
		}
		if !deadline.IsZero() && !clock.Now().Before(deadline) {
			return nil, ErrExpiredToken
		}
		var a oauthAnswer
		if err := c.postForm(ctx, "/login/oauth/access_token", form, &a); err != nil {
			return nil, fmt.Errorf("polling for the access token: %w", err)
		}
		switch a.Error {
		case "":
			if a.AccessToken == "" {
				return nil, fmt.Errorf("polling for the access token: %w: the answer has no access_token", ErrMalformed)
			}
			return c.token(a, clock), nil
		case "authorization_pending":
			continue
		case "slow_down":
			// GitHub adds 5 s and says the new interval; take whichever is larger.
			interval += 5 * time.Second
			if n := pollInterval(a.Interval); n > interval {
				interval = n
			}
			interval = min(interval, maxInterval)
			continue
		case "expired_token", "token_expired":
			return nil, ErrExpiredToken
		case "access_denied":
			return nil, ErrAccessDenied
		default:
			return nil, fmt.Errorf("polling for the access token: %w", &OAuthError{Code: a.Error, Description: a.ErrorDescription})
		}
	}
}

func (c *Client) token(a oauthAnswer, clock Clock) *Token {
	secret.Register(a.AccessToken, a.RefreshToken)
	now := clock.Now()
	t := &Token{AccessToken: a.AccessToken, RefreshToken: a.RefreshToken, TokenType: a.TokenType, Scope: a.Scope}
	if a.ExpiresIn > 0 {
		t.ExpiresAt = now.Add(time.Duration(a.ExpiresIn) * time.Second)
	}
	if a.RefreshTokenExpiresIn > 0 {
		t.RefreshExpiresAt = now.Add(time.Duration(a.RefreshTokenExpiresIn) * time.Second)
	}
	return t
}

// Refresh exchanges a refresh token for a new pair (device-flow tokens need
// no client secret). The old pair stops working at once, so the caller must
// store the new one. A refused refresh token gives ErrBadRefreshToken.
func (c *Client) Refresh(ctx context.Context, clientID, refreshToken string, clock Clock) (*Token, error) {
	if clock == nil {
		clock = RealClock{}
	}
	secret.Register(refreshToken)
	var a oauthAnswer
	err := c.postForm(ctx, "/login/oauth/access_token", url.Values{
		"client_id": {clientID}, "grant_type": {"refresh_token"}, "refresh_token": {refreshToken},
	}, &a)
	if err != nil {
		return nil, fmt.Errorf("refreshing the GitHub token: %w", err)
	}
	switch a.Error {
	case "":
	case "bad_refresh_token", "invalid_grant", "expired_token", "token_expired":
		return nil, fmt.Errorf("refreshing the GitHub token: %w: %w", ErrBadRefreshToken, &OAuthError{Code: a.Error, Description: a.ErrorDescription})
	default:
		return nil, fmt.Errorf("refreshing the GitHub token: %w", &OAuthError{Code: a.Error, Description: a.ErrorDescription})
	}
	if a.AccessToken == "" {
		return nil, fmt.Errorf("refreshing the GitHub token: the answer has no access_token")
	}
	return c.token(a, clock), nil
}
