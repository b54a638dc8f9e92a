package npm

import (
	"errors"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Fixtures are npm 11's stderr, captured against the emulator (and, for the
// Sigstore and provenance cases, from the issue threads in protocols.md).
func TestParseError(t *testing.T) {
	tests := []struct {
		name      string
		stderr    string
		code      string
		npmCode   string
		status    int
		message   string
		hintHas   string
		ambiguous bool
		retry     bool
	}{
		{
			name: "E403 publish over",
			stderr: `npm warn using --force Recommended protections disabled.
npm error code E403
npm error 403 403 Forbidden - PUT http://127.0.0.1:35321/dump - You cannot publish over the previously published versions: 1.0.0.
npm error 403 In most cases, you or one of your dependencies are requesting a package version that is forbidden by your security policy, or on a server you do not have access to.
npm error A complete log of this run can be found in: /tmp/x.log`,
			code: CodePublishOver, npmCode: "E403", status: 403,
			message:   "You cannot publish over the previously published versions: 1.0.0.",
			hintHas:   "integrity",
			ambiguous: true,
		},
		{
			name: "local publish-over check (npm 11 reads the packument first)",
			stderr: `npm error You cannot publish over the previously published versions: 1.0.0.
npm error A complete log of this run can be found in: /tmp/x.log`,
			code: CodePublishOver, message: "You cannot publish over the previously published versions: 1.0.0.", ambiguous: true,
		},
		{
			name: "E404 unauthorized",
			stderr: `npm error code E404
npm error 404 Not Found - PUT http://127.0.0.1:35321/dump2 - Not found
npm error 404
npm error 404  The requested resource 'dump2@1.0.0' could not be found or you do not have permission to access it.
npm error 404
npm error 404 Note that you can also install from a
npm error 404 tarball, folder, http url, or git url.`,
			code: CodeE404Unauthorized, npmCode: "E404", status: 404, message: "Not found",
			hintHas: "trusted publisher",
		},
		{
			name: "E402 scoped without access public",
			stderr: `npm error code E402
npm error 402 Payment Required - PUT http://127.0.0.1:35321/@s%2fdump - You must sign up for private packages`,
			code: CodePaymentRequired, npmCode: "E402", status: 402, message: "You must sign up for private packages",
			hintHas: `access = "public"`,
		},
		{
			name: "E422 provenance repository mismatch",
			stderr: `npm error code E422
npm error 422 Unprocessable Entity - PUT https://registry.example/@elastic%2fsynthetics - Error verifying sigstore provenance bundle: Failed to validate repository information: package.json: "repository.url" is "", expected to match "https://github.com/elastic/synthetics" from provenance`,
			code: CodeProvenanceMismatch, npmCode: "E422", status: 422,
			hintHas: `git+https://github.com/elastic/synthetics.git`,
		},
		{
			name: "Sigstore transparency-log 409",
			stderr: `npm notice publish Signed provenance statement with source and build information from GitHub Actions
npm error code TLOG_CREATE_ENTRY_ERROR
npm error error creating tlog entry - (409) an equivalent entry already exists in the transparency log with UUID 24296fb24b8ad77a`,
			code: CodeTLogConflict, npmCode: "TLOG_CREATE_ENTRY_ERROR", ambiguous: true,
			message: "error creating tlog entry - (409) an equivalent entry already exists in the transparency log with UUID 24296fb24b8ad77a",
		},
		{
			name: "Verdaccio's 409 for a re-publish",
			stderr: `npm error code E409
npm error 409 Conflict - PUT http://127.0.0.1:35001/piot-verdaccio - this package is already present`,
			code: CodePublishOver, npmCode: "E409", status: 409, message: "this package is already present", ambiguous: true,
		},
		{
			name: "EOTP",
			stderr: `npm error code EOTP
npm error This operation requires a one-time password from your authenticator.
npm error You can provide a one-time password by passing --otp=<code> to the command you ran.`,
			code: CodeOTPRequired, npmCode: "EOTP", message: "This operation requires a one-time password from your authenticator.",
		},
		{
			name:   "ENEEDAUTH",
			stderr: "npm error code ENEEDAUTH\nnpm error need auth This command requires you to be logged in to http://127.0.0.1:35321/\nnpm error need auth You need to authorize this machine using `npm adduser`",
			code:   CodeNeedAuth, npmCode: "ENEEDAUTH", message: "This command requires you to be logged in to http://127.0.0.1:35321/",
			hintHas: "OIDC exchange",
		},
		{
			name: "too similar",
			stderr: `npm error code E403
npm error 403 403 Forbidden - PUT http://127.0.0.1:35321/Dump_ - Package name too similar to existing package dump; try renaming your package to '@alice/Dump_' instead.`,
			code: CodeNameTooSimilar, npmCode: "E403", status: 403,
		},
		{
			name: "E403 not a maintainer",
			stderr: `npm error code E403
npm error 403 403 Forbidden - PUT http://127.0.0.1:1/left-pad - You do not have permission to publish "left-pad". Are you logged in as the correct user?`,
			code: CodeForbidden, npmCode: "E403", status: 403, hintHas: "left-pad",
		},
		{
			name: "old npm ERR! prefix",
			stderr: `npm ERR! code E404
npm ERR! 404 Not Found - PUT https://registry.example/@s%2fp - Not found`,
			code: CodeE404Unauthorized, npmCode: "E404", status: 404, hintHas: "@s/p",
		},
		{
			name: "npm publish --json document",
			stderr: `{
  "error": {
    "code": "E402",
    "summary": "402 Payment Required - PUT http://127.0.0.1:32799/@s%2fx - You must sign up for private packages",
    "detail": ""
  }
}`,
			code: CodePaymentRequired, npmCode: "E402", status: 402, message: "You must sign up for private packages",
		},
		{
			name:   "prerelease needs a tag",
			stderr: "npm error You must specify a tag using --tag when publishing a prerelease version.",
			code:   CodeTagRequired,
		},
		{
			name:   "503",
			stderr: "npm error code E503\nnpm error 503 Service Unavailable - PUT http://127.0.0.1:1/p - Service Unavailable",
			code:   CodeUnavailable, npmCode: "E503", status: 503, retry: true,
		},
		{
			name: "network",
			stderr: `npm error code ECONNREFUSED
npm error syscall connect
npm error errno ECONNREFUSED
npm error request to http://127.0.0.1:1/p failed, reason: connect ECONNREFUSED 127.0.0.1:1`,
			code: CodeNetwork, npmCode: "ECONNREFUSED", retry: true,
			message: "request to http://127.0.0.1:1/p failed, reason: connect ECONNREFUSED 127.0.0.1:1",
		},
		{
			name:    "unrecognised",
			stderr:  "npm error code EWHATEVER\nnpm error something odd happened",
			code:    CodePublishFailed,
			npmCode: "EWHATEVER", message: "something odd happened",
		},
		{
			name:    "not npm output at all",
			stderr:  "sh: 1: npm: not found",
			code:    CodePublishFailed,
			message: "sh: 1: npm: not found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ParseError(tt.stderr)
			if e == nil {
				t.Fatal("ParseError returned nil")
			}
			if e.Code != tt.code {
				t.Errorf("Code = %s, want %s (%+v)", e.Code, tt.code, e)
			}
			if e.NPMCode != tt.npmCode {
				t.Errorf("NPMCode = %q, want %q", e.NPMCode, tt.npmCode)
			}
			if e.Status != tt.status {
				t.Errorf("Status = %d, want %d", e.Status, tt.status)
			}
			if tt.message != "" && e.Message != tt.message {
				t.Errorf("Message = %q, want %q", e.Message, tt.message)
			}
			if tt.hintHas != "" && !strings.Contains(e.Hint, tt.hintHas) {
				t.Errorf("Hint = %q, want it to mention %q", e.Hint, tt.hintHas)
			}
			if e.Hint == "" {
				t.Error("no hint")
			}
			if e.Ambiguous != tt.ambiguous || e.Retryable != tt.retry {
				t.Errorf("Ambiguous=%v Retryable=%v, want %v %v", e.Ambiguous, e.Retryable, tt.ambiguous, tt.retry)
			}
			d := e.Diag()
			if d.Code != tt.code || d.Hint != e.Hint || !errors.Is(d, e) {
				t.Errorf("Diag() = %+v", d)
			}
			if diag.CodeOf(d) != tt.code {
				t.Errorf("diag.CodeOf = %s", diag.CodeOf(d))
			}
		})
	}
}

func TestParseErrorRedactsTokens(t *testing.T) {
	tok := "npm_SECRETSECRETSECRETSECRETSECRET123456"
	secret.Register(tok)
	t.Cleanup(secret.Reset)
	e := ParseError("npm error code E401\nnpm error 401 Unauthorized - PUT http://127.0.0.1:1/p - bad token " + tok)
	if e.Code != CodeUnauthorized {
		t.Errorf("Code = %s", e.Code)
	}
	for _, s := range []string{e.Error(), e.Message, e.Diag().Error()} {
		if strings.Contains(s, tok) {
			t.Fatalf("token leaked: %q", s)
		}
	}
}

// An unrecognised failure keeps npm's own last words: in CI nothing else
// shows them.
func TestParseErrorKeepsNPMWords(t *testing.T) {
	e := ParseError("npm error code EWEIRD\nnpm error something odd happened\nnpm error while reading the tarball\nnpm error disk quota exceeded on /tmp\n")
	if e.Code != CodePublishFailed || !strings.Contains(e.Error(), "disk quota exceeded on /tmp") || !strings.Contains(e.Error(), "while reading the tarball") {
		t.Fatalf("npm's words lost: %q", e.Error())
	}
	if strings.Contains(e.Hint, "above") {
		t.Fatalf("the hint must not point at output nobody sees: %q", e.Hint)
	}
}
