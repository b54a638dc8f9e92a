package rules

import (
	"fmt"
	"mime"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/putitoutthere/putitoutthere/internal/pydist"
)

const (
	warehouse     = "pypi/warehouse "
	srcLegacy     = warehouse + "warehouse/forklift/legacy.py"
	srcMetadata   = warehouse + "warehouse/forklift/metadata.py (_validate_metadata)"
	srcPackaging  = "pypa/packaging src/packaging/metadata.py (Metadata.from_raw), via " + warehouse + "warehouse/forklift/metadata.py"
	srcServices   = warehouse + "warehouse/packaging/services.py (check_project_name, create_project), answered by warehouse/oidc/views.py (mint_token) as 422 invalid-payload"
	srcWheelUtils = warehouse + "warehouse/utils/wheel.py (validate_record), called from warehouse/forklift/legacy.py"

	coreMetadataSee = " See https://packaging.python.org/specifications/core-metadata for more information."
	localVersionSee = " See https://packaging.python.org/en/latest/specifications/version-specifiers/#local-version-identifiers for more information."
	projectNameSee  = " See https://pypi.org/help/#project-name for more information."

	// PyPIFileLimit is Warehouse's default per-file limit (MAX_FILESIZE,
	// 100 MiB); a project can have a larger one granted.
	PyPIFileLimit int64 = 100 << 20
)

// PyPIRules is PyPI's table.
var PyPIRules = register([]*Rule{
	{ID: "pypi/metadata-version", Registry: PyPI, Status: 400, Source: srcMetadata, Coverage: Full,
		Text: "{value} is not a valid metadata version." + coreMetadataSee,
		Fix:  "build with a current build backend (Metadata-Version 1.0-1.2 or 2.1-2.5)"},
	{ID: "pypi/version-invalid", Registry: PyPI, Status: 400, Source: srcPackaging, Coverage: Full,
		Text: "{value} is invalid for 'version'." + coreMetadataSee,
		Fix:  "use a PEP 440 version"},
	{ID: "pypi/summary-multiline", Registry: PyPI, Status: 400, Source: srcPackaging, Coverage: Full,
		Text: "'summary' must be a single line." + coreMetadataSee,
		Fix:  "write [project].description (the Summary) on one line"},
	{ID: "pypi/field-too-new", Registry: PyPI, Status: 400, Source: srcPackaging, Coverage: Full,
		Text: "{field} introduced in metadata version {added}, not {version}." + coreMetadataSee,
		Fix:  "build with a backend that writes the Metadata-Version the field needs (setuptools >= 77 writes 2.4 for License-Expression and License-File)"},
	{ID: "pypi/description-content-type", Registry: PyPI, Status: 400, Source: srcPackaging + " (_process_description_content_type)", Coverage: Partial,
		Limit: "packaging lists the allowed types and Markdown variants from a Python set, whose order varies between PyPI's processes; the text is reproduced in one of those orders",
		Text:  "{problem}." + coreMetadataSee,
		Fix:   "declare the README as text/markdown (variant GFM or CommonMark), text/x-rst or text/plain, charset UTF-8"},
	{ID: "pypi/local-version", Registry: PyPI, Status: 400, Source: srcMetadata, Coverage: Full,
		Text: "The use of local versions in {version} is not allowed." + localVersionSee,
		Fix:  "drop the +local part (setuptools-scm: set local_scheme = \"no-local-version\", or build from the release tag on a clean checkout)"},
	{ID: "pypi/summary-too-long", Registry: PyPI, Status: 400, Source: srcMetadata, Coverage: Full,
		Text: "'summary' field must be 512 characters or less." + coreMetadataSee,
		Fix:  "shorten [project].description (the Summary) to 512 characters"},
	{ID: "pypi/email-invalid", Registry: PyPI, Status: 400, Source: srcMetadata, Coverage: Partial,
		Limit: "Warehouse uses the email-validator package; the reason after the colon is reproduced for the common cases (no @-sign, no period in the domain, empty parts) and worded generically otherwise",
		Text:  "{address} is not a valid email address: {reason}." + coreMetadataSee,
		Fix:   "fix the author/maintainer e-mail in [project].authors / maintainers"},
	{ID: "pypi/classifier-invalid", Registry: PyPI, Status: 400, Source: srcMetadata + " with pypa/trove-classifiers", Coverage: Full,
		Text: "{classifier} is not a valid classifier." + coreMetadataSee,
		Fix:  "use a classifier from https://pypi.org/classifiers/ (spelling and spacing exact)"},
	{ID: "pypi/classifier-deprecated", Registry: PyPI, Status: 400, Source: srcMetadata + " with pypa/trove-classifiers", Coverage: Full,
		Text: "The classifier {classifier} has been deprecated{replacement}." + coreMetadataSee,
		Fix:  "replace the deprecated classifier (by the one PyPI names, if any)"},
	{ID: "pypi/url-invalid", Registry: PyPI, Status: 400, Source: srcMetadata, Coverage: Full,
		Text: "{url} is not a valid url." + coreMetadataSee,
		Fix:  "Home-page and Download-URL must be http(s) URLs"},
	{ID: "pypi/project-url-invalid", Registry: PyPI, Status: 400, Source: srcMetadata, Coverage: Full,
		Text: "{problem}." + coreMetadataSee,
		Fix:  "each [project.urls] entry needs a label of at most 32 characters and an http(s) URL"},
	{ID: "pypi/direct-dependency", Registry: PyPI, Status: 400, Source: srcMetadata, Coverage: Full,
		Text: "Can't have direct dependency: {requirement}." + coreMetadataSee,
		Fix:  "depend on a released version from PyPI instead of a URL (`name @ https://…`, `git+…`)"},
	{ID: "pypi/dynamic-not-allowed", Registry: PyPI, Status: 400, Source: srcPackaging, Coverage: Full,
		Text: "{field} is not allowed as a dynamic field." + coreMetadataSee,
		Fix:  "Name, Version and Metadata-Version cannot be Dynamic in a built distribution; rebuild with a backend that writes them"},
	{ID: "pypi/dynamic-unknown", Registry: PyPI, Status: 400, Source: srcPackaging, Coverage: Full,
		Text: "{field} is not a valid dynamic field." + coreMetadataSee,
		Fix:  "list only core-metadata field names under Dynamic"},
	{ID: "pypi/dynamic-not-permitted", Registry: PyPI, Status: 400, Source: srcMetadata + " (DYNAMIC_FIELDS)", Coverage: Full,
		Text: "Dynamic field {field} is not a valid dynamic field." + coreMetadataSee,
		Fix:  "remove the field from Dynamic; PyPI permits only the fields in its DYNAMIC_FIELDS list"},
	{ID: "pypi/license-with-expression", Registry: PyPI, Status: 400, Source: srcMetadata + " (PEP 639)", Coverage: Full,
		Text: "License is deprecated when License-Expression is present. Only License-Expression should be present." + coreMetadataSee,
		Fix:  "drop the License field (pyproject: a `license = \"…\"` SPDX string writes only License-Expression; remove the license classifier/table)"},
	{ID: "pypi/license-expression-invalid", Registry: PyPI, Status: 400, Source: srcPackaging + " (PEP 639)", Coverage: Full,
		Text: "{value} is invalid for 'license-expression'." + coreMetadataSee,
		Fix:  "use a valid SPDX license expression, e.g. \"MIT OR Apache-2.0\""},
	{ID: "pypi/description-render", Registry: PyPI, Status: 400, Source: srcLegacy + " (readme.render)", Coverage: Partial,
		Limit: "Markdown and plain text always render and are never refused; reStructuredText is checked for the faults readme_renderer turns into a refusal that can be found without docutils (title underlines too short, unknown or disabled directives such as raw and include, two links of one name to different URLs, a `named`_ reference to no target); other docutils warnings are not",
		Text:  "The description failed to render {how}. See https://pypi.org/help/#description-content-type for more information.",
		Fix:   "fix the README markup (check it with `python -m readme_renderer README.rst`), or declare readme content-type text/markdown"},
	{ID: "pypi/filename-characters", Registry: PyPI, Status: 400, Source: srcLegacy + " (_validate_filename)", Coverage: Full,
		Text: "Cannot upload a file with non-printable characters (ordinals 0-31) or the DEL character (ordinal 127) in the name.",
		Fix:  "rename the distribution file (control characters and DEL are refused)"},
	{ID: "pypi/filename-separator", Registry: PyPI, Status: 400, Source: srcLegacy + " (_validate_filename)", Coverage: Full,
		Text: `Cannot upload a file with '/' or '\' in the name.`,
		Fix:  "rename the distribution file"},
	{ID: "pypi/filename-extension", Registry: PyPI, Status: 400, Source: srcLegacy + " (_validate_filename)", Coverage: Full,
		Text: "Invalid file extension: Use .tar.gz, .whl or .zip extension. See https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ for more information",
		Fix:  "upload only .whl and .tar.gz files"},
	{ID: "pypi/file-too-large", Registry: PyPI, Status: 400, Source: srcLegacy + " (file_upload, upload_limit_size)", Coverage: Partial,
		Limit: "checked against PyPI's default limit of 100 MB; a project granted a larger limit is not known offline",
		Text:  "File too large. Limit for project {project} is {limit} MB. See https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase for more information.",
		Fix:   "make the file smaller (strip debug symbols, leave test data out), or request a file size limit increase for the project"},
	{ID: "pypi/sdist-filename", Registry: PyPI, Status: 400, Source: srcLegacy + " (PEP 625)", Coverage: Full,
		Text: "Filename {filename} is invalid, should be {expected}.",
		Fix:  "build the sdist with a PEP 625 compliant backend (name normalised with underscores, lower case)"},
	{ID: "pypi/wheel-filename-name", Registry: PyPI, Status: 400, Source: srcLegacy + " (PEP 427/503)", Coverage: Full,
		Text: "Filename {filename} should contain the normalized project name {expected}, not {given}.",
		Fix:  "rebuild the wheel with a current build backend (normalised name in the file name)"},
	{ID: "pypi/wheel-platform-tag", Registry: PyPI, Status: 400, Source: srcLegacy + " (_valid_platform_tag)", Coverage: Full,
		Text: "Binary wheel {filename} has an unsupported platform tag {tag}.",
		Fix:  "build a wheel PyPI accepts: manylinux/musllinux for the listed architectures, macosx_10_x or macosx_{11..}_0, win, ios, android, pyemscripten (auditwheel repair / MACOSX_DEPLOYMENT_TARGET=11.0)"},
	{ID: "pypi/wheel-file-missing", Registry: PyPI, Status: 400, Source: srcLegacy + " (_is_valid_dist_file)", Coverage: Full,
		Text: "Invalid distribution file. WHEEL not found at {path}",
		Fix:  "rebuild the wheel; its .dist-info must hold WHEEL"},
	{ID: "pypi/sdist-pkg-info-missing", Registry: PyPI, Status: 400, Source: srcLegacy + " (_is_valid_dist_file)", Coverage: Full,
		Text: "Invalid distribution file. PKG-INFO not found at {path}",
		Fix:  "rebuild the sdist with `python -m build --sdist`"},
	{ID: "pypi/license-file-missing", Registry: PyPI, Status: 400, Source: srcLegacy + " (PEP 639)", Coverage: Full,
		Text: "License-File {file} does not exist in distribution file {filename} at {path}",
		Fix:  "include every License-File in the distribution (wheel: .dist-info/licenses/), or drop it from license-files"},
	{ID: "pypi/wheel-record-missing", Registry: PyPI, Status: 400, Source: srcWheelUtils, Coverage: Full,
		Text: "Wheel {filename} does not contain the required RECORD file: {path}",
		Fix:  "rebuild the wheel with a build backend (a hand-zipped wheel has no RECORD)"},
	{ID: "pypi/wheel-metadata-missing", Registry: PyPI, Status: 400, Source: srcLegacy, Coverage: Full,
		Text: "Wheel {filename} does not contain the required METADATA file: {path}",
		Fix:  "rebuild the wheel with a build backend"},
	{ID: "pypi/name-invalid", Registry: PyPI, Status: 422, Source: srcServices, Coverage: Full,
		Text: "The name {name} is invalid.",
		Fix:  "choose a valid project name (letters, digits, '.', '_', '-', starting and ending with a letter or digit)"},
	{ID: "pypi/name-stdlib", Registry: PyPI, Status: 422, Source: srcServices + " (STDLIB_PROHIBITED, with pypi/stdlib-list)", Coverage: Full,
		Text: "The name {name} isn't allowed (conflict with Python Standard Library module name)." + projectNameSee,
		Fix:  "choose another project name (and register the pending publisher under it)"},
	{ID: "pypi/name-prohibited", Registry: PyPI, Status: 422, Source: srcServices + " (ProhibitedProjectName)", Coverage: Partial,
		Limit: "PyPI's list of prohibited names is kept by its administrators and not published; the emulator refuses the names it is given",
		Text:  "The name {name} isn't allowed." + projectNameSee,
		Fix:   "choose another project name"},
	{ID: "pypi/name-too-similar", Registry: PyPI, Status: 422, Source: srcServices + " (ultranormalize_name)", Coverage: Partial,
		Limit: "needs every project name on PyPI: the emulator checks it against its projects; before an upload the tool checks only the names it can know (invalid, standard-library), so a name too similar to a PyPI project is found at the pending publisher's exchange, which is still before the first upload",
		Text:  "The name {name} is too similar to an existing project." + projectNameSee,
		Fix:   "choose a name that does not collide with an existing project once '.', '_', '-' are dropped and l/i/1 and o/0 are equated"},
})

// PyFields is core metadata keyed by upload-form field name (the names
// twine sends and Warehouse reads: classifiers, requires_dist, …), one
// entry per value.
type PyFields map[string][]string

// FieldsOf turns a distribution's core metadata into upload-form fields.
func FieldsOf(d *pydist.Dist) PyFields {
	f := PyFields{}
	for _, kv := range d.FormFields() {
		f[kv[0]] = append(f[kv[0]], kv[1])
	}
	return f
}

func (f PyFields) one(k string) string {
	if v := f[k]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

// metaViolation carries the field Warehouse files the error under, which
// decides which of several errors it reports.
type metaViolation struct {
	Violation
	field string
}

// Warehouse's core-metadata versions (SUPPORTED_METADATA_VERSIONS).
var supportedMetadataVersions = map[string]bool{"1.0": true, "1.1": true, "1.2": true, "2.1": true, "2.2": true, "2.3": true, "2.4": true, "2.5": true}

// DYNAMIC_FIELDS of warehouse/forklift/metadata.py, lower-cased.
var dynamicPermitted = set(strings.Split(strings.ToLower("platform supported-platform summary description description-content-type keywords home-page download-url author author-email maintainer maintainer-email license license-expression license-file classifier requires-dist requires-python requires-external project-url provides-extra provides-dist obsoletes-dist requires provides obsoletes import-name import-namespace"), " "))

var mvOrder = map[string]int{"1.0": 1, "1.1": 2, "1.2": 3, "2.1": 4, "2.2": 5, "2.3": 6, "2.4": 7, "2.5": 8}

// newerFields are the fields added by Metadata-Version 2.2 and later
// (packaging.metadata's `added`), by upload-form name.
var newerFields = []struct{ form, email, added string }{
	{"dynamic", "dynamic", "2.2"},
	{"license_expression", "license-expression", "2.4"},
	{"license_file", "license-file", "2.4"},
	{"import_name", "import-name", "2.5"},
	{"import_namespace", "import-namespace", "2.5"},
}

// Core-metadata field names packaging knows (_EMAIL_TO_RAW_MAPPING keys).
var coreFields = set(strings.Split("author author-email classifier description description-content-type download-url dynamic home-page import-name import-namespace keywords license license-expression license-file maintainer maintainer-email metadata-version name obsoletes obsoletes-dist platform project-url provides provides-dist provides-extra requires requires-dist requires-external requires-python summary supported-platform version", " "))

// PyPIMetadata returns every core-metadata rule the fields break, first the
// one Warehouse would answer with. Warehouse reports one error: packaging's
// own validation runs first, and within a group the field that sorts first
// (after metadata-version, name and version) decides.
func PyPIMetadata(f PyFields) []Violation {
	var pkg, wh []metaViolation
	add := func(to *[]metaViolation, field, id string, kv ...string) {
		*to = append(*to, metaViolation{violate(id, kv...), field})
	}
	mv := f.one("metadata_version")
	if mv != "" && !supportedMetadataVersions[mv] {
		add(&pkg, "metadata-version", "pypi/metadata-version", "value", pyRepr(mv))
	}
	var ver pydist.Version
	var verErr error
	if v := f.one("version"); v != "" {
		ver, verErr = pydist.ParseVersion(v)
		if verErr != nil {
			add(&pkg, "version", "pypi/version-invalid", "value", pyRepr(v))
		}
	}
	for _, d := range f["dynamic"] {
		l := strings.ToLower(strings.TrimSpace(d))
		switch {
		case l == "name" || l == "version" || l == "metadata-version":
			add(&pkg, "dynamic", "pypi/dynamic-not-allowed", "field", pyRepr(l))
		case !coreFields[l]:
			add(&pkg, "dynamic", "pypi/dynamic-unknown", "field", pyRepr(l))
		case !dynamicPermitted[l]:
			add(&wh, "dynamic", "pypi/dynamic-not-permitted", "field", pyRepr(l))
		}
	}
	if s := f.one("summary"); strings.Contains(s, "\n") {
		add(&pkg, "summary", "pypi/summary-multiline")
	}
	// Fields newer than the declared Metadata-Version (packaging checks every
	// field's `added` version; the newer ones are the ones met in practice).
	if mvOrder[mv] > 0 {
		for _, nf := range newerFields {
			if len(f[nf.form]) > 0 && mvOrder[mv] < mvOrder[nf.added] {
				add(&pkg, nf.email, "pypi/field-too-new", "field", nf.email, "added", nf.added, "version", mv)
			}
		}
	}
	if ct := f.one("description_content_type"); ct != "" {
		if p := contentTypeProblem(ct); p != "" {
			add(&pkg, "description-content-type", "pypi/description-content-type", "problem", p)
		}
	}
	if le := f.one("license_expression"); le != "" {
		if !SPDXValidPEP639(le) {
			add(&pkg, "license-expression", "pypi/license-expression-invalid", "value", pyRepr(le))
		}
	}
	var directs []metaViolation
	for _, r := range f["requires_dist"] {
		if s, ok := directRequirement(r); ok {
			directs = append(directs, metaViolation{violate("pypi/direct-dependency", "requirement", s), "requires-dist"})
		}
	}

	if verErr == nil && f.one("version") != "" && ver.Local != "" {
		add(&wh, "version", "pypi/local-version", "version", pyRepr(ver.String()))
	}
	if s := f.one("summary"); utf8.RuneCountInString(s) > 512 {
		add(&wh, "summary", "pypi/summary-too-long")
	}
	for _, k := range []string{"author_email", "maintainer_email"} {
		if addr := f.one(k); addr != "" {
			if a, reason := emailProblem(addr); reason != "" {
				add(&wh, strings.ReplaceAll(k, "_", "-"), "pypi/email-invalid", "address", pyRepr(a), "reason", reason)
			}
		}
	}
	cls := uniqSorted(f["classifiers"])
	for _, c := range cls {
		if !ValidClassifier(c) {
			add(&wh, "classifier", "pypi/classifier-invalid", "classifier", pyRepr(c))
		}
	}
	for _, c := range cls {
		if by, ok := data().deprecated[c]; ok {
			rep := ""
			if len(by) > 0 {
				rep = ", use one of " + pyList(by) + " instead"
			}
			add(&wh, "classifier", "pypi/classifier-deprecated", "classifier", pyRepr(c), "replacement", rep)
		}
	}
	for _, k := range []string{"home_page", "download_url"} {
		if u := f.one(k); u != "" && !validURI(u) {
			add(&wh, strings.ReplaceAll(k, "_", "-"), "pypi/url-invalid", "url", pyRepr(u))
		}
	}
	for _, pu := range f["project_urls"] {
		label, u, _ := strings.Cut(pu, ",")
		label, u = strings.TrimSpace(label), strings.TrimSpace(u)
		switch {
		case label == "":
			add(&wh, "project-url", "pypi/project-url-invalid", "problem", "Must have a label")
		case utf8.RuneCountInString(label) > 32:
			add(&wh, "project-url", "pypi/project-url-invalid", "problem", pyRepr(label)+" must be 32 characters or less")
		case u == "":
			add(&wh, "project-url", "pypi/project-url-invalid", "problem", "Must have a URL")
		case !validURI(u):
			add(&wh, "project-url", "pypi/project-url-invalid", "problem", pyRepr(u)+" is not a valid url")
		}
	}
	for _, k := range []string{"provides_dist", "obsoletes_dist"} {
		for _, r := range f[k] {
			if _, ok := directRequirement(r); ok {
				add(&wh, strings.ReplaceAll(k, "_", "-"), "pypi/direct-dependency", "requirement", pyRepr(r))
			}
		}
	}
	wh = append(wh, directs...)
	if f.one("license") != "" && f.one("license_expression") != "" {
		add(&wh, "license", "pypi/license-with-expression")
	}

	var out []Violation
	for _, g := range [][]metaViolation{pkg, wh} {
		out = append(out, warehouseOrder(g)...)
	}
	return out
}

// contentTypeProblem is packaging's _process_description_content_type.
func contentTypeProblem(value string) string {
	mt, params, err := mime.ParseMediaType(value)
	mt = strings.ToLower(mt)
	if err != nil || !(mt == "text/plain" || mt == "text/x-rst" || mt == "text/markdown") || !strings.Contains(strings.ToLower(value), mt) {
		return "'description-content-type' must be one of ['text/plain', 'text/x-rst', 'text/markdown'], not " + pyRepr(value)
	}
	if cs, ok := params["charset"]; ok && cs != "UTF-8" {
		chars := make([]string, 0, len(cs))
		for _, r := range cs {
			chars = append(chars, string(r))
		}
		return "'description-content-type' can only specify the UTF-8 charset, not " + pyList(chars)
	}
	if v, ok := params["variant"]; ok && mt == "text/markdown" && v != "GFM" && v != "CommonMark" {
		return "valid Markdown variants for 'description-content-type' are ['GFM', 'CommonMark'], not " + pyRepr(v)
	}
	return ""
}

// warehouseOrder puts first the error Warehouse reports: the first error of
// metadata-version, name or version, else of the field that sorts first.
func warehouseOrder(vs []metaViolation) []Violation {
	if len(vs) == 0 {
		return nil
	}
	fields := map[string]bool{}
	for _, v := range vs {
		fields[v.field] = true
	}
	pick := ""
	for _, f := range []string{"metadata-version", "name", "version"} {
		if fields[f] {
			pick = f
			break
		}
	}
	if pick == "" {
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		pick = keys[0]
	}
	var first, rest []Violation
	for _, v := range vs {
		if v.field == pick && first == nil {
			first = append(first, v.Violation)
		} else {
			rest = append(rest, v.Violation)
		}
	}
	return append(first, rest...)
}

func uniqSorted(in []string) []string {
	s := set(in)
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// validURI is warehouse.utils.http.is_valid_uri(require_authority=False):
// an http or https URI.
func validURI(u string) bool {
	p, err := url.Parse(u)
	if err != nil || strings.ContainsAny(u, " \t\n") {
		return false
	}
	return p.Scheme == "http" || p.Scheme == "https"
}

var reqNameRe = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*@\s*(\S+)\s*(;.*)?$`)

// directRequirement reports a PEP 508 URL requirement (`name @ url`) and
// writes it as str(packaging.requirements.Requirement) does.
func directRequirement(r string) (string, bool) {
	m := reqNameRe.FindStringSubmatch(r)
	if m == nil {
		return "", false
	}
	s := m[1]
	if m[2] != "" {
		ex := strings.Split(strings.Trim(m[2], "[]"), ",")
		for i := range ex {
			ex[i] = strings.TrimSpace(ex[i])
		}
		sort.Strings(ex)
		s += "[" + strings.Join(ex, ",") + "]"
	}
	s += "@ " + m[3]
	if m[4] != "" {
		s += " ; " + strings.TrimSpace(strings.TrimPrefix(m[4], ";"))
	}
	return s, true
}

// emailProblem applies email.utils.parseaddr and email-validator's main
// checks; it returns the address and a reason, or "" when valid.
func emailProblem(raw string) (string, string) {
	addr := strings.TrimSpace(raw)
	if strings.Count(addr, "@") > 1 || strings.Contains(addr, ",") {
		return "", "" // several addresses: parseaddr gives up and Warehouse checks none
	}
	if i := strings.LastIndex(addr, "<"); i >= 0 {
		if j := strings.LastIndex(addr, ">"); j > i {
			addr = addr[i+1 : j]
		}
	}
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", ""
	}
	local, domain, ok := strings.Cut(addr, "@")
	switch {
	case !ok:
		return addr, "An email address must have an @-sign"
	case local == "":
		return addr, "There must be something before the @-sign"
	case domain == "":
		return addr, "There must be something after the @-sign"
	case strings.ContainsAny(addr, " \t"):
		return addr, "The email address contains invalid characters"
	case strings.HasSuffix(domain, "."):
		return addr, "An email address cannot end with a period"
	case !strings.Contains(domain, ".") && !strings.HasPrefix(domain, "["):
		return addr, "The part after the @-sign is not valid. It should have a period"
	case strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, ".."):
		return addr, "The email address contains invalid characters before the @-sign"
	}
	return "", ""
}

// PyPIDescription applies readme rendering as far as it can be checked
// without docutils. ctype is Description-Content-Type ("" = rst default).
func PyPIDescription(desc, ctype string) []Violation {
	if strings.TrimSpace(desc) == "" {
		return nil
	}
	mt := strings.ToLower(strings.TrimSpace(strings.Split(ctype, ";")[0]))
	if mt != "" && mt != "text/x-rst" {
		return nil // markdown and plain text always render
	}
	if !rstFails(desc) {
		return nil
	}
	how := "in the default format of reStructuredText"
	if ctype != "" {
		how = "for " + pyRepr(ctype)
	}
	return []Violation{violate("pypi/description-render", "how", how)}
}

var (
	rstDirectiveRe = regexp.MustCompile(`^\s*\.\.\s+([A-Za-z0-9_:+.-]+)::`)
	// docutils' standard directives (docutils/parsers/rst/directives/__init__.py)
	// minus raw and include, which readme_renderer disables.
	rstDirectives = set(strings.Split("attention caution danger error hint important note tip warning admonition image figure topic sidebar line-block parsed-literal code code-block sourcecode math rubric epigraph highlights pull-quote compound container table csv-table list-table contents sectnum section-numbering header footer target-notes meta replace unicode date class role default-role title restructuredtext-test-directive", " "))
)

var (
	rstTargetDef  = regexp.MustCompile("^\\s*\\.\\.\\s+_(?:`([^`]+)`|([^:`][^:]*)):\\s*(.*)$")
	rstEmbedded   = regexp.MustCompile("`([^`<]+?)\\s*<([^`>]+)>`_(?:[^_]|$)")
	rstNamedRef   = regexp.MustCompile("`([^`<]+)`_(?:[^_]|$)")
	rstWhitespace = regexp.MustCompile(`\s+`)
	rstInline     = regexp.MustCompile("(?:^|[^`\\w])_`([^`]+)`")
)

// rstTargets: docutils' hyperlink targets and the references to them.
// Two explicit targets of one name with different URLs ("Duplicate
// explicit target name") and a `named`_ reference to no target ("Unknown
// target name") are warnings, which readme_renderer refuses.
func rstTargetFaults(lines []string) bool {
	norm := func(n string) string {
		return strings.ToLower(rstWhitespace.ReplaceAllString(strings.TrimSpace(n), " "))
	}
	targets := map[string]string{}
	dup := false
	define := func(name, uri string) {
		n := norm(name)
		if old, ok := targets[n]; ok && old != strings.TrimSpace(uri) {
			dup = true
		}
		targets[n] = strings.TrimSpace(uri)
	}
	known := map[string]bool{}
	for i, l := range lines {
		if m := rstTargetDef.FindStringSubmatch(l); m != nil {
			define(m[1]+m[2], m[3])
		}
		for _, m := range rstEmbedded.FindAllStringSubmatch(l, -1) {
			define(m[1], m[2])
		}
		for _, m := range rstInline.FindAllStringSubmatch(l, -1) {
			known[norm(m[1])] = true // inline internal target
		}
		// Section titles are implicit targets.
		if i+1 < len(lines) && adornment(strings.TrimRight(lines[i+1], " ")) && strings.TrimSpace(l) != "" {
			known[norm(l)] = true
		}
	}
	if dup {
		return true
	}
	for _, l := range lines {
		for _, m := range rstNamedRef.FindAllStringSubmatch(l, -1) {
			n := norm(m[1])
			if _, ok := targets[n]; !ok && !known[n] {
				return true
			}
		}
	}
	return false
}

// rstFails finds the reStructuredText faults that readme_renderer (halting
// at warnings) refuses: a section title whose underline is shorter than the
// title (4+ characters of one punctuation mark), unknown or disabled
// directives, duplicate or unknown hyperlink targets.
func rstFails(s string) bool {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	if rstTargetFaults(lines) {
		return true
	}
	inLiteral := false
	for i, l := range lines {
		if m := rstDirectiveRe.FindStringSubmatch(l); m != nil && !inLiteral {
			if !rstDirectives[strings.ToLower(m[1])] {
				return true
			}
		}
		if strings.HasSuffix(strings.TrimRight(l, " "), "::") {
			inLiteral = true
			continue
		}
		if inLiteral && l != "" && l[0] != ' ' && l[0] != '\t' {
			inLiteral = false
		}
		if inLiteral || i == 0 {
			continue
		}
		u := strings.TrimRight(l, " ")
		title := strings.TrimRight(lines[i-1], " ")
		if len(u) < 4 || !adornment(u) || title == "" || adornment(title) || title[0] == ' ' {
			continue
		}
		if i >= 2 && strings.TrimSpace(lines[i-2]) != "" && !adornment(strings.TrimRight(lines[i-2], " ")) {
			continue // a line inside a paragraph, not a title
		}
		if utf8.RuneCountInString(u) < eastAsianWidth(title) {
			return true
		}
	}
	return false
}

func adornment(l string) bool {
	if l == "" {
		return false
	}
	c := l[0]
	if !strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", rune(c)) {
		return false
	}
	return strings.Count(l, string(c)) == len(l)
}

func eastAsianWidth(s string) int { return utf8.RuneCountInString(s) }

// PyPIFilename applies _validate_filename.
func PyPIFilename(name, filetype string) []Violation {
	for _, r := range name {
		if r < 32 || r == 127 {
			return []Violation{violate("pypi/filename-characters")}
		}
	}
	if strings.ContainsAny(name, `/\`) {
		return []Violation{violate("pypi/filename-separator")}
	}
	l := strings.ToLower(name)
	if !(strings.HasSuffix(l, ".tar.gz") || strings.HasSuffix(l, ".zip") || strings.HasSuffix(l, ".whl")) || len(name) <= 4 {
		return []Violation{violate("pypi/filename-extension")}
	}
	return nil
}

// PyPISize applies the per-file limit (limit <= 0: PyPI's default).
func PyPISize(project string, size, limit int64) []Violation {
	if limit <= 0 {
		limit = PyPIFileLimit
	}
	if size > limit {
		return []Violation{violate("pypi/file-too-large", "project", pyRepr(project), "limit", fmt.Sprint(limit>>20))}
	}
	return nil
}

// PyDist is what the archive rules look at: the file's name, its member
// names and a way to read a member.
type PyDist struct {
	Filename string
	Names    []string // archive member names
	// Metadata is the core metadata (PKG-INFO / METADATA); nil when absent.
	Metadata PyFields
}

func (d PyDist) has(n string) bool {
	for _, x := range d.Names {
		if x == n {
			return true
		}
	}
	return false
}

// PyPIArchive applies the archive rules of file_upload, in its order: the
// archive's own files, the file name against the project, platform tags,
// License-File, RECORD and METADATA. project is the project's name.
func PyPIArchive(d PyDist, project string) []Violation {
	var out []Violation
	fn := d.Filename
	norm := canonicalPy(project)
	under := strings.ReplaceAll(norm, "-", "_")
	if strings.HasSuffix(fn, ".whl") {
		parts := strings.SplitN(fn, "-", 3)
		if len(parts) < 3 {
			return out
		}
		di := parts[0] + "-" + parts[1] + ".dist-info/"
		if !d.has(di + "WHEEL") {
			return append(out, violate("pypi/wheel-file-missing", "path", di+"WHEEL"))
		}
		w, err := pydist.ParseWheelFilename(fn)
		if err == nil {
			for _, plat := range strings.Split(w.Platform, ".") {
				if !ValidPlatformTag(plat) {
					out = append(out, violate("pypi/wheel-platform-tag", "filename", pyRepr(fn), "tag", pyRepr(plat)))
					break
				}
			}
		}
		if parts[0] != under && canonicalPy(parts[0]) == norm {
			out = append(out, violate("pypi/wheel-filename-name", "filename", pyRepr(fn), "expected", pyRepr(under), "given", pyRepr(parts[0])))
		}
		for _, lf := range d.Metadata["license_file"] {
			if p := di + "licenses/" + lf; !d.has(p) {
				out = append(out, violate("pypi/license-file-missing", "file", lf, "filename", fn, "path", p))
			}
		}
		if !d.has(di + "RECORD") {
			out = append(out, violate("pypi/wheel-record-missing", "filename", pyRepr(fn), "path", di+"RECORD"))
		}
		if !d.has(di + "METADATA") {
			out = append(out, violate("pypi/wheel-metadata-missing", "filename", pyRepr(fn), "path", di+"METADATA"))
		}
		return out
	}
	top := commonTop(d.Names)
	if top == "" {
		return out
	}
	if !d.has(top + "/PKG-INFO") {
		return append(out, violate("pypi/sdist-pkg-info-missing", "path", top+"/PKG-INFO"))
	}
	if strings.HasSuffix(fn, ".tar.gz") && d.Metadata != nil {
		v := d.Metadata.one("version")
		if pv, err := pydist.ParseVersion(v); err == nil {
			v = pv.String()
		}
		if want := under + "-" + v + ".tar.gz"; fn != want {
			if n, _, err := pydist.ParseSdistFilename(fn); err == nil && canonicalPy(n) == norm {
				out = append(out, violate("pypi/sdist-filename", "filename", pyRepr(fn), "expected", pyRepr(want)))
			}
		}
	}
	for _, lf := range d.Metadata["license_file"] {
		if p := top + "/" + lf; !d.has(p) {
			out = append(out, violate("pypi/license-file-missing", "file", lf, "filename", fn, "path", p))
		}
	}
	return out
}

// commonTop is the single top-level directory of an sdist ("" if none).
func commonTop(names []string) string {
	top := ""
	for _, n := range names {
		n = strings.TrimPrefix(n, "./")
		first, _, _ := strings.Cut(n, "/")
		if first == "" {
			continue
		}
		if top == "" {
			top = first
		} else if top != first {
			return ""
		}
	}
	return top
}

// PyPIProjectName applies check_project_name to a project PyPI would create
// (a pending publisher's first use). similar, when set, returns the name of
// an existing project whose Ultranormalize equals the argument's.
func PyPIProjectName(name string, similar func(ultra string) (string, bool)) []Violation {
	if !pydist.ValidName(name) {
		return []Violation{violate("pypi/name-invalid", "name", pyRepr(name))}
	}
	if StdlibName(name) {
		return []Violation{violate("pypi/name-stdlib", "name", pyRepr(name))}
	}
	if similar != nil {
		if _, ok := similar(Ultranormalize(name)); ok {
			return []Violation{violate("pypi/name-too-similar", "name", pyRepr(name))}
		}
	}
	return nil
}

// ProhibitedName is the violation for a name on PyPI's prohibited list.
func ProhibitedName(name string) Violation {
	return violate("pypi/name-prohibited", "name", pyRepr(name))
}
