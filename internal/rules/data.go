package rules

import (
	"embed"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
)

// The data files are written by scripts/refresh-registry-rules.py from the
// registries' own sources; each starts with a "# source:" line naming the
// repository, commit and date.
//
//go:embed data/*
var dataFS embed.FS

// dataLines returns a data file's lines without its header and blank lines.
func dataLines(name string) []string {
	b, err := dataFS.ReadFile("data/" + name)
	if err != nil {
		panic(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" || strings.HasPrefix(l, "# source:") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// DataSource returns the "source:" line of a data file (for the docs).
func DataSource(name string) string {
	b, err := dataFS.ReadFile("data/" + name)
	if err != nil {
		return ""
	}
	if name == "platforms.json" {
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		s, _ := m["_source"].(string)
		return strings.TrimPrefix(s, "source: ")
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimPrefix(first, "# source: ")
}

// DataFiles lists the embedded data files.
func DataFiles() []string {
	ents, _ := dataFS.ReadDir("data")
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func set(lines []string) map[string]bool {
	m := make(map[string]bool, len(lines))
	for _, l := range lines {
		m[l] = true
	}
	return m
}

var data = sync.OnceValue(func() *tables {
	t := &tables{
		classifiers: set(dataLines("classifiers.txt")),
		deprecated:  map[string][]string{},
		stdlib:      set(dataLines("stdlib-prohibited.txt")),
		categories:  set(dataLines("categories.txt")),
		reserved:    map[string]bool{},
	}
	for _, l := range dataLines("deprecated-classifiers.txt") {
		parts := strings.Split(l, "\t")
		t.deprecated[parts[0]] = parts[1:]
		t.classifiers[parts[0]] = true // all_classifiers holds the deprecated ones too
	}
	for _, n := range dataLines("reserved-crates.txt") {
		t.reserved[canonCrate(n)] = true
	}
	b, err := dataFS.ReadFile("data/platforms.json")
	if err != nil {
		panic(err)
	}
	var p map[string]json.RawMessage
	if err := json.Unmarshal(b, &p); err != nil {
		panic(err)
	}
	list := func(k string) map[string]bool {
		var l []string
		if err := json.Unmarshal(p[k], &l); err != nil {
			panic("platforms.json: " + k)
		}
		return set(l)
	}
	// Python's re.match anchors at the start only.
	rx := func(k string) *regexp.Regexp {
		var s string
		if err := json.Unmarshal(p[k], &s); err != nil {
			panic("platforms.json: " + k)
		}
		return regexp.MustCompile("^(?:" + s + ")")
	}
	t.plat = platformRules{
		allowed: list("_allowed_platforms"), macArches: list("_macosx_arches"), macMajors: list("_macosx_major_versions"),
		iosArches: list("_ios_arches"), androidArches: list("_android_arches"), musl: list("_jointlinux_arches"),
		mac: rx("_macosx_platform_re"), ios: rx("_ios_platform_re"), android: rx("_android_platform_re"),
		linux: rx("_linux_platform_re"), emscripten: rx("_pyemscripten_platform_re"),
	}
	t.plat.many = map[string]bool{}
	for k := range t.plat.musl {
		t.plat.many[k] = true
	}
	for k := range list("_manylinux_extra_arches") {
		t.plat.many[k] = true
	}
	return t
})

type tables struct {
	classifiers map[string]bool
	deprecated  map[string][]string
	stdlib      map[string]bool
	categories  map[string]bool
	reserved    map[string]bool
	plat        platformRules
}

type platformRules struct {
	allowed, macArches, macMajors, iosArches, androidArches, many, musl map[string]bool
	mac, ios, android, linux, emscripten                                *regexp.Regexp
}

func group(re *regexp.Regexp, m []string, name string) string {
	if i := re.SubexpIndex(name); i >= 0 && i < len(m) {
		return m[i]
	}
	return ""
}

// ValidPlatformTag is Warehouse's _valid_platform_tag
// (pypi/warehouse warehouse/forklift/legacy.py), line for line.
func ValidPlatformTag(tag string) bool {
	p := data().plat
	if p.allowed[tag] {
		return true
	}
	if m := p.mac.FindStringSubmatch(tag); m != nil {
		arch := group(p.mac, m, "arch")
		// macosx_10_{minor} for the 10.x series; macosx_{major}_0 after it.
		if group(p.mac, m, "major") == "10" && p.macArches[arch] {
			return true
		}
		if p.macMajors[group(p.mac, m, "major")] && group(p.mac, m, "minor") == "0" && p.macArches[arch] {
			return true
		}
	}
	if m := p.linux.FindStringSubmatch(tag); m != nil {
		if group(p.linux, m, "libc") == "musl" {
			return p.musl[group(p.linux, m, "arch")]
		}
		if group(p.linux, m, "libc") == "many" {
			return p.many[group(p.linux, m, "arch")]
		}
	}
	if m := p.ios.FindStringSubmatch(tag); m != nil && p.iosArches[group(p.ios, m, "arch")] {
		return true
	}
	if m := p.android.FindStringSubmatch(tag); m != nil && p.androidArches[group(p.android, m, "arch")] {
		return true
	}
	return p.emscripten.MatchString(tag)
}

// ValidClassifier: in trove-classifiers' all_classifiers.
func ValidClassifier(c string) bool { return data().classifiers[c] }

// CategoryKnown: a crates.io category slug (src/boot/categories.toml).
func CategoryKnown(slug string) bool { return data().categories[slug] }

// ReservedCrateName: crates.io's reserved_crate_names, compared by
// canon_crate_name (lower case, '-' as '_').
func ReservedCrateName(name string) bool { return data().reserved[canonCrate(name)] }

func canonCrate(n string) string { return strings.ReplaceAll(strings.ToLower(n), "-", "_") }

// StdlibName: the name canonicalises to a Python standard-library module
// (or a dotted prefix of one), which PyPI refuses as a new project.
func StdlibName(name string) bool { return data().stdlib[canonicalPy(name)] }

var pySepRe = regexp.MustCompile(`[-_.]+`)

func canonicalPy(n string) string { return strings.ToLower(pySepRe.ReplaceAllString(n, "-")) }

// Ultranormalize is Warehouse's ultranormalize_name (the SQL function in
// warehouse/migrations/versions/d18d443f89f0_ultranormalize_name_function.py):
// separators dropped, l/i as 1, o as 0, lower case. Two names that agree
// here are "too similar".
func Ultranormalize(n string) string {
	n = strings.NewReplacer(".", "", "_", "", "-", "").Replace(n)
	n = strings.NewReplacer("l", "1", "L", "1", "i", "1", "I", "1").Replace(n)
	n = strings.NewReplacer("o", "0", "O", "0").Replace(n)
	return strings.ToLower(n)
}
