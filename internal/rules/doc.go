package rules

import (
	"fmt"
	"strings"
)

// Doc renders docs/registry-rules.md from the tables.
func Doc() string {
	var b strings.Builder
	b.WriteString(`# Registry rules

<!-- Generated from internal/rules; do not edit. Regenerate with
     UPDATE_RULES_DOC=1 go test ./internal/rules -run TestRegistryRulesDoc -->

What PyPI, crates.io and npm refuse at upload, as the tool knows it. Every rule
is read from the registry's own source (named per rule) and checked in three
places:

- **before the first upload**: ` + "`publish`" + ` (and ` + "`publish --dry-run`" + `, ` + "`doctor --artifacts`" + `)
  reads every artifact of the plan and stops with the rule's id, the registry's
  own words and the fix, before anything ships;
- **in the emulators** (` + "`rehearse`" + `, tests): the upload handlers refuse with the
  same status and text the registry gives;
- **here**, generated from the same table.

A rule marked *partial* cannot be reproduced completely without the registry;
its row says what is and is not checked. When a registry still refuses an
upload, the refusal is matched against these texts and explained with the rule
and its fix.

`)
	for _, reg := range []string{PyPI, Crates, NPM} {
		fmt.Fprintf(&b, "## %s\n\n| rule | status | the registry says | checked | fix | source |\n|---|---|---|---|---|---|\n", reg)
		for _, r := range All() {
			if r.Registry != reg {
				continue
			}
			status := fmt.Sprint(r.Status)
			if r.Status == 0 {
				status = "(client)"
			}
			cov := "fully"
			if r.Coverage == Partial {
				cov = "partially: " + r.Limit
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", r.ID, status, cell(codeSpan(r.Text)), cell(cov), cell(r.Fix), cell(r.Source))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Data\n\nEmbedded in `internal/rules/data/`, refreshed by `scripts/refresh-registry-rules.py` from the registries' sources:\n\n| file | source |\n|---|---|\n")
	for _, f := range DataFiles() {
		fmt.Fprintf(&b, "| `%s` | %s |\n", f, cell(DataSource(f)))
	}
	b.WriteString("| SPDX license list | `github.com/github/go-spdx/v2` (go.mod); refresh with `go get github.com/github/go-spdx/v2@latest` |\n")
	return b.String()
}

// codeSpan quotes a registry text; one with backticks of its own is
// quoted with a longer fence.
func codeSpan(s string) string {
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", "<br>")
	return s
}
