package npm

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Codes for `npm publish` failures, as read by ParseError.
const (
	CodeE404Unauthorized      = "PIOT_NPM_E404_UNAUTHORIZED"
	CodePublishOver           = "PIOT_NPM_PUBLISH_OVER"
	CodePaymentRequired       = "PIOT_NPM_PAYMENT_REQUIRED"
	CodeProvenanceMismatch    = "PIOT_NPM_PROVENANCE_MISMATCH"
	CodeProvenanceAccess      = "PIOT_NPM_PROVENANCE_ACCESS"
	CodeProvenanceUnsupported = "PIOT_NPM_PROVENANCE_UNSUPPORTED"
	CodeTLogConflict          = "PIOT_NPM_TLOG_CONFLICT"
	CodeNameTooSimilar        = "PIOT_NPM_NAME_TOO_SIMILAR"
	CodeForbidden             = "PIOT_NPM_FORBIDDEN"
	CodeStageOnly             = "PIOT_NPM_STAGE_ONLY"
	CodeOTPRequired           = "PIOT_NPM_OTP_REQUIRED"
	CodeNeedAuth              = "PIOT_NPM_NEED_AUTH"
	CodeUnauthorized          = "PIOT_NPM_UNAUTHORIZED"
	CodeAuthIP                = "PIOT_NPM_AUTH_IP"
	CodeTagRequired           = "PIOT_NPM_TAG_REQUIRED"
	CodePrivate               = "PIOT_NPM_PRIVATE_PACKAGE"
	CodeUnavailable           = "PIOT_NPM_REGISTRY_UNAVAILABLE"
	CodeNetwork               = "PIOT_NPM_NETWORK"
	CodePublishFailed         = "PIOT_NPM_PUBLISH_FAILED"
)

// PublishError is a typed `npm publish` failure.
type PublishError struct {
	Code    string // stable PIOT_NPM_* code
	NPMCode string // npm's own code: E403, EOTP, ENEEDAUTH, TLOG_CREATE_ENTRY_ERROR, ...
	Status  int    // HTTP status when npm reported one
	Method  string // of the failing request, when npm reported it
	URL     string
	Message string // the registry's text (body.error) or npm's summary
	Hint    string
	// Ambiguous: the package may in fact be published (a re-publish refusal
	// after a retry, Sigstore's 409). Settle it by asking the registry whether
	// the version exists with our integrity (protocols.md §4.7).
	Ambiguous bool
	// Retryable: 429, 5xx and network failures.
	Retryable bool
}

func (e *PublishError) Error() string {
	var b strings.Builder
	b.WriteString("npm publish failed")
	if e.NPMCode != "" {
		b.WriteString(" (" + e.NPMCode + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return secret.Redact(b.String())
}

// Diag converts the failure to the CLI's error type, for reporting.
func (e *PublishError) Diag() *diag.Error {
	d := diag.New(e.Code, "%s", e.Error())
	d.Hint = e.Hint
	d.Err = e
	return d
}

var (
	npmLinePrefix = regexp.MustCompile(`^(?:npm (?:error|ERR!)) ?`)
	codeLine      = regexp.MustCompile(`^code (\S+)`)
	// "403 Forbidden - PUT http://host/name - text" (optionally preceded by
	// the status again, as npm's E403 summary prints it).
	httpLine       = regexp.MustCompile(`^(?:\d{3} )?(\d{3}) [A-Za-z][A-Za-z ]*? - ([A-Z]+) (\S+)(?: - (.*))?$`)
	publishOverRe  = regexp.MustCompile(`(?m)You cannot publish over the previously published versions: ([^\s]+?)\.?$`)
	repoMismatchRe = regexp.MustCompile(`"repository\.url" is "([^"]*)", expected to match "([^"]*)"`)
)

// ParseError reads the stderr of a failed `npm publish` into a typed error.
// It always returns a non-nil error; output it does not recognise becomes
// PIOT_NPM_PUBLISH_FAILED with npm's own error lines as the message.
func ParseError(stderr string) *PublishError {
	stderr = secret.Redact(stderr)
	var lines []string // npm error lines, prefix removed
	for _, l := range strings.Split(strings.ReplaceAll(stderr, "\r\n", "\n"), "\n") {
		if loc := npmLinePrefix.FindStringIndex(l); loc != nil {
			rest := strings.TrimSpace(l[loc[1]:])
			if rest != "" && !strings.HasPrefix(rest, "A complete log of this run") {
				lines = append(lines, rest)
			}
		}
	}
	if len(lines) == 0 {
		lines = jsonErrorLines(stderr)
	}
	e := &PublishError{}
	for _, l := range lines {
		if m := codeLine.FindStringSubmatch(l); m != nil && e.NPMCode == "" {
			e.NPMCode = m[1]
			continue
		}
		if m := httpLine.FindStringSubmatch(l); m != nil && e.Status == 0 {
			e.Status, _ = strconv.Atoi(m[1])
			e.Method, e.URL, e.Message = m[2], m[3], strings.TrimSpace(m[4])
		}
	}
	all := strings.Join(lines, "\n")
	if len(lines) == 0 {
		all = strings.TrimSpace(stderr)
	}
	if e.Message == "" {
		e.Message = summary(lines, all)
	}
	classify(e, all)
	return e
}

// summary is npm's first meaningful error line.
func summary(lines []string, all string) string {
	for _, l := range lines {
		if strings.Contains(l, "failed, reason:") {
			return l
		}
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "syscall ") || strings.HasPrefix(l, "errno ") {
			continue
		}
		if codeLine.MatchString(l) {
			continue
		}
		// drop the "need auth", "404", "403" column npm prints
		for _, p := range []string{"need auth ", "notarget ", "network ", "403 ", "404 "} {
			l = strings.TrimPrefix(l, p)
		}
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	if i := strings.LastIndex(all, "\n"); i >= 0 {
		return strings.TrimSpace(all[i+1:])
	}
	return all
}

func classify(e *PublishError, all string) {
	pkg := packageFromURL(e.URL)
	switch {
	case strings.Contains(all, "TLOG_CREATE_ENTRY_ERROR") || (strings.Contains(all, "(409)") && strings.Contains(all, "transparency log")) ||
		e.NPMCode == "E409" && strings.Contains(strings.ToLower(all), "tlog"):
		e.Code, e.Ambiguous = CodeTLogConflict, true
		e.Hint = "Sigstore already holds an identical transparency-log entry, which happens when a publish is retried after it landed; check on the registry whether this version is published with our tarball's integrity before retrying"
	case publishOverRe.MatchString(all) || (e.Status == 409 && alreadyPresent(e.Message)):
		// 409 "this package is already present" is Verdaccio's form.
		e.Code, e.Ambiguous = CodePublishOver, true
		if e.Message == "" || e.Status == 0 {
			e.Message = publishOverRe.FindString(all)
		}
		e.Hint = "npm versions are immutable; if an earlier attempt of this run published it, the registry's dist.integrity matches ours and there is nothing to do; otherwise release a new version"
	case e.NPMCode == "E402" || e.Status == 402:
		e.Code = CodePaymentRequired
		e.Hint = "a scoped package is private (restricted) by default; publish it with `--access public`, i.e. set `access = \"public\"` for the package in putitoutthere.toml"
	case e.NPMCode == "E422" || e.Status == 422 || strings.Contains(all, "Error verifying sigstore provenance bundle"):
		e.Code = CodeProvenanceMismatch
		if m := repoMismatchRe.FindStringSubmatch(all); m != nil {
			e.Hint = "set package.json `repository.url` to \"git+" + m[2] + ".git\" (it is \"" + m[1] + "\"); with provenance npm requires it to match the repository that built the package"
		} else {
			e.Hint = "npm could not verify the provenance bundle; check that package.json `repository.url` matches the GitHub repository that runs the publish"
		}
	case strings.Contains(all, "Can't generate provenance for new or private package"):
		e.Code = CodeProvenanceAccess
		e.Hint = "provenance needs a public package: set `access = \"public\"` for the package (and publish from a public repository)"
	case strings.Contains(all, "provenance generation not supported") || strings.Contains(all, "Provenance generation in GitHub Actions requires"):
		e.Code = CodeProvenanceUnsupported
		e.Hint = "provenance needs GitHub Actions on a GitHub-hosted runner with `permissions: id-token: write`"
	case e.NPMCode == "EOTP" || strings.Contains(all, "one-time password"):
		e.Code = CodeOTPRequired
		e.Hint = "the account or package requires two-factor authentication for publishing; use trusted publishing or a granular token with \"bypass 2FA\" enabled"
	case e.NPMCode == "ENEEDAUTH":
		e.Code = CodeNeedAuth
		e.Hint = "npm had no credential for the registry: under trusted publishing this means the OIDC exchange was refused (npm then falls back to a token and finds none); check the package's trusted publisher, or set NODE_AUTH_TOKEN / NPM_TOKEN"
	case e.NPMCode == "EAUTHIP":
		e.Code = CodeAuthIP
		e.Hint = "the token is limited to IP ranges (CIDR) that do not include this runner; use a token without a CIDR limit or trusted publishing"
	case e.NPMCode == "E404" || e.Status == 404:
		e.Code = CodeE404Unauthorized
		e.Hint = "npm answers 404 instead of 401/403 when the token may not publish " + orPkg(pkg) + ": the token is unknown, expired, revoked, read-only or not scoped to the package. " +
			"Under trusted publishing npm also ends here when the package's trusted publisher does not match (npm falls back to the configured token, e.g. setup-node's placeholder); " +
			"and a package that does not exist yet cannot be created by trusted publishing: publish it once with a token"
	case strings.Contains(all, "Package name too similar to existing package"):
		e.Code = CodeNameTooSimilar
		e.Hint = "npm compares names without punctuation and case; choose another name or publish under a scope (@scope/name)"
	case strings.Contains(all, "OIDC permission denied for this action"):
		// The registry's words when the trusted publisher allows only
		// `npm stage publish` (kg86/visstr#40, dxfjs/writer#198), and also
		// when an old package's publishing access refuses OIDC
		// (webarkit/jsartoolkitNFT#620).
		e.Code = CodeStageOnly
		e.Hint = "the package's trusted publisher allows only `npm stage publish` (npm's default for connections created since 2026-09-03): set `npm_publish = \"staged\"` (or \"auto\") for the package, or tick \"Allow npm publish\" on the trusted publisher; on a package created before trusted publishing, also check its publishing-access setting"
	case e.NPMCode == "E403" || e.Status == 403:
		e.Code = CodeForbidden
		e.Hint = "the registry refused the publish; check that the token's user maintains " + orPkg(pkg) + " and that the package's settings allow tokens (\"Require two-factor authentication and disallow tokens\" refuses them all)"
	case e.NPMCode == "E401" || e.Status == 401:
		e.Code = CodeUnauthorized
		e.Hint = "the registry did not accept the credential; refresh NODE_AUTH_TOKEN / NPM_TOKEN or use trusted publishing"
	case strings.Contains(all, "You must specify a tag using --tag") || strings.Contains(all, "Cannot implicitly apply the \"latest\" tag"):
		e.Code = CodeTagRequired
		e.Hint = "set `tag` for the package in putitoutthere.toml (npm refuses to put a prerelease or an older version on \"latest\")"
	case e.NPMCode == "EPRIVATE" || strings.Contains(all, "marked as private"):
		e.Code = CodePrivate
		e.Hint = "package.json has \"private\": true; remove it or take the package out of putitoutthere.toml"
	case e.Status == 429 || e.Status >= 500 || e.NPMCode == "E429" || strings.HasPrefix(e.NPMCode, "E5"):
		e.Code, e.Retryable = CodeUnavailable, true
		e.Hint = "the registry is rate limiting or failing; retry later"
	case isNetworkCode(e.NPMCode):
		e.Code, e.Retryable = CodeNetwork, true
		e.Hint = "npm could not reach the registry; check the network and the registry URL (" + RegistryEnv + ")"
	default:
		e.Code = CodePublishFailed
		// npm's output is not shown elsewhere in CI: keep its last words.
		if tail := otherLines(all, e.Message, 6); tail != "" {
			e.Message = strings.TrimSpace(e.Message + "\nnpm said:\n  " + strings.ReplaceAll(tail, "\n", "\n  "))
		}
		e.Hint = "fix the cause npm names and re-run: versions already published are skipped"
	}
}

// jsonErrorLines reads the document `npm publish --json` prints on failure,
// {"error":{"code","summary","detail"}}, as if it were npm's error lines.
func jsonErrorLines(out string) []string {
	i := strings.Index(out, "{")
	if i < 0 {
		return nil
	}
	var doc struct {
		Error struct {
			Code    string `json:"code"`
			Summary string `json:"summary"`
			Detail  string `json:"detail"`
		} `json:"error"`
	}
	if json.NewDecoder(strings.NewReader(out[i:])).Decode(&doc) != nil || (doc.Error.Code == "" && doc.Error.Summary == "") {
		return nil
	}
	var lines []string
	if doc.Error.Code != "" {
		lines = append(lines, "code "+doc.Error.Code)
	}
	for _, l := range strings.Split(doc.Error.Summary+"\n"+doc.Error.Detail, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func alreadyPresent(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "already present") || strings.Contains(m, "already exists")
}

func isNetworkCode(c string) bool {
	switch c {
	case "ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "ETIMEDOUT", "ERR_SOCKET_TIMEOUT", "EAI_AGAIN", "EAI_FAIL", "EPIPE":
		return true
	}
	return false
}

func orPkg(pkg string) string {
	if pkg == "" {
		return "the package"
	}
	return pkg
}

// packageFromURL turns "http://host/@s%2fp" into "@s/p".
func packageFromURL(u string) string {
	if u == "" {
		return ""
	}
	i := strings.Index(u, "://")
	if i < 0 {
		return ""
	}
	rest := u[i+3:]
	j := strings.IndexByte(rest, '/')
	if j < 0 {
		return ""
	}
	p := rest[j+1:]
	if k := strings.LastIndex(p, "/"); k >= 0 && !strings.HasPrefix(p, "@") {
		p = p[k+1:]
	}
	return strings.Replace(strings.Replace(p, "%2f", "/", 1), "%2F", "/", 1)
}

// otherLines is the last n non-empty lines of s other than the summary
// already reported and npm's `code …` line.
func otherLines(s, summary string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && l != summary && !codeLine.MatchString(l) {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "\n")
}
