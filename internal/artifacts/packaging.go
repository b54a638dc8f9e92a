package artifacts

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/rules"
)

// Want is what one package's artifacts must say about themselves.
type Want struct {
	Package string // config name, for messages
	Kind    string
	Name    string // registry name
	Version string // planned version
	// Repository is owner/repo when the npm package will be published with
	// provenance; its package.json repository.url must point there.
	Repository string
	// VersionWritten: the version is written into this artifact at publish
	// (an npm package folder), so a stale version in it is not a problem.
	VersionWritten bool
	// Crates maps the registry name of every crate this run publishes to its
	// planned version: a .crate whose requirement on one of them does not
	// accept that version would be published against the previous release.
	Crates map[string]string
	// Python maps the normalised name of every distribution this run
	// publishes to its planned version, for the same check on a wheel's or
	// sdist's Requires-Dist.
	Python map[string]string
	// NPM maps every npm package this run publishes to its planned version:
	// a prebuilt .tgz's range on one of them must accept it (a folder gets
	// its ranges rewritten at publish).
	NPM map[string]string
	// CrateExists, when set, asks crates.io whether a crate exists (for
	// dependencies outside the run); nil leaves that rule unchecked.
	CrateExists func(name string) (bool, error)
	// PyPIFileLimit is the project's per-file limit (0: PyPI's default).
	PyPIFileLimit int64
	// Access is the npm package's configured access ("" = public).
	Access string
}

// CheckPackaging reads the metadata of every artifact of one package (its
// rows) and returns every disagreement with w. root is the repository root.
func CheckPackaging(root string, rows []plan.Row, w Want) []string {
	var problems []string
	add := func(f string, a ...any) { problems = append(problems, fmt.Sprintf(f, a...)) }
	for _, row := range rows {
		files := Folder(root, row)
		rel := func(f File) string { return filepath.ToSlash(filepath.Join(Dir, row.ArtifactName, f.Rel)) }
		switch w.Kind {
		case config.KindCrates:
			for _, f := range Match(files, ".crate") {
				m, err := ReadCrate(f.Path)
				if err != nil {
					add("%s: %v", rel(f), err)
					continue
				}
				if m.Name != w.Name {
					add("%s: crate name is %q, expected %q", rel(f), m.Name, w.Name)
				}
				if m.Version != w.Version {
					add("%s: crate version is %q, the plan says %s", rel(f), m.Version, w.Version)
				}
				// Required fields and crates.io's other content rules: CheckRules.
				for _, pr := range CrateTargetsPresent(f.Path) {
					add("%s: %s", rel(f), pr)
				}
				// A crate may require a sibling twice (a renamed older
				// major beside the current one): the requirement is met
				// when any of them accepts the planned version.
				reqs := map[string][]string{}
				var order []string
				for _, d := range m.Deps {
					if _, ok := reqs[d.Name]; !ok {
						order = append(order, d.Name)
					}
					reqs[d.Name] = append(reqs[d.Name], d.Req)
				}
				for _, dep := range order {
					planned, ok := w.Crates[dep]
					if !ok || dep == w.Name {
						continue
					}
					accepted := false
					for _, r := range reqs[dep] {
						accepted = accepted || CargoReqAllows(r, planned)
					}
					if !accepted {
						add("%s: requires %s %q, which does not accept %s, the version this run publishes; build the .crate from a checkout stamped by `putitoutthere prepare` (it rewrites the requirement as publish does), or update it (version = \"%s\") in the commit that releases it", rel(f), dep, strings.Join(reqs[dep], `", "`), planned, planned)
					}
				}
			}
		case config.KindPyPI:
			for _, f := range Match(files, ".whl", ".tar.gz") {
				var m *PyMeta
				var err error
				isWheel := strings.HasSuffix(f.Rel, ".whl")
				if isWheel {
					m, err = ReadWheel(f.Path)
				} else {
					m, err = ReadSdist(f.Path)
				}
				if err != nil {
					add("%s: %v", rel(f), err)
					continue
				}
				if NormalizePyName(m.Name) != NormalizePyName(w.Name) {
					add("%s: distribution name is %q, expected %q", rel(f), m.Name, w.Name)
				}
				if NormalizePyVersion(m.Version) != NormalizePyVersion(w.Version) {
					add("%s: distribution version is %q, the plan says %s", rel(f), m.Version, w.Version)
					if strings.Contains(m.Version, "+") {
						// setuptools-scm's default on a dirty or untagged checkout.
						for _, v := range rules.PyPIMetadata(rules.PyFields{"version": {m.Version}}) {
							add("%s: %s", rel(f), v)
						}
					}
				}
				for _, req := range m.Requires {
					name, spec, ok := manifest.ParseRequirement(req)
					planned, sib := w.Python[manifest.NormalizePyName(name)]
					if !ok || !sib || manifest.NormalizePyName(name) == manifest.NormalizePyName(w.Name) || manifest.ReqAccepts(config.KindPyPI, spec, planned) {
						continue
					}
					add("%s: requires %s, which does not accept %s, the version this run publishes; build it from a checkout stamped by `putitoutthere prepare` (it rewrites the requirement as publish does)", rel(f), req, planned)
				}
				if isWheel {
					if pr := WheelHoldsPackage(f.Path); pr != "" {
						add("%s: %s", rel(f), pr)
					}
				}
				if fn, fv, ok := pyFilename(filepath.Base(f.Rel), isWheel); ok {
					if NormalizePyName(fn) != NormalizePyName(w.Name) || NormalizePyVersion(fv) != NormalizePyVersion(w.Version) {
						add("%s: file name says %s %s, expected %s %s", rel(f), fn, fv, w.Name, w.Version)
					}
				}
			}
		case config.KindNPM:
			if isFamilyRow(row) {
				continue // platform payloads are synthesised at publish
			}
			for _, f := range Match(files, "package.json", ".tgz") {
				target := f.Path
				isDir := filepath.Base(f.Rel) == "package.json"
				if isDir {
					if strings.Contains(f.Rel, "/") {
						continue // a nested package.json (e.g. node_modules) is not the package
					}
					target = filepath.Dir(f.Path)
				}
				m, err := ReadNpm(target)
				if err != nil {
					add("%s: %v", rel(f), err)
					continue
				}
				if m.Name != w.Name {
					add("%s: package name is %q, expected %q", rel(f), m.Name, w.Name)
				}
				if m.Version != w.Version && !(isDir && w.VersionWritten) {
					add("%s: package version is %q, the plan says %s", rel(f), m.Version, w.Version)
				}
				if m.Private {
					add("%s: package.json has \"private\": true; npm refuses to publish it (rule npm/private)", rel(f))
				}
				if !isDir {
					// A tarball is uploaded as it is: what it holds is final.
					// (A folder is checked through npm pack by the handler.)
					if pj, files, err := TgzPackage(f.Path); err == nil {
						miss, _ := MissingNpmEntries(pj, files)
						for _, pr := range miss {
							add("%s: %s", rel(f), pr)
						}
						deps, _ := manifest.NPMDeps(pj)
						for _, d := range deps {
							planned, sib := w.NPM[d.Name]
							if !sib || !d.Ships() || d.Key != d.Name || d.Name == w.Name || strings.HasPrefix(d.Req, "workspace:") || manifest.ReqAccepts(config.KindNPM, d.Req, planned) {
								continue
							}
							add("%s: requires %s %q, which does not accept %s, the version this run publishes; pack it from a checkout stamped by `putitoutthere prepare`, or upload the folder (publish rewrites the range)", rel(f), d.Name, d.Req, planned)
						}
						refs, _ := manifest.WorkspaceRefs(pj)
						for _, r := range refs {
							add("%s: %s %s is %q; npm cannot install a `workspace:` range from a registry (pack with pnpm or yarn, which replace it, or let publish pack the folder)", rel(f), r.Field, r.Name, r.Range)
						}
					}
				}
				if w.Repository != "" {
					if got := RepoSlug(m.RepositoryURL); got != w.Repository {
						shown := m.RepositoryURL
						if shown == "" {
							shown = "(unset)"
						}
						add("%s: repository.url is %s; publishing with provenance needs it to match https://github.com/%s (npm answers 422 otherwise: rule npm/provenance-repository)", rel(f), shown, w.Repository)
					}
				}
			}
		}
	}
	return problems
}

var wheelName = regexp.MustCompile(`^([^-]+)-([^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$`)

// pyFilename splits a wheel or sdist file name into name and version.
func pyFilename(base string, wheel bool) (string, string, bool) {
	if wheel {
		m := wheelName.FindStringSubmatch(base)
		if m == nil {
			return "", "", false
		}
		return m[1], m[2], true
	}
	s := strings.TrimSuffix(base, ".tar.gz")
	i := strings.LastIndex(s, "-")
	if i <= 0 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

var ghRepo = regexp.MustCompile(`^(?:git\+)?(?:https?://|git://|ssh://git@|git@)?(?:www\.)?github\.com[/:]([^/]+)/([^/#?]+?)(?:\.git)?/?(?:[#?].*)?$`)

// RepoSlug returns owner/repo for a GitHub repository URL in any of the forms
// package.json allows (git+https, ssh, github:owner/repo, owner/repo), or "".
func RepoSlug(u string) string {
	u = strings.TrimSpace(u)
	if rest, ok := strings.CutPrefix(u, "github:"); ok {
		u = "https://github.com/" + rest
	} else if !strings.Contains(u, ":") && strings.Count(u, "/") == 1 {
		u = "https://github.com/" + u
	}
	m := ghRepo.FindStringSubmatch(u)
	if m == nil {
		return ""
	}
	return m[1] + "/" + m[2]
}

// CargoReqAllows reports whether a Cargo version requirement accepts
// version. A bare `0.1.0` is Cargo's caret requirement; "" and unparsable
// requirements accept everything (cargo itself will say more).
func CargoReqAllows(req, version string) bool {
	req = strings.TrimSpace(req)
	if req == "" || req == "*" {
		return true
	}
	parts := strings.Split(req, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p != "" && p[0] >= '0' && p[0] <= '9' {
			p = "^" + p
		}
		parts[i] = p
	}
	c, err := semver.NewConstraint(strings.Join(parts, ", "))
	if err != nil {
		return true
	}
	v, err := semver.NewVersion(version)
	if err != nil {
		return true
	}
	return c.Check(v)
}

func sortStrings(s []string) { sort.Strings(s) }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
