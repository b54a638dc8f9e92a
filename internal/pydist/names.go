// Package pydist reads Python distributions (wheels and sdists): their
// filenames, core metadata and digests, and builds the fields of PyPI's
// upload form from them. It refuses archives that try to escape their root.
package pydist

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	normRe      = regexp.MustCompile(`[-_.]+`)
	validNameRe = regexp.MustCompile(`(?i)^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`)
)

// Normalize is the PEP 503 name: lower case, runs of -_. become one "-".
func Normalize(name string) string {
	return strings.ToLower(normRe.ReplaceAllString(name, "-"))
}

// FilenameName is the name as it appears in distribution filenames: the
// normalised name with "-" replaced by "_".
func FilenameName(name string) string {
	return strings.ReplaceAll(Normalize(name), "-", "_")
}

// ValidName reports whether name is a valid project name (PEP 508, ASCII).
func ValidName(name string) bool { return validNameRe.MatchString(name) }

// Version is a parsed PEP 440 version.
type Version struct {
	Epoch   int
	Release []int
	Pre     string // "a", "b", "rc" or ""
	PreN    int
	Post    int // -1 when absent
	Dev     int // -1 when absent
	Local   string
}

// packaging's VERSION_PATTERN.
var versionRe = regexp.MustCompile(`(?i)^\s*v?(?:(?:(?P<epoch>[0-9]+)!)?(?P<release>[0-9]+(?:\.[0-9]+)*)(?P<pre>[-_\.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_\.]?(?P<pre_n>[0-9]+)?)?(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_\.]?(?P<post_l>post|rev|r)[-_\.]?(?P<post_n2>[0-9]+)?))?(?P<dev>[-_\.]?(?P<dev_l>dev)[-_\.]?(?P<dev_n>[0-9]+)?)?)(?:\+(?P<local>[a-z0-9]+(?:[-_\.][a-z0-9]+)*))?\s*$`)

// ParseVersion parses a PEP 440 version.
func ParseVersion(s string) (Version, error) {
	m := versionRe.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("invalid version %q (not PEP 440)", s)
	}
	g := func(name string) string { return m[versionRe.SubexpIndex(name)] }
	num := func(x string) int {
		n, _ := strconv.Atoi(x)
		return n
	}
	v := Version{Post: -1, Dev: -1}
	if e := g("epoch"); e != "" {
		v.Epoch = num(e)
	}
	for _, p := range strings.Split(g("release"), ".") {
		v.Release = append(v.Release, num(p))
	}
	if l := strings.ToLower(g("pre_l")); l != "" {
		switch l {
		case "alpha", "a":
			v.Pre = "a"
		case "beta", "b":
			v.Pre = "b"
		default:
			v.Pre = "rc"
		}
		v.PreN = num(g("pre_n"))
	}
	if g("post") != "" {
		v.Post = num(g("post_n1") + g("post_n2"))
	}
	if g("dev") != "" {
		v.Dev = num(g("dev_n"))
	}
	if l := g("local"); l != "" {
		v.Local = strings.ToLower(strings.NewReplacer("-", ".", "_", ".").Replace(l))
	}
	return v, nil
}

func (v Version) format(release []int) string {
	var b strings.Builder
	if v.Epoch != 0 {
		fmt.Fprintf(&b, "%d!", v.Epoch)
	}
	for i, r := range release {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(r))
	}
	if v.Pre != "" {
		fmt.Fprintf(&b, "%s%d", v.Pre, v.PreN)
	}
	if v.Post >= 0 {
		fmt.Fprintf(&b, ".post%d", v.Post)
	}
	if v.Dev >= 0 {
		fmt.Fprintf(&b, ".dev%d", v.Dev)
	}
	if v.Local != "" {
		b.WriteString("+" + v.Local)
	}
	return b.String()
}

// String is the normalised form, str(Version(v)) in packaging: "1.0.0rc1".
func (v Version) String() string { return v.format(v.Release) }

// Canonical drops trailing ".0" release parts (packaging's
// canonicalize_version), so "1.0" and "1.0.0" are the same release.
func (v Version) Canonical() string {
	r := v.Release
	for len(r) > 1 && r[len(r)-1] == 0 {
		r = r[:len(r)-1]
	}
	return v.format(r)
}

// NormalizeVersion returns the normalised version string, or s unchanged
// when it is not PEP 440.
func NormalizeVersion(s string) string {
	v, err := ParseVersion(s)
	if err != nil {
		return s
	}
	return v.String()
}

// CanonicalVersion returns the canonical version string, or s unchanged when
// it is not PEP 440.
func CanonicalVersion(s string) string {
	v, err := ParseVersion(s)
	if err != nil {
		return s
	}
	return v.Canonical()
}

// CompareVersions orders two PEP 440 versions (-1, 0, 1). Unparseable
// versions sort before parseable ones, then by string.
func CompareVersions(a, b string) int {
	va, ea := ParseVersion(a)
	vb, eb := ParseVersion(b)
	switch {
	case ea != nil && eb != nil:
		return strings.Compare(a, b)
	case ea != nil:
		return -1
	case eb != nil:
		return 1
	}
	return va.Compare(vb)
}

// Compare orders v against o by PEP 440 rules (local labels compared as strings).
func (v Version) Compare(o Version) int {
	if c := cmpInt(v.Epoch, o.Epoch); c != 0 {
		return c
	}
	n := max(len(v.Release), len(o.Release))
	for i := 0; i < n; i++ {
		var x, y int
		if i < len(v.Release) {
			x = v.Release[i]
		}
		if i < len(o.Release) {
			y = o.Release[i]
		}
		if c := cmpInt(x, y); c != 0 {
			return c
		}
	}
	if c := cmpInt(v.preKey(), o.preKey()); c != 0 {
		return c
	}
	if v.Pre != "" && v.Pre == o.Pre {
		if c := cmpInt(v.PreN, o.PreN); c != 0 {
			return c
		}
	}
	if c := cmpInt(v.Post, o.Post); c != 0 {
		return c
	}
	dv, do := v.Dev, o.Dev
	if dv < 0 {
		dv = 1 << 30
	}
	if do < 0 {
		do = 1 << 30
	}
	if c := cmpInt(dv, do); c != 0 {
		return c
	}
	return strings.Compare(v.Local, o.Local)
}

// preKey ranks the pre-release phase: dev-only < a < b < rc < final.
func (v Version) preKey() int {
	switch v.Pre {
	case "a":
		return 1
	case "b":
		return 2
	case "rc":
		return 3
	}
	if v.Dev >= 0 && v.Post < 0 {
		return 0
	}
	return 4
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
