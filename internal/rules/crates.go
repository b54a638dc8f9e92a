package rules

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"
)

const (
	srcPublish   = "rust-lang/crates.io src/controllers/krate/publish.rs"
	srcLicenses  = "rust-lang/crates.io src/licenses.rs (spdx parse mode), checked with the SPDX license list of github.com/github/go-spdx"
	srcKeyword   = srcPublish + " with crates/crates_io_database/src/models/keyword.rs (Keyword::valid_name)"
	srcCategory  = srcPublish + " with src/boot/categories.toml (Category::update_crate)"
	srcReserved  = srcPublish + " (is_reserved_name) with migrations/*/up.sql (reserved_crate_names)"
	srcLimits    = "rust-lang/crates.io src/config/publish_limits.rs, enforced in " + srcPublish
	srcTrustpub  = srcPublish + " (Trusted Publishing tokens)"
	licenseIntro = "unknown or invalid license expression; see http://opensource.org/licenses for options, and http://spdx.org/licenses/ for their identifiers\nNote: If you have a non-standard license that is not listed by SPDX, use the license-file field to specify the path to a file containing the text of the license.\nSee https://doc.rust-lang.org/cargo/reference/manifest.html#the-license-and-license-file-fields for more information.\n"

	// CratesUploadLimit is crates.io's default .crate size limit.
	CratesUploadLimit int64 = 10 * 1024 * 1024
)

// CratesRules is crates.io's table.
var CratesRules = register([]*Rule{
	{ID: "crates/version-too-long", Registry: Crates, Status: 400, Source: srcPublish + " with crates/crates_io_validation/src/lib.rs (MAX_VERSION_LENGTH)", Coverage: Full,
		Text: "the version number is too long (max 150 characters)",
		Fix:  "shorten the version's pre-release or build part"},
	{ID: "crates/missing-metadata", Registry: Crates, Status: 400, Source: srcPublish, Coverage: Full,
		Text: "missing or empty metadata fields: {fields}. Please see https://doc.rust-lang.org/cargo/reference/manifest.html for more information on configuring these fields",
		Fix:  "set description and license (or license-file) in [package] of Cargo.toml"},
	{ID: "crates/description-too-long", Registry: Crates, Status: 400, Source: srcPublish + " (MAX_DESCRIPTION_LENGTH, counted in bytes)", Coverage: Full,
		Text: "The `description` is too long. A maximum of 1000 characters are currently allowed.",
		Fix:  "shorten description to 1000 bytes (UTF-8: accented letters count 2, CJK 3)"},
	{ID: "crates/license-invalid", Registry: Crates, Status: 400, Source: srcLicenses, Coverage: Full,
		Text: licenseIntro + "{error}",
		Fix:  "write license as an SPDX expression (`MIT OR Apache-2.0`), or use license-file for a non-SPDX license"},
	{ID: "crates/url-scheme", Registry: Crates, Status: 400, Source: srcPublish + " (validate_url)", Coverage: Full,
		Text: "URL for field `{field}` must begin with http:// or https:// (url: {url})",
		Fix:  "homepage, documentation and repository must be http(s) URLs"},
	{ID: "crates/url-invalid", Registry: Crates, Status: 400, Source: srcPublish + " (validate_url)", Coverage: Full,
		Text: "`{field}` is not a valid url: `{url}`",
		Fix:  "fix the URL"},
	{ID: "crates/rust-version-invalid", Registry: Crates, Status: 400, Source: srcPublish + " (validate_rust_version)", Coverage: Full,
		Text: "failed to parse `Cargo.toml` manifest file\n\ninvalid `rust-version` value",
		Fix:  "write rust-version as a bare version like 1.70 (no operators, no pre-release)"},
	{ID: "crates/too-many-keywords", Registry: Crates, Status: 400, Source: srcPublish, Coverage: Full,
		Text: "expected at most 5 keywords per crate",
		Fix:  "keep at most 5 keywords"},
	{ID: "crates/keyword-too-long", Registry: Crates, Status: 400, Source: srcKeyword, Coverage: Full,
		Text: "\"{keyword}\" is an invalid keyword (keywords must have less than 20 characters)",
		Fix:  "keywords are at most 20 bytes"},
	{ID: "crates/keyword-invalid", Registry: Crates, Status: 400, Source: srcKeyword, Coverage: Full,
		Text: "\"{keyword}\" is an invalid keyword",
		Fix:  "keywords start with an ASCII letter or digit and hold only ASCII letters, digits, '_', '-' and '+'"},
	{ID: "crates/too-many-categories", Registry: Crates, Status: 400, Source: srcPublish, Coverage: Full,
		Text: "expected at most 5 categories per crate",
		Fix:  "keep at most 5 categories"},
	{ID: "crates/dependency-registry", Registry: Crates, Status: 400, Source: srcPublish + " (validate_dependency)", Coverage: Full,
		Text: "Dependency `{name}` is hosted on another registry. Cross-registry dependencies are not permitted on crates.io.",
		Fix:  "depend on the crate from crates.io, or publish it there first"},
	{ID: "crates/dependency-req-invalid", Registry: Crates, Status: 400, Source: srcPublish + " (validate_dependency)", Coverage: Full,
		Text: "\"{req}\" is an invalid version requirement",
		Fix:  "write a semver requirement"},
	{ID: "crates/dependency-wildcard", Registry: Crates, Status: 400, Source: srcPublish + " (validate_dependency)", Coverage: Full,
		Text: "wildcard (`*`) dependency constraints are not allowed on crates.io. Crate with this problem: `{name}` See https://doc.rust-lang.org/cargo/faq.html#can-libraries-use--as-a-version-for-their-dependencies for more information",
		Fix:  "give the dependency a version requirement"},
	{ID: "crates/reserved-name", Registry: Crates, Status: 400, Source: srcReserved, Coverage: Full,
		Text: "cannot upload a crate with a reserved name",
		Fix:  "rename the crate (names such as std, core, alloc, test, nul, con are reserved)"},
	{ID: "crates/dependency-unknown", Registry: Crates, Status: 400, Source: srcPublish + " (add_dependencies)", Coverage: Partial,
		Limit: "needs crates.io's list of crates: publish checks each dependency against the crates of the run and asks crates.io about the others (an unreachable crates.io refuses nothing); doctor --artifacts checks only the run's own crates",
		Text:  "no known crate named `{name}`",
		Fix:   "publish the dependency first (add it to this release), or fix its name"},
	{ID: "crates/category-unknown", Registry: Crates, Status: 400, Source: srcCategory, Coverage: Full,
		Text: "The following category slugs are not currently supported on crates.io: {slugs}\n\nSee https://crates.io/category_slugs for a list of supported slugs.",
		Fix:  "use slugs from https://crates.io/category_slugs (e.g. command-line-utilities, development-tools::build-utils)"},
	{ID: "crates/upload-too-large", Registry: Crates, Status: 413, Source: srcLimits + " (read_tarball_bytes)", Coverage: Partial,
		Limit: "checked against the default 10 MB; a crate granted a larger max_upload_size is not known offline",
		Text:  "max upload size is: {limit}",
		Fix:   "exclude large files from the package (`exclude`/`include` in Cargo.toml), or ask help@crates.io for a larger limit"},
	{ID: "crates/trustpub-new-crate", Registry: Crates, Status: 403, Source: srcTrustpub, Coverage: Full,
		Text: "Trusted Publishing tokens do not support creating new crates. Publish the crate manually, first",
		Fix:  "publish the first version with a crates.io API token (CARGO_REGISTRY_TOKEN), then register the trusted publisher"},
})

// CrateDep is one dependency as crates.io reads it.
type CrateDep struct {
	Name     string // the crate depended on (after a `package =` rename)
	Req      string
	Registry string // index URL of another registry; "" for crates.io
	Kind     string
}

// CrateManifest is what crates.io reads from a publish.
type CrateManifest struct {
	Name, Version, Description, License, LicenseFile string
	Homepage, Documentation, Repository, RustVersion string
	Keywords, Categories                             []string
	Deps                                             []CrateDep
}

// IsCratesIOIndex: the index URL names crates.io's own index.
func IsCratesIOIndex(u string) bool {
	u = strings.TrimSuffix(strings.TrimPrefix(u, "sparse+"), "/")
	return u == "" || u == "https://github.com/rust-lang/crates.io-index" || u == "https://index.crates.io"
}

// CratesPublish applies publish.rs's content rules in its order (the first
// is what crates.io answers). known, when set, says whether a crate exists
// on the registry; nil skips that rule.
func CratesPublish(m CrateManifest, known func(name string) bool) []Violation {
	out := CratesVersion(m.Version)
	var missing []string
	if strings.TrimSpace(m.Description) == "" {
		missing = append(missing, "description")
	}
	if m.License == "" && m.LicenseFile == "" {
		missing = append(missing, "license")
	}
	if len(missing) > 0 {
		out = append(out, violate("crates/missing-metadata", "fields", strings.Join(missing, ", ")))
	}
	if len(m.Description) > 1000 { // Rust's str::len: bytes
		out = append(out, violate("crates/description-too-long"))
	}
	if m.License != "" {
		if _, err := SPDXCheck(m.License, true); err != nil {
			out = append(out, violate("crates/license-invalid", "error", err.Error()))
		}
	}
	for _, f := range []struct{ name, val string }{{"homepage", m.Homepage}, {"documentation", m.Documentation}, {"repository", m.Repository}} {
		if f.val == "" {
			continue
		}
		if !strings.HasPrefix(f.val, "http://") && !strings.HasPrefix(f.val, "https://") {
			out = append(out, violate("crates/url-scheme", "field", f.name, "url", f.val))
		} else if u, err := url.Parse(f.val); err != nil || u.Host == "" {
			out = append(out, violate("crates/url-invalid", "field", f.name, "url", f.val))
		}
	}
	if rv := m.RustVersion; rv != "" {
		if _, err := semver.NewConstraint(rv); err != nil || strings.Trim(rv, "0123456789.") != "" {
			out = append(out, violate("crates/rust-version-invalid"))
		}
	}
	if len(m.Keywords) > 5 {
		out = append(out, violate("crates/too-many-keywords"))
	}
	for _, k := range m.Keywords {
		if len(k) > 20 {
			out = append(out, violate("crates/keyword-too-long", "keyword", k))
		} else if !validKeyword(k) {
			out = append(out, violate("crates/keyword-invalid", "keyword", k))
		}
	}
	if len(m.Categories) > 5 {
		out = append(out, violate("crates/too-many-categories"))
	}
	for _, d := range m.Deps {
		if !IsCratesIOIndex(d.Registry) {
			out = append(out, violate("crates/dependency-registry", "name", d.Name))
			continue
		}
		req := strings.TrimSpace(d.Req)
		if req == "*" {
			out = append(out, violate("crates/dependency-wildcard", "name", d.Name))
			continue
		}
		if _, err := semver.NewConstraint(cargoReq(req)); err != nil && req != "" {
			out = append(out, violate("crates/dependency-req-invalid", "req", d.Req))
		}
	}
	if ReservedCrateName(m.Name) {
		out = append(out, violate("crates/reserved-name"))
	}
	if known != nil {
		seen := map[string]bool{}
		for _, d := range m.Deps {
			if seen[d.Name] || !IsCratesIOIndex(d.Registry) {
				continue
			}
			seen[d.Name] = true
			if !known(d.Name) {
				out = append(out, violate("crates/dependency-unknown", "name", d.Name))
				break // crates.io stops at the first
			}
		}
	}
	var unknown []string
	for _, c := range m.Categories {
		if !CategoryKnown(c) {
			unknown = append(unknown, c)
		}
	}
	if len(unknown) > 0 {
		out = append(out, violate("crates/category-unknown", "slugs", strings.Join(unknown, ", ")))
	}
	return out
}

// CratesVersion applies the version length limit (150 characters).
func CratesVersion(v string) []Violation {
	if utf8.RuneCountInString(v) > 150 {
		return []Violation{violate("crates/version-too-long")}
	}
	return nil
}

// CratesSize applies the upload size limit (limit <= 0: the default).
func CratesSize(size, limit int64) []Violation {
	if limit <= 0 {
		limit = CratesUploadLimit
	}
	if size > limit {
		return []Violation{violate("crates/upload-too-large", "limit", fmt.Sprint(limit))}
	}
	return nil
}

// validKeyword is Keyword::valid_name.
func validKeyword(k string) bool {
	if k == "" {
		return false
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	if !alnum(k[0]) {
		return false
	}
	for i := 1; i < len(k); i++ {
		c := k[i]
		if !(alnum(c) || c == '_' || c == '-' || c == '+') {
			return false
		}
	}
	return true
}

// cargoReq turns Cargo's requirement syntax into one Masterminds parses
// (a bare version is a caret requirement).
func cargoReq(req string) string {
	parts := strings.Split(req, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p != "" && p[0] >= '0' && p[0] <= '9' {
			p = "^" + p
		}
		parts[i] = p
	}
	return strings.Join(parts, ", ")
}

// SortedUnique is a helper for callers listing names.
func SortedUnique(in []string) []string { return uniqSorted(in) }

var _ = sort.Strings
