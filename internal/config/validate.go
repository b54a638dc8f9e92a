package config

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/bmatcuk/doublestar/v4"

	"github.com/putitoutthere/putitoutthere/internal/platform"
)

// validator turns the positioned tree into a Config, collecting every
// problem rather than stopping at the first.
type validator struct {
	file     string
	problems []Problem
}

func (v *validator) add(pos Pos, pkg, key, code, format string, args ...any) {
	v.problems = append(v.problems, Problem{
		File: v.file, Pos: pos, Package: pkg, Key: key, Code: code, Msg: fmt.Sprintf(format, args...),
	})
}

// Key sets.
var (
	topKeys      = []string{"putitoutthere", "package", "group"}
	groupKeys    = []string{"name", "tag_format", "previous_tag_formats"}
	headerKeys   = []string{"version", "cadence"}
	commonKeys   = []string{"name", "kind", "path", "paths", "depends_on", "first_version", "tag_format", "previous_tag_formats", "group", "build_workflow", "trust_policy", "auth"}
	kindKeys     = map[string][]string{KindCrates: {"crate", "features", "no_default_features"}, KindPyPI: {"pypi", "build", "targets", "bundle_cli", "attestations"}, KindNPM: {"npm", "access", "tag", "build", "targets", "member_name", "npm_publish"}}
	trustKeys    = []string{"workflow", "environment", "repository"}
	bundleKeys   = []string{"bin", "stage_to", "crate_path"}
	targetKeys   = []string{"triple", "runner"}
	kinds        = []string{KindCrates, KindPyPI, KindNPM}
	cadences     = []string{"immediate", "scheduled"}
	pypiBuilds   = []string{BuildSetuptools, BuildHatch, BuildMaturin}
	npmBuilds    = []string{BuildNapi, BuildBundledCLI}
	npmAccesses  = []string{"public", "restricted"}
	npmPublishes = []string{NPMPublishAuto, NPMPublishDirect, NPMPublishStaged}
	authModes    = []string{AuthOIDC, AuthToken}
)

// Cadences.
const (
	CadenceImmediate = "immediate"
	CadenceScheduled = "scheduled"
)

var (
	nameRe       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	crateNameRe  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)
	pypiNameRe   = regexp.MustCompile(`(?i)^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`)
	npmNameRe    = regexp.MustCompile(`^(?:@[a-z0-9-~][a-z0-9-._~]*/)?[a-z0-9-~][a-z0-9-._~]*$`)
	repositoryRe = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$`)
)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func oneOf(list []string) string {
	return strings.Join(list, ", ")
}

func (v *validator) config(root *tnode) *Config {
	cfg := &Config{File: v.file, Cadence: CadenceImmediate}
	for _, k := range root.keys {
		if !contains(topKeys, k) {
			v.unknown(root.fields[k].keyPos, "", k, topKeys, "")
		}
	}

	hdr := root.get("putitoutthere")
	switch {
	case hdr == nil:
		v.add(Pos{Line: 1, Col: 1}, "", "putitoutthere.version", CodeConfigMissingKey,
			"required: start the file with a [putitoutthere] table holding `version = 1`")
	case hdr.val.kind != vTable:
		v.add(hdr.val.pos, "", "putitoutthere", CodeConfigType, "must be a table, not %s", hdr.val.kind)
	default:
		t := hdr.val
		for _, k := range t.keys {
			if !contains(headerKeys, k) {
				v.unknown(t.fields[k].keyPos, "", "putitoutthere."+k, headerKeys, "")
			}
		}
		if f := t.get("version"); f == nil {
			v.add(t.pos, "", "putitoutthere.version", CodeConfigMissingKey, "required: add `version = 1`")
		} else if f.val.kind != vInt {
			v.add(f.val.pos, "", "putitoutthere.version", CodeConfigType, "must be an integer, not %s", f.val.kind)
		} else if f.val.i != 1 {
			v.add(f.val.pos, "", "putitoutthere.version", CodeConfigInvalid, "must be 1 (the only config version), not %d", f.val.i)
		} else {
			cfg.Version = 1
		}
		if s, pos, ok := v.str(t.get("cadence"), "", "putitoutthere.cadence"); ok {
			if contains(cadences, s) {
				cfg.Cadence = s
			} else {
				v.add(pos, "", "putitoutthere.cadence", CodeConfigInvalid, "must be one of %s, not %q%s", oneOf(cadences), s, didYouMean(s, cadences))
			}
		}
	}

	pk := root.get("package")
	switch {
	case pk == nil:
		v.add(Pos{Line: 1, Col: 1}, "", "package", CodeConfigMissingKey,
			"at least one [[package]] block is required")
	case pk.val.kind == vTable:
		v.add(pk.val.pos, "", "package", CodeConfigType, "must be an array of tables: write [[package]], not [package]")
	case pk.val.kind != vArray:
		v.add(pk.val.pos, "", "package", CodeConfigType, "must be an array of tables ([[package]]), not %s", pk.val.kind)
	case len(pk.val.items) == 0:
		v.add(pk.keyPos, "", "package", CodeConfigInvalid, "at least one [[package]] block is required")
	default:
		for i, item := range pk.val.items {
			if item.kind != vTable {
				v.add(item.pos, "", "package", CodeConfigType, "item %d must be a table, not %s", i+1, item.kind)
				continue
			}
			cfg.Packages = append(cfg.Packages, v.pkg(i, item))
		}
		cfg.Groups = v.groups(root.get("group"))
		v.cross(cfg)
	}
	return cfg
}

// unknown reports an unknown key, suggesting the closest allowed one.
func (v *validator) unknown(pos Pos, pkg, key string, allowed []string, extra string) {
	last := key[strings.LastIndexByte(key, '.')+1:]
	msg := "unknown key"
	if s := suggest(last, allowed); s != "" {
		msg += fmt.Sprintf(" (did you mean `%s`?)", s)
	} else {
		msg += "; allowed: " + oneOf(allowed)
	}
	if extra != "" {
		msg += extra
	}
	v.add(pos, pkg, key, CodeConfigUnknownKey, "%s", msg)
}

// str reads a string field; ok is false when absent or of the wrong type
// (reported).
func (v *validator) str(f *field, pkg, key string) (string, Pos, bool) {
	if f == nil {
		return "", Pos{}, false
	}
	if f.val.kind != vString {
		v.add(f.val.pos, pkg, key, CodeConfigType, "must be a string, not %s", f.val.kind)
		return "", Pos{}, false
	}
	return f.val.str, f.val.pos, true
}

// nonEmpty is str that also rejects "".
func (v *validator) nonEmpty(f *field, pkg, key string) (string, Pos, bool) {
	s, pos, ok := v.str(f, pkg, key)
	if ok && strings.TrimSpace(s) == "" {
		v.add(pos, pkg, key, CodeConfigInvalid, "must not be empty")
		return "", pos, false
	}
	return s, pos, ok
}

type posString struct {
	s   string
	pos Pos
}

// strList reads an array of strings; ok is false when the key is absent or
// not an array (reported).
func (v *validator) strList(f *field, pkg, key string) ([]posString, bool) {
	if f == nil {
		return nil, false
	}
	if f.val.kind != vArray {
		v.add(f.val.pos, pkg, key, CodeConfigType, "must be an array of strings, not %s", f.val.kind)
		return nil, false
	}
	// Items of the wrong type are reported; the strings are still returned so
	// their own problems are found in the same run.
	out := []posString{}
	for i, it := range f.val.items {
		if it.kind != vString {
			v.add(it.pos, pkg, key, CodeConfigType, "item %d must be a string, not %s", i+1, it.kind)
			continue
		}
		out = append(out, posString{it.str, it.pos})
	}
	return out, true
}

func (v *validator) boolean(f *field, pkg, key string) (bool, bool) {
	if f == nil {
		return false, false
	}
	if f.val.kind != vBool {
		v.add(f.val.pos, pkg, key, CodeConfigType, "must be a boolean (true or false), not %s", f.val.kind)
		return false, false
	}
	return f.val.b, true
}

func (v *validator) pkg(i int, t *tnode) Package {
	p := Package{Pos: t.pos, KeyPos: map[string]Pos{}}
	label := fmt.Sprintf("#%d", i+1)
	for _, k := range t.keys {
		p.KeyPos[k] = t.fields[k].keyPos
	}

	// name first: it labels every other message.
	if f := t.get("name"); f == nil {
		v.add(t.pos, label, "name", CodeConfigMissingKey, "required")
	} else if s, pos, ok := v.nonEmpty(f, label, "name"); ok {
		if !nameRe.MatchString(s) {
			v.add(pos, label, "name", CodeConfigInvalid,
				"%q is not a valid package name: use letters, digits, `.`, `_` and `-`, starting with a letter or digit (set the registry name with `crate`, `pypi` or `npm`, e.g. npm = \"@org/x\")", s)
		} else {
			label = s
		}
		p.Name = s
	}

	kindOK := false
	if f := t.get("kind"); f == nil {
		v.add(t.pos, label, "kind", CodeConfigMissingKey, "required: one of %s", oneOf(kinds))
	} else if s, pos, ok := v.str(f, label, "kind"); ok {
		if contains(kinds, s) {
			p.Kind, kindOK = s, true
		} else {
			v.add(pos, label, "kind", CodeConfigInvalid, "must be one of %s, not %q%s", oneOf(kinds), s, didYouMean(s, kinds))
		}
	}

	// Unknown keys, and keys that belong to another kind.
	allKeys := append([]string{}, commonKeys...)
	for _, k := range kinds {
		for _, kk := range kindKeys[k] {
			if !contains(allKeys, kk) {
				allKeys = append(allKeys, kk)
			}
		}
	}
	for _, k := range t.keys {
		kp := t.fields[k].keyPos
		switch {
		case contains(commonKeys, k):
		case !contains(allKeys, k):
			v.unknown(kp, label, k, allKeys, "")
		case kindOK && !contains(kindKeys[p.Kind], k):
			var owners []string
			for _, kk := range kinds {
				if contains(kindKeys[kk], k) {
					owners = append(owners, kk)
				}
			}
			v.add(kp, label, k, CodeConfigUnknownKey, "not valid for kind %q (only for kind %s)", p.Kind, strings.Join(owners, " or "))
		}
	}

	if f := t.get("path"); f == nil {
		v.add(t.pos, label, "path", CodeConfigMissingKey, "required: the directory holding the package's manifest, relative to the repository root")
	} else if s, pos, ok := v.str(f, label, "path"); ok {
		if clean, err := relPath(s); err != nil {
			v.add(pos, label, "path", codeForPathErr(err), "%q %v", s, err)
		} else {
			p.Path = clean
		}
	}

	if f := t.get("paths"); f == nil {
		v.add(t.pos, label, "paths", CodeConfigMissingKey, "required: at least one glob, e.g. paths = [\"<path>/**\"]")
	} else if list, ok := v.strList(f, label, "paths"); ok {
		if len(f.val.items) == 0 {
			v.add(f.val.pos, label, "paths", CodeConfigInvalid, "needs at least one glob, e.g. [\"<path>/**\"]")
		}
		for _, g := range list {
			if err := checkGlob(g.s); err != nil {
				v.add(g.pos, label, "paths", codeForPathErr(err), "%q %v", g.s, err)
				continue
			}
			p.Paths = append(p.Paths, g.s)
		}
	}

	if list, ok := v.strList(t.get("depends_on"), label, "depends_on"); ok {
		seen := map[string]bool{}
		for _, d := range list {
			if seen[d.s] {
				v.add(d.pos, label, "depends_on", CodeConfigDuplicate, "%q is listed twice", d.s)
				continue
			}
			seen[d.s] = true
			p.DependsOn = append(p.DependsOn, d.s)
			p.depPos = append(p.depPos, d.pos)
		}
	}

	p.FirstVersion = DefaultFirstVersion
	if s, pos, ok := v.str(t.get("first_version"), label, "first_version"); ok {
		if _, err := semver.StrictNewVersion(s); err != nil {
			v.add(pos, label, "first_version", CodeConfigInvalid, "%q is not a semantic version like 0.1.0 (no `v` prefix)", s)
		} else {
			p.FirstVersion = s
		}
	}

	p.TagFormat = DefaultTagFormat
	if s, pos, ok := v.str(t.get("tag_format"), label, "tag_format"); ok {
		if _, err := ParseTagFormat(s); err != nil {
			v.add(pos, label, "tag_format", CodeConfigInvalid, "%q %v", s, err)
		} else {
			p.TagFormat = s
		}
	}
	p.PreviousTagFormats = v.tagFormats(t.get("previous_tag_formats"), label, "previous_tag_formats")
	if s, pos, ok := v.nonEmpty(t.get("group"), label, "group"); ok {
		if !nameRe.MatchString(s) {
			v.add(pos, label, "group", CodeConfigInvalid, "%q is not a valid group name", s)
		} else {
			p.Group = s
		}
	}

	if s, pos, ok := v.str(t.get("build_workflow"), label, "build_workflow"); ok {
		if err := bareWorkflow(s); err != nil {
			v.add(pos, label, "build_workflow", CodeConfigInvalid, "%q %v", s, err)
		} else {
			p.BuildWorkflow = s
		}
	}

	if s, pos, ok := v.str(t.get("auth"), label, "auth"); ok {
		if contains(authModes, s) {
			p.Auth = s
		} else {
			v.add(pos, label, "auth", CodeConfigInvalid, "must be one of %s, not %q%s", oneOf(authModes), s, didYouMean(s, authModes))
		}
	}

	if f := t.get("trust_policy"); f != nil {
		p.TrustPolicy = v.trustPolicy(f, label, &p)
	}

	if kindOK {
		switch p.Kind {
		case KindCrates:
			v.crates(t, label, &p)
		case KindPyPI:
			v.pypi(t, label, &p)
		case KindNPM:
			v.npm(t, label, &p)
		}
	}
	return p
}

func (v *validator) trustPolicy(f *field, label string, p *Package) *TrustPolicy {
	if f.val.kind != vTable {
		v.add(f.val.pos, label, "trust_policy", CodeConfigType, "must be a table ([package.trust_policy]), not %s", f.val.kind)
		return nil
	}
	t := f.val
	tp := &TrustPolicy{Pos: t.pos}
	for _, k := range t.keys {
		p.KeyPos["trust_policy."+k] = t.fields[k].keyPos
		if !contains(trustKeys, k) {
			v.unknown(t.fields[k].keyPos, label, "trust_policy."+k, trustKeys, "")
		}
	}
	if wf := t.get("workflow"); wf == nil {
		v.add(t.pos, label, "trust_policy.workflow", CodeConfigMissingKey, "required in [package.trust_policy]: the workflow file name registered with the registry, e.g. \"release.yml\"")
	} else if s, pos, ok := v.str(wf, label, "trust_policy.workflow"); ok {
		if err := bareWorkflow(s); err != nil {
			v.add(pos, label, "trust_policy.workflow", CodeConfigInvalid, "%q %v", s, err)
		} else {
			tp.Workflow = s
		}
	}
	if s, pos, ok := v.nonEmpty(t.get("environment"), label, "trust_policy.environment"); ok {
		if strings.TrimSpace(s) != s {
			v.add(pos, label, "trust_policy.environment", CodeConfigInvalid, "%q has leading or trailing spaces", s)
		} else {
			tp.Environment = s
		}
	}
	if s, pos, ok := v.str(t.get("repository"), label, "trust_policy.repository"); ok {
		if !repositoryRe.MatchString(s) || strings.HasSuffix(s, "/.") || strings.HasSuffix(s, "/..") {
			v.add(pos, label, "trust_policy.repository", CodeConfigInvalid, "%q must be owner/repo, e.g. \"my-org/my-repo\"", s)
		} else {
			tp.Repository = s
		}
	}
	return tp
}

func (v *validator) crates(t *tnode, label string, p *Package) {
	if s, pos, ok := v.nonEmpty(t.get("crate"), label, "crate"); ok {
		if !crateNameRe.MatchString(s) {
			v.add(pos, label, "crate", CodeConfigInvalid, "%q is not a valid crate name (ASCII letters, digits, `-` and `_`, starting with a letter, at most 64 characters)", s)
		} else {
			p.Crate = s
		}
	} else if t.get("crate") == nil && p.Name != "" && nameRe.MatchString(p.Name) && !crateNameRe.MatchString(p.Name) {
		v.add(t.fields["name"].val.pos, label, "name", CodeConfigInvalid, "%q is not a valid crate name; set `crate` to the name on crates.io", p.Name)
	}
	if list, ok := v.strList(t.get("features"), label, "features"); ok {
		for _, f := range list {
			if strings.TrimSpace(f.s) == "" || strings.ContainsAny(f.s, " ,") {
				v.add(f.pos, label, "features", CodeConfigInvalid, "%q is not a feature name (one feature per item)", f.s)
				continue
			}
			p.Features = append(p.Features, f.s)
		}
	}
	if b, ok := v.boolean(t.get("no_default_features"), label, "no_default_features"); ok {
		p.NoDefaultFeatures = b
	}
}

func (v *validator) pypi(t *tnode, label string, p *Package) {
	if s, pos, ok := v.nonEmpty(t.get("pypi"), label, "pypi"); ok {
		if !pypiNameRe.MatchString(s) {
			v.add(pos, label, "pypi", CodeConfigInvalid, "%q is not a valid PyPI project name", s)
		} else {
			p.PyPI = s
		}
	} else if t.get("pypi") == nil && p.Name != "" && nameRe.MatchString(p.Name) && !pypiNameRe.MatchString(p.Name) {
		v.add(t.fields["name"].val.pos, label, "name", CodeConfigInvalid, "%q is not a valid PyPI project name; set `pypi` to the name on PyPI", p.Name)
	}
	p.Build = BuildSetuptools
	buildOK := true
	if s, pos, ok := v.str(t.get("build"), label, "build"); ok {
		if contains(pypiBuilds, s) {
			p.Build = s
		} else {
			buildOK = false
			v.add(pos, label, "build", CodeConfigInvalid, "must be one of %s for kind \"pypi\", not %q%s", oneOf(pypiBuilds), s, didYouMean(s, pypiBuilds))
		}
	} else if t.get("build") != nil {
		buildOK = false
	}
	if f := t.get("targets"); f != nil {
		if buildOK && p.Build != BuildMaturin {
			v.add(t.fields["targets"].keyPos, label, "targets", CodeConfigInvalid, "only valid with build = \"maturin\" (build is %q: a pure-Python package has one sdist/wheel row)", p.Build)
		} else {
			p.Targets = v.targets(f, label, false)
		}
	}
	// PEP 740 attestations are made under trusted publishing unless turned off.
	if b, ok := v.boolean(t.get("attestations"), label, "attestations"); ok {
		p.NoAttestations = !b
	}
	if f := t.get("bundle_cli"); f != nil {
		switch {
		case buildOK && p.Build != BuildMaturin:
			v.add(t.fields["bundle_cli"].keyPos, label, "bundle_cli", CodeConfigInvalid, "only valid with build = \"maturin\"")
		case buildOK && len(p.Targets) == 0 && t.get("targets") == nil:
			v.add(t.fields["bundle_cli"].keyPos, label, "bundle_cli", CodeConfigInvalid, "needs at least one entry in `targets` (the binary is built per target)")
		default:
			p.BundleCLI = v.bundleCLI(f, label, p)
		}
	}
}

func (v *validator) bundleCLI(f *field, label string, p *Package) *BundleCLI {
	if f.val.kind != vTable {
		v.add(f.val.pos, label, "bundle_cli", CodeConfigType, "must be a table {bin, stage_to, crate_path}, not %s", f.val.kind)
		return nil
	}
	t := f.val
	b := &BundleCLI{CratePath: "."}
	for _, k := range t.keys {
		p.KeyPos["bundle_cli."+k] = t.fields[k].keyPos
		if !contains(bundleKeys, k) {
			v.unknown(t.fields[k].keyPos, label, "bundle_cli."+k, bundleKeys, "")
		}
	}
	if t.get("bin") == nil {
		v.add(t.pos, label, "bundle_cli.bin", CodeConfigMissingKey, "required: the name of the binary to bundle")
	} else if s, pos, ok := v.nonEmpty(t.get("bin"), label, "bundle_cli.bin"); ok {
		if strings.ContainsAny(s, `/\`) {
			v.add(pos, label, "bundle_cli.bin", CodeConfigInvalid, "%q must be a binary name, not a path", s)
		} else {
			b.Bin = s
		}
	}
	if t.get("stage_to") == nil {
		v.add(t.pos, label, "bundle_cli.stage_to", CodeConfigMissingKey, "required: where in the package to stage the binary, relative to `path`")
	} else if s, pos, ok := v.str(t.get("stage_to"), label, "bundle_cli.stage_to"); ok {
		if clean, err := relToPkg(p.Path, s); err != nil {
			v.add(pos, label, "bundle_cli.stage_to", codeForPathErr(err), "%q %v", s, err)
		} else {
			b.StageTo = clean
		}
	}
	if s, pos, ok := v.str(t.get("crate_path"), label, "bundle_cli.crate_path"); ok {
		if clean, err := relToPkg(p.Path, s); err != nil {
			v.add(pos, label, "bundle_cli.crate_path", codeForPathErr(err), "%q %v", s, err)
		} else {
			b.CratePath = clean
		}
	}
	return b
}

func (v *validator) npm(t *tnode, label string, p *Package) {
	if s, pos, ok := v.nonEmpty(t.get("npm"), label, "npm"); ok {
		if !npmNameRe.MatchString(s) || len(s) > 214 {
			v.add(pos, label, "npm", CodeConfigInvalid, "%q is not a valid npm package name (lowercase; may be scoped, e.g. \"@org/x\")", s)
		} else {
			p.NPM = s
		}
	} else if t.get("npm") == nil && p.Name != "" && nameRe.MatchString(p.Name) && !npmNameRe.MatchString(p.Name) {
		v.add(t.fields["name"].val.pos, label, "name", CodeConfigInvalid, "%q is not a valid npm package name (npm names are lowercase); set `npm` to the name on the registry", p.Name)
	}
	p.Access = "public"
	if s, pos, ok := v.str(t.get("access"), label, "access"); ok {
		if contains(npmAccesses, s) {
			p.Access = s
		} else {
			v.add(pos, label, "access", CodeConfigInvalid, "must be one of %s, not %q%s", oneOf(npmAccesses), s, didYouMean(s, npmAccesses))
		}
	}
	p.NPMPublish = NPMPublishAuto
	if s, pos, ok := v.str(t.get("npm_publish"), label, "npm_publish"); ok {
		if contains(npmPublishes, s) {
			p.NPMPublish = s
		} else {
			v.add(pos, label, "npm_publish", CodeConfigInvalid, "must be one of %s, not %q%s", oneOf(npmPublishes), s, didYouMean(s, npmPublishes))
		}
	}
	p.Tag = "latest"
	if s, pos, ok := v.nonEmpty(t.get("tag"), label, "tag"); ok {
		if _, err := semver.NewVersion(s); err == nil || strings.ContainsAny(s, " /") {
			v.add(pos, label, "tag", CodeConfigInvalid, "%q is not a usable dist-tag (npm refuses tags that parse as versions or ranges)", s)
		} else {
			p.Tag = s
		}
	}
	buildOK := true
	if s, pos, ok := v.str(t.get("build"), label, "build"); ok {
		if contains(npmBuilds, s) {
			p.Build = s
		} else {
			buildOK = false
			v.add(pos, label, "build", CodeConfigInvalid, "must be one of %s for kind \"npm\" (omit it for a plain package), not %q%s", oneOf(npmBuilds), s, didYouMean(s, npmBuilds))
		}
	} else if t.get("build") != nil {
		buildOK = false
	}
	f := t.get("targets")
	switch {
	case !buildOK:
	case p.Build == "" && f != nil:
		v.add(t.fields["targets"].keyPos, label, "targets", CodeConfigInvalid, "only valid with build = \"napi\" or \"bundled-cli\"")
	case p.Build != "" && f == nil:
		v.add(t.pos, label, "targets", CodeConfigMissingKey, "required with build = %q: the triples to ship, e.g. [\"x86_64-unknown-linux-gnu\", \"aarch64-apple-darwin\"]", p.Build)
	case p.Build != "":
		p.Targets = v.targets(f, label, true)
		if len(p.Targets) == 0 && f.val.kind == vArray && len(f.val.items) == 0 {
			v.add(f.val.pos, label, "targets", CodeConfigInvalid, "needs at least one target with build = %q", p.Build)
		}
	}
	if t.get("member_name") != nil && buildOK {
		v.memberName(t, label, p)
	}
}

// tagFormats reads a list of tag formats (previous_tag_formats).
func (v *validator) tagFormats(f *field, label, key string) []string {
	list, ok := v.strList(f, label, key)
	if !ok {
		return nil
	}
	var out []string
	for _, it := range list {
		if _, err := ParseTagFormat(it.s); err != nil {
			v.add(it.pos, label, key, CodeConfigInvalid, "%q %v", it.s, err)
			continue
		}
		out = append(out, it.s)
	}
	return out
}

// memberNameRe: the placeholders a member_name may use.
var memberPlaceholderRe = regexp.MustCompile(`\{[^{}]*\}`)

// MemberPlaceholders are the placeholders member_name may use: npm's os and
// cpu for the target, "-musl"/"-gnu"-style libc suffix ({libc}: "-musl" for
// musl, "" otherwise), the triple as written, and the package's npm name.
var MemberPlaceholders = []string{"{os}", "{cpu}", "{libc}", "{abi}", "{triple}", "{npmname}"}

func (v *validator) memberName(t *tnode, label string, p *Package) {
	s, pos, ok := v.nonEmpty(t.get("member_name"), label, "member_name")
	if !ok {
		return
	}
	if p.Build == "" {
		v.add(t.fields["member_name"].keyPos, label, "member_name", CodeConfigInvalid, "only valid with build = \"napi\" or \"bundled-cli\"")
		return
	}
	for _, ph := range memberPlaceholderRe.FindAllString(s, -1) {
		if !contains(MemberPlaceholders, ph) {
			v.add(pos, label, "member_name", CodeConfigInvalid, "%q uses unknown placeholder %s; allowed: %s", s, ph, oneOf(MemberPlaceholders))
			return
		}
	}
	if !strings.Contains(s, "{triple}") && !(strings.Contains(s, "{os}") && strings.Contains(s, "{cpu}")) {
		v.add(pos, label, "member_name", CodeConfigInvalid, "%q must tell the targets apart: include {triple}, or {os} and {cpu} (and {libc} when both glibc and musl are built)", s)
		return
	}
	p.MemberName = s
}

// groups reads the [[group]] blocks.
func (v *validator) groups(f *field) []Group {
	if f == nil {
		return nil
	}
	if f.val.kind != vArray {
		v.add(f.val.pos, "", "group", CodeConfigType, "must be an array of tables: write [[group]]")
		return nil
	}
	var out []Group
	for i, t := range f.val.items {
		if t.kind != vTable {
			v.add(t.pos, "", "group", CodeConfigType, "item %d must be a table, not %s", i+1, t.kind)
			continue
		}
		g := Group{Pos: t.pos, KeyPos: map[string]Pos{}}
		label := fmt.Sprintf("group #%d", i+1)
		for _, k := range t.keys {
			g.KeyPos[k] = t.fields[k].keyPos
			if !contains(groupKeys, k) {
				v.unknown(t.fields[k].keyPos, label, "group."+k, groupKeys, "")
			}
		}
		if nf := t.get("name"); nf == nil {
			v.add(t.pos, label, "group.name", CodeConfigMissingKey, "required")
		} else if s, pos, ok := v.nonEmpty(nf, label, "group.name"); ok {
			if !nameRe.MatchString(s) {
				v.add(pos, label, "group.name", CodeConfigInvalid, "%q is not a valid group name: use letters, digits, `.`, `_` and `-`", s)
			} else {
				g.Name, label = s, "group "+s
			}
		}
		g.TagFormat = DefaultTagFormat
		if s, pos, ok := v.str(t.get("tag_format"), label, "group.tag_format"); ok {
			if _, err := ParseTagFormat(s); err != nil {
				v.add(pos, label, "group.tag_format", CodeConfigInvalid, "%q %v", s, err)
			} else {
				g.TagFormat = s
			}
		}
		g.PreviousTagFormats = v.tagFormats(t.get("previous_tag_formats"), label, "group.previous_tag_formats")
		out = append(out, g)
	}
	return out
}

// targets reads a targets array; npm requires each triple to map to npm's
// os/cpu.
func (v *validator) targets(f *field, label string, npm bool) []Target {
	if f.val.kind != vArray {
		v.add(f.val.pos, label, "targets", CodeConfigType, "must be an array of triples or {triple, runner} tables, not %s", f.val.kind)
		return nil
	}
	var out []Target
	seen := map[string]bool{}
	for i, it := range f.val.items {
		var tg Target
		pos := it.pos
		switch it.kind {
		case vString:
			tg.Triple = it.str
		case vTable:
			for _, k := range it.keys {
				if !contains(targetKeys, k) {
					v.unknown(it.fields[k].keyPos, label, "targets."+k, targetKeys, "")
				}
			}
			if it.get("triple") == nil {
				v.add(it.pos, label, "targets", CodeConfigMissingKey, "item %d: `triple` is required", i+1)
				continue
			}
			s, tpos, ok := v.str(it.get("triple"), label, "targets.triple")
			if !ok {
				continue
			}
			tg.Triple, pos = s, tpos
			if r, _, ok := v.nonEmpty(it.get("runner"), label, "targets.runner"); ok {
				tg.Runner = r
			}
		default:
			v.add(it.pos, label, "targets", CodeConfigType, "item %d must be a triple string or a {triple, runner} table, not %s", i+1, it.kind)
			continue
		}
		if strings.TrimSpace(tg.Triple) == "" || strings.ContainsAny(tg.Triple, " /\\") {
			v.add(pos, label, "targets", CodeConfigInvalid, "%q is not a target triple", tg.Triple)
			continue
		}
		if seen[tg.Triple] {
			v.add(pos, label, "targets", CodeConfigDuplicate, "%q is listed twice", tg.Triple)
			continue
		}
		seen[tg.Triple] = true
		if npm {
			if _, _, _, err := platform.NPM(tg.Triple); err != nil {
				v.add(pos, label, "targets", CodeConfigInvalid, "%v", err)
				continue
			}
		}
		out = append(out, tg)
	}
	return out
}

// cross runs the checks that span packages.
func (v *validator) cross(cfg *Config) {
	byName := map[string]int{}
	for i := range cfg.Packages {
		p := &cfg.Packages[i]
		if p.Name == "" {
			continue
		}
		if j, dup := byName[p.Name]; dup {
			first := cfg.Packages[j]
			v.add(p.KeyPos["name"], p.Name, "name", CodeConfigDuplicate, "package name %q is already used by the package at line %d", p.Name, first.Pos.Line)
			continue
		}
		byName[p.Name] = i
	}

	v.crossGroups(cfg, byName)

	// Two packages published under one registry name, or writing one tag.
	regNames := map[string]int{}
	tags := map[string]int{}
	for i := range cfg.Packages {
		p := &cfg.Packages[i]
		if p.Name == "" || p.Kind == "" {
			continue
		}
		rk := p.Kind + "\x00" + p.RegistryName()
		if j, dup := regNames[rk]; dup && cfg.Packages[j].Name != p.Name {
			v.add(p.Pos, p.Name, "", CodeConfigDuplicate, "publishes %s %q, as does package %q", p.Kind, p.RegistryName(), cfg.Packages[j].Name)
		} else {
			regNames[rk] = i
		}
		tag := p.TagFor("1.0.0")
		if j, dup := tags[tag]; dup && cfg.Packages[j].Name != p.Name && (p.Group == "" || cfg.Packages[j].Group != p.Group) {
			pos := p.Pos
			if kp, ok := p.KeyPos["tag_format"]; ok {
				pos = kp
			}
			v.add(pos, p.Name, "tag_format", CodeConfigDuplicate, "%q gives the same tags as package %q (%s); include {name} to tell them apart", p.TagFormat, cfg.Packages[j].Name, tag)
		} else {
			tags[tag] = i
		}
	}

	// Unknown dependencies.
	for i := range cfg.Packages {
		p := &cfg.Packages[i]
		for k, d := range p.DependsOn {
			if _, ok := byName[d]; !ok {
				msg := fmt.Sprintf("%q is not a package in this file", d)
				names := make([]string, 0, len(byName))
				for n := range byName {
					names = append(names, n)
				}
				sort.Strings(names)
				if s := suggest(d, names); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				v.add(p.depPos[k], labelOf(p, i), "depends_on", CodeConfigUnknownDep, "%s", msg)
			}
		}
	}

	// Cycles, each reported once, from the package that appears first.
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(cfg.Packages))
	var stack []int
	reported := map[string]bool{}
	var visit func(i int)
	visit = func(i int) {
		color[i] = grey
		stack = append(stack, i)
		p := &cfg.Packages[i]
		for k, d := range p.DependsOn {
			j, ok := byName[d]
			if !ok {
				continue
			}
			switch color[j] {
			case white:
				visit(j)
			case grey:
				// stack[from:] is the cycle j -> ... -> i -> j.
				from := len(stack) - 1
				for stack[from] != j {
					from--
				}
				cyc := append([]int{}, stack[from:]...)
				key := cycleKey(cyc)
				if reported[key] {
					continue
				}
				reported[key] = true
				names := make([]string, 0, len(cyc)+1)
				for _, c := range cyc {
					names = append(names, cfg.Packages[c].Name)
				}
				names = append(names, cfg.Packages[j].Name)
				// Point at the edge leaving the cycle's first package.
				at, owner := p.depPos[k], p.Name
				if len(cyc) > 1 {
					first := &cfg.Packages[cyc[0]]
					for kk, dd := range first.DependsOn {
						if dd == cfg.Packages[cyc[1]].Name {
							at, owner = first.depPos[kk], first.Name
						}
					}
				}
				v.add(at, owner, "depends_on", CodeConfigCycle, "dependency cycle: %s", strings.Join(names, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = black
	}
	for i := range cfg.Packages {
		if color[i] == white && cfg.Packages[i].Name != "" {
			visit(i)
		}
	}
}

// crossGroups checks group names and membership, and gives each member its
// group's tag formats (with the group's name in place of {name}), so every
// reader of a package's tags sees the group's one tag.
func (v *validator) crossGroups(cfg *Config, byName map[string]int) {
	groups := map[string]int{}
	for i := range cfg.Groups {
		g := &cfg.Groups[i]
		if g.Name == "" {
			continue
		}
		if _, dup := groups[g.Name]; dup {
			v.add(g.KeyPos["name"], "group "+g.Name, "group.name", CodeConfigDuplicate, "group name %q is used twice", g.Name)
			continue
		}
		if j, clash := byName[g.Name]; clash {
			v.add(g.KeyPos["name"], "group "+g.Name, "group.name", CodeConfigDuplicate, "group name %q is also the name of the package at line %d; names of groups and packages must differ", g.Name, cfg.Packages[j].Pos.Line)
			continue
		}
		groups[g.Name] = i
	}
	for i := range cfg.Packages {
		p := &cfg.Packages[i]
		if p.Group == "" {
			continue
		}
		gi, ok := groups[p.Group]
		if !ok {
			names := sortedGroupNames(groups)
			v.add(p.KeyPos["group"], labelOf(p, i), "group", CodeConfigInvalid, "%q is not a [[group]] in this file%s", p.Group, didYouMean(p.Group, names))
			continue
		}
		if _, own := p.KeyPos["tag_format"]; own {
			v.add(p.KeyPos["tag_format"], labelOf(p, i), "tag_format", CodeConfigInvalid, "package is in group %q, which has the one tag of its members: set tag_format on the [[group]]", p.Group)
		}
		if _, own := p.KeyPos["previous_tag_formats"]; own {
			v.add(p.KeyPos["previous_tag_formats"], labelOf(p, i), "previous_tag_formats", CodeConfigInvalid, "package is in group %q: set previous_tag_formats on the [[group]]", p.Group)
		}
		g := &cfg.Groups[gi]
		g.Members = append(g.Members, p.Name)
		p.TagFormat = g.TagFormat
		p.PreviousTagFormats = nil
		for _, f := range g.TagFormats() {
			nf := strings.ReplaceAll(f, "{name}", g.Name)
			if f == g.TagFormat {
				p.TagFormat = nf
			} else {
				p.PreviousTagFormats = append(p.PreviousTagFormats, nf)
			}
		}
	}
	for i := range cfg.Groups {
		g := &cfg.Groups[i]
		if g.Name != "" && len(g.Members) == 0 {
			v.add(g.Pos, "group "+g.Name, "group", CodeConfigInvalid, "group %q has no members: add `group = %q` to its packages, or remove the block", g.Name, g.Name)
		}
	}
}

func sortedGroupNames(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func labelOf(p *Package, i int) string {
	if p.Name != "" && nameRe.MatchString(p.Name) {
		return p.Name
	}
	return fmt.Sprintf("#%d", i+1)
}

func cycleKey(c []int) string {
	s := append([]int{}, c...)
	sort.Ints(s)
	return fmt.Sprint(s)
}

// errEscape marks path errors that leave the repository.
type pathErr struct {
	msg    string
	escape bool
}

func (e *pathErr) Error() string { return e.msg }

func codeForPathErr(err error) string {
	if pe, ok := err.(*pathErr); ok && pe.escape {
		return CodeConfigPathEscape
	}
	return CodeConfigInvalid
}

var winAbs = regexp.MustCompile(`^[A-Za-z]:`)

// relPath checks a repository-relative directory and returns it cleaned,
// slash-separated ("." for the root).
func relPath(s string) (string, error) {
	switch {
	case strings.TrimSpace(s) == "":
		return "", &pathErr{msg: "must not be empty (use \".\" for the repository root)"}
	case strings.Contains(s, `\`):
		return "", &pathErr{msg: "must use forward slashes"}
	case strings.HasPrefix(s, "/") || winAbs.MatchString(s):
		return "", &pathErr{msg: "is absolute; it must be relative to the repository root", escape: true}
	}
	clean := path.Clean(s)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", &pathErr{msg: "escapes the repository root", escape: true}
	}
	return clean, nil
}

// relToPkg checks a path relative to the package directory pkg (itself
// repository-relative): it may climb out of pkg, not out of the repository.
// It returns s cleaned.
func relToPkg(pkg, s string) (string, error) {
	switch {
	case strings.TrimSpace(s) == "":
		return "", &pathErr{msg: "must not be empty (use \".\" for the package directory)"}
	case strings.Contains(s, `\`):
		return "", &pathErr{msg: "must use forward slashes"}
	case strings.HasPrefix(s, "/") || winAbs.MatchString(s):
		return "", &pathErr{msg: "is absolute; it must be relative to the package's `path`", escape: true}
	}
	if pkg == "" {
		pkg = "."
	}
	joined := path.Clean(pkg + "/" + s)
	if joined == ".." || strings.HasPrefix(joined, "../") {
		return "", &pathErr{msg: "escapes the repository root (it is relative to the package's `path`)", escape: true}
	}
	return path.Clean(s), nil
}

// checkGlob checks one `paths` glob.
func checkGlob(g string) error {
	switch {
	case strings.TrimSpace(g) == "":
		return &pathErr{msg: "is empty"}
	case strings.HasPrefix(g, "!"):
		return &pathErr{msg: "is a negation; `paths` globs only add files (narrow the positive globs instead)"}
	case strings.Contains(g, `\`):
		return &pathErr{msg: "must use forward slashes"}
	case strings.HasPrefix(g, "/") || winAbs.MatchString(g):
		return &pathErr{msg: "is absolute; globs are anchored at the repository root, so drop the leading `/`", escape: true}
	case !doublestar.ValidatePattern(g):
		return &pathErr{msg: "is not a valid glob"}
	}
	for _, seg := range strings.Split(g, "/") {
		if seg == ".." {
			return &pathErr{msg: "contains `..`; globs match files inside the repository only", escape: true}
		}
	}
	return nil
}

// bareWorkflow checks a workflow reference is a file name, as registries
// match it.
func bareWorkflow(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("must not be empty")
	case strings.ContainsAny(s, `/\`):
		return fmt.Errorf("must be a bare file name like \"release.yml\", not a path (registries match the file name in .github/workflows/)")
	case !strings.HasSuffix(s, ".yml") && !strings.HasSuffix(s, ".yaml"):
		return fmt.Errorf("must end in .yml or .yaml")
	case s == ".yml" || s == ".yaml" || strings.TrimSpace(s) != s:
		return fmt.Errorf("is not a workflow file name")
	}
	return nil
}

// didYouMean is ` (did you mean "x"?)` for a close candidate, else "".
// Case is ignored: "Crates" suggests "crates".
func didYouMean(s string, candidates []string) string {
	if c := suggest(strings.ToLower(s), candidates); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}

// suggest returns the candidate closest to s (edit distance ≤ 2), or "".
func suggest(s string, candidates []string) string {
	limit := max(1, min(2, len(s)/3))
	best, bestD := "", limit+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
