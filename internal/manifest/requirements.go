package manifest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/pydist"
)

// Sibling requirements: whether a dependent's requirement accepts the
// version a sibling moves to, and the requirement to write when it does not,
// in the user's own operator style.

// ReqAccepts reports whether req (in the ecosystem of kind) accepts version.
// An empty or unparsable requirement accepts everything: the ecosystem's own
// tool says more than a guess would.
func ReqAccepts(kind, req, version string) bool {
	req = strings.TrimSpace(req)
	if req == "" || req == "*" {
		return true
	}
	switch kind {
	case config.KindCrates:
		return cargoAccepts(req, version)
	case config.KindNPM:
		return npmAccepts(req, version)
	case config.KindPyPI:
		return pep440Accepts(req, version)
	}
	return true
}

// cargoAccepts: Cargo's requirement syntax (a bare version is a caret
// requirement; comma-separated comparators all apply).
// cargo/crates/semver: `VersionReq`, with `Op::Caret` as the default op.
func cargoAccepts(req, version string) bool {
	parts := strings.Split(req, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p != "" && p[0] >= '0' && p[0] <= '9' {
			p = "^" + p
		}
		parts[i] = p
	}
	return semverAccepts(strings.Join(parts, ", "), version)
}

// npmAccepts: node-semver ranges (`||` unions, space-joined comparators,
// hyphen ranges, x-ranges). Tags ("latest") and URLs accept: they do not
// pin a version.
func npmAccepts(req, version string) bool {
	if strings.ContainsAny(req, ":/") || (req[0] >= 'a' && req[0] <= 'z' && req[0] != 'x') {
		return true
	}
	return semverAccepts(req, version)
}

func semverAccepts(req, version string) bool {
	c, err := semver.NewConstraint(req)
	if err != nil {
		return true
	}
	v, err := semver.NewVersion(version)
	if err != nil {
		return true
	}
	return c.Check(v)
}

// pep440Accepts checks a PEP 440 specifier set ("==1.2.0", ">=1.0,<2",
// "~=1.2", "==1.*", "!=1.3").
func pep440Accepts(req, version string) bool {
	v, err := pydist.ParseVersion(version)
	if err != nil {
		return true
	}
	for _, clause := range strings.Split(req, ",") {
		clause = strings.TrimSpace(clause)
		m := pepClause.FindStringSubmatch(clause)
		if m == nil {
			return true
		}
		op, rhs := m[1], strings.TrimSpace(m[2])
		if op == "===" {
			if rhs != version {
				return false
			}
			continue
		}
		if strings.HasSuffix(rhs, ".*") && (op == "==" || op == "!=") {
			prefix, err := pydist.ParseVersion(strings.TrimSuffix(rhs, ".*"))
			if err != nil {
				return true
			}
			match := prefixMatch(v.Release, prefix.Release)
			if (op == "==") != match {
				return false
			}
			continue
		}
		w, err := pydist.ParseVersion(rhs)
		if err != nil {
			return true
		}
		c := pepCompare(v, w)
		ok := true
		switch op {
		case "==":
			ok = c == 0
		case "!=":
			ok = c != 0
		case ">=":
			ok = c >= 0
		case "<=":
			ok = c <= 0
		case ">":
			ok = c > 0
		case "<":
			ok = c < 0
		case "~=":
			// ~=X.Y.Z: >=X.Y.Z, ==X.Y.*
			if len(w.Release) < 2 {
				return true
			}
			ok = c >= 0 && prefixMatch(v.Release, w.Release[:len(w.Release)-1])
		}
		if !ok {
			return false
		}
	}
	return true
}

var pepClause = regexp.MustCompile(`^(===|==|!=|~=|>=|<=|>|<)\s*(.+)$`)

func prefixMatch(release, prefix []int) bool {
	for i, p := range prefix {
		r := 0
		if i < len(release) {
			r = release[i]
		}
		if r != p {
			return false
		}
	}
	return true
}

// pepCompare orders two PEP 440 versions (epoch, release, pre, post, dev).
func pepCompare(a, b pydist.Version) int {
	if a.Epoch != b.Epoch {
		return cmpInt(a.Epoch, b.Epoch)
	}
	n := max(len(a.Release), len(b.Release))
	for i := 0; i < n; i++ {
		x, y := 0, 0
		if i < len(a.Release) {
			x = a.Release[i]
		}
		if i < len(b.Release) {
			y = b.Release[i]
		}
		if x != y {
			return cmpInt(x, y)
		}
	}
	// A dev release without pre/post sorts before every pre-release.
	rank := func(v pydist.Version) (int, int) {
		switch {
		case v.Pre == "" && v.Post < 0 && v.Dev >= 0:
			return -1, 0
		case v.Pre == "a":
			return 1, v.PreN
		case v.Pre == "b":
			return 2, v.PreN
		case v.Pre == "rc":
			return 3, v.PreN
		}
		return 4, 0
	}
	ra, na := rank(a)
	rb, nb := rank(b)
	if ra != rb {
		return cmpInt(ra, rb)
	}
	if na != nb {
		return cmpInt(na, nb)
	}
	if a.Post != b.Post {
		return cmpInt(a.Post, b.Post)
	}
	da, db := a.Dev, b.Dev
	if da < 0 {
		da = 1 << 30
	}
	if db < 0 {
		db = 1 << 30
	}
	return cmpInt(da, db)
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

// RewriteReq returns the requirement to write in place of req so that it
// accepts version, keeping the user's style:
//
//	Cargo  "0.1" → "1.0", "=0.1.0" → "=1.0.0", "~0.1" → "~1.0",
//	       ">=0.1, <0.2" → ">=1.0, <2.0"
//	npm    "^0.1.0" → "^1.0.0", "~0.1.0" → "~1.0.0", "0.1.0" → "1.0.0",
//	       ">=0.1.0 <0.2.0" → ">=1.0.0 <2.0.0"
//	Python "==0.1.0" → "==1.0.0", "~=0.1" → "~=1.0",
//	       ">=0.1,<0.2" → ">=1.0,<2.0", "==0.1.*" → "==1.0.*"
//
// Each version in the requirement keeps its number of parts; an upper bound
// moves to the next version a caret would refuse. A shape it cannot keep
// (a union, say) becomes the ecosystem's usual compatible requirement.
func RewriteReq(kind, req, version string) string {
	switch kind {
	case config.KindCrates:
		if out, ok := rewriteClauses(req, ",", version, cargoOps); ok && cargoAccepts(out, version) {
			return out
		}
		return trimParts(version, 3)
	case config.KindNPM:
		if !strings.Contains(req, "||") && !strings.Contains(req, " - ") {
			if out, ok := rewriteClauses(req, " ", version, npmOps); ok && npmAccepts(out, version) {
				return out
			}
		}
		return "^" + version
	case config.KindPyPI:
		if out, ok := rewriteClauses(req, ",", version, pepOps); ok && pep440Accepts(out, version) {
			return out
		}
		return ">=" + version
	}
	return version
}

var (
	cargoOps = []string{">=", "<=", "=", "^", "~", ">", "<", ""}
	npmOps   = []string{">=", "<=", "=", "^", "~", ">", "<", "v", ""}
	pepOps   = []string{"===", "==", "~=", ">=", "<=", "!=", ">", "<"}
)

// rewriteClauses rewrites each comparator of a requirement joined by sep.
func rewriteClauses(req, sep, version string, ops []string) (string, bool) {
	v, err := semver.NewVersion(version)
	if err != nil {
		if pv, perr := pydist.ParseVersion(version); perr == nil && len(pv.Release) > 0 {
			v, err = semver.NewVersion(fmt.Sprint(pv.Release[0]) + "." + fmt.Sprint(at(pv.Release, 1)) + "." + fmt.Sprint(at(pv.Release, 2)))
		}
		if err != nil {
			return "", false
		}
	}
	// Split keeping the separators as written (", " or "," or " ").
	var b strings.Builder
	rest := req
	for len(rest) > 0 {
		i := strings.Index(rest, sep)
		clause := rest
		if i >= 0 {
			clause = rest[:i]
		}
		lead := len(clause) - len(strings.TrimLeft(clause, " "))
		trail := len(clause) - len(strings.TrimRight(clause, " "))
		core := strings.TrimSpace(clause)
		if core != "" {
			out, ok := rewriteClause(core, v, version, ops)
			if !ok {
				return "", false
			}
			b.WriteString(clause[:lead] + out + clause[len(clause)-trail:])
		} else {
			b.WriteString(clause)
		}
		if i < 0 {
			break
		}
		b.WriteString(sep)
		rest = rest[i+len(sep):]
	}
	return b.String(), true
}

func rewriteClause(clause string, v *semver.Version, version string, ops []string) (string, bool) {
	op := ""
	for _, o := range ops {
		if strings.HasPrefix(clause, o) {
			op = o
			break
		}
	}
	if op == "" && (clause == "" || clause[0] < '0' || clause[0] > '9') {
		return "", false
	}
	num := strings.TrimSpace(clause[len(op):])
	wild := ""
	for _, w := range []string{".*", ".x", ".X"} {
		if strings.HasSuffix(num, w) {
			wild, num = w, strings.TrimSuffix(num, w)
		}
	}
	parts := len(strings.Split(num, "."))
	for _, p := range strings.Split(num, ".") {
		if _, err := strconv.Atoi(p); err != nil && !strings.ContainsAny(p, "-+") {
			return "", false
		}
	}
	switch op {
	case "<", "<=":
		// The upper bound: the next version a caret on the new one refuses.
		return op + trimParts(nextBreaking(v), parts) + wild, true
	case "!=":
		return clause, true // exclusions stay
	}
	if strings.Contains(version, "-") || strings.ContainsAny(num, "-+") {
		return op + version, true
	}
	return op + trimParts(version, parts) + wild, true
}

// nextBreaking is the first version a caret requirement on v refuses.
func nextBreaking(v *semver.Version) string {
	switch {
	case v.Major() > 0:
		return fmt.Sprintf("%d.0.0", v.Major()+1)
	case v.Minor() > 0:
		return fmt.Sprintf("0.%d.0", v.Minor()+1)
	}
	return fmt.Sprintf("0.0.%d", v.Patch()+1)
}

// trimParts keeps the first n dot-separated parts of a plain version
// (pre-release versions are kept whole).
func trimParts(version string, n int) string {
	if strings.ContainsAny(version, "-+") {
		return version
	}
	p := strings.Split(version, ".")
	if n > 0 && n < len(p) {
		p = p[:n]
	}
	return strings.Join(p, ".")
}

func at(s []int, i int) int {
	if i < len(s) {
		return s[i]
	}
	return 0
}
