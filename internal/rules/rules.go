// Package rules holds what PyPI, crates.io and npm refuse at upload, as data
// tables: each rule has a stable id, the registry's HTTP status and exact
// text, the source file it was read from, and how far it can be checked
// without the registry. The same checks serve three users: publish's
// pre-upload packaging check (so a refusal is found before the first upload
// of a run), the emulators' upload handlers (so a rehearsal is refused as the
// registry would refuse), and docs/registry-rules.md (generated from the
// tables).
package rules

import (
	"fmt"
	"sort"
	"strings"
)

// Registries as the tables name them.
const (
	PyPI   = "PyPI"
	Crates = "crates.io"
	NPM    = "npm"
)

// Coverage says how far a rule is reproduced without the registry.
type Coverage string

const (
	// Full: checked exactly as the registry checks it.
	Full Coverage = "full"
	// Partial: checked as far as local data allows; Limit says what is not.
	Partial Coverage = "partial"
)

// Rule is one refusal a registry gives at upload.
type Rule struct {
	ID       string // stable, e.g. "pypi/local-version"
	Registry string
	Status   int    // HTTP status of the refusal
	Text     string // the registry's text, with {placeholders} for the variable parts
	Source   string // repository and file the rule was read from
	Coverage Coverage
	Limit    string // for Partial: what cannot be checked offline
	Fix      string // what the maintainer does about it
}

// Violation is one rule broken by one artifact.
type Violation struct {
	Rule    *Rule
	Message string // the registry's exact text for this case
}

// String is how publish and doctor print a violation: the rule, the
// registry's own words, and the fix.
func (v Violation) String() string {
	return fmt.Sprintf("%s would refuse it (rule %s, HTTP %d): %s; fix: %s", v.Rule.Registry, v.Rule.ID, v.Rule.Status, v.Message, v.Rule.Fix)
}

// Error lets a violation travel as an error.
func (v Violation) Error() string { return v.String() }

var byID = map[string]*Rule{}

func register(table []*Rule) []*Rule {
	for _, r := range table {
		if _, dup := byID[r.ID]; dup {
			panic("rules: duplicate id " + r.ID)
		}
		byID[r.ID] = r
	}
	return table
}

// Get returns the rule with id (nil when unknown).
func Get(id string) *Rule { return byID[id] }

// All returns every rule, by registry then id.
func All() []*Rule {
	out := make([]*Rule, 0, len(byID))
	for _, r := range byID {
		out = append(out, r)
	}
	order := map[string]int{PyPI: 0, Crates: 1, NPM: 2}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Registry != out[j].Registry {
			return order[out[i].Registry] < order[out[j].Registry]
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// violate builds a violation of rule id, filling its text's placeholders
// from kv (name, value pairs).
func violate(id string, kv ...string) Violation {
	r := byID[id]
	if r == nil {
		panic("rules: unknown rule " + id)
	}
	return Violation{Rule: r, Message: fill(r.Text, kv...)}
}

func fill(text string, kv ...string) string {
	for i := 0; i+1 < len(kv); i += 2 {
		text = strings.ReplaceAll(text, "{"+kv[i]+"}", kv[i+1])
	}
	return text
}

// FindByText returns the rule whose text matches a registry's answer, so a
// refusal met at upload is explained with its rule and fix. nil when none.
func FindByText(registry, answer string) *Rule {
	var best *Rule
	bestLen := 0
	for _, r := range All() {
		if r.Registry != registry {
			continue
		}
		// The longest literal run of the template that occurs in the
		// answer decides; short runs are too ambiguous.
		for _, lit := range literals(r.Text) {
			if len(lit) >= 16 && len(lit) > bestLen && strings.Contains(answer, lit) {
				best, bestLen = r, len(lit)
			}
		}
	}
	return best
}

func literals(text string) []string {
	var out []string
	for {
		i := strings.IndexByte(text, '{')
		if i < 0 {
			out = append(out, text)
			return out
		}
		out = append(out, text[:i])
		j := strings.IndexByte(text[i:], '}')
		if j < 0 {
			return out
		}
		text = text[i+j+1:]
	}
}

// pyRepr is Python's repr() of a str, as the registries written in Python
// quote values in their messages.
func pyRepr(s string) string {
	q := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = `"`
	}
	var b strings.Builder
	b.WriteString(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case string(r) == q:
			b.WriteString(`\` + q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(q)
	return b.String()
}

// pyList is repr() of a list of str.
func pyList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = pyRepr(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
