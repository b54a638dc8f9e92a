package cli

import (
	"fmt"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/plan"
)

// cascadeGraph is the plan as a Mermaid flowchart GitHub renders in a step
// summary: every package in the plan, an arrow from each dependency to the
// package that depends on it (depends_on), packages whose own files changed
// (or that a trailer named, or first releases) drawn as "changed", and
// packages that are in the plan only because a dependency changed drawn as
// "follows". `plan --graph` prints the same text.
func cascadeGraph(cfg *config.Config, p *plan.Plan) string {
	var b strings.Builder
	b.WriteString("graph LR\n")
	if len(p.Releases) == 0 {
		b.WriteString("  empty[\"nothing to release\"]\n")
		return b.String()
	}
	id := map[string]string{}
	for i, r := range p.Releases {
		id[r.Name] = fmt.Sprintf("p%d", i)
	}
	for _, r := range p.Releases {
		class := "changed"
		if followsOnly(r) {
			class = "follows"
		}
		var label string
		if r.LastVersion != "" {
			label = r.Name + "<br/>" + r.LastVersion + " → " + r.Version
		} else {
			label = r.Name + "<br/>" + r.Version + " (first)"
		}
		fmt.Fprintf(&b, "  %s[\"%s\"]:::%s\n", id[r.Name], mermaidText(label), class)
	}
	for _, r := range p.Releases {
		pkg := cfg.Package(r.Name)
		if pkg == nil {
			continue
		}
		for _, d := range pkg.DependsOn {
			if did, ok := id[d]; ok {
				fmt.Fprintf(&b, "  %s --> %s\n", did, id[r.Name])
			}
		}
	}
	b.WriteString("  classDef changed fill:#dafbe1,stroke:#1a7f37\n")
	b.WriteString("  classDef follows fill:#ddf4ff,stroke:#0969da,stroke-dasharray:4\n")
	return b.String()
}

// followsOnly: the package is in the plan only through depends_on (the
// plan's reason names a dependency and nothing else).
func followsOnly(r plan.Release) bool {
	return strings.HasPrefix(r.Reason, "dependency ")
}

// mermaidText escapes a node label (Mermaid reads `"` as the label's end).
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<br/>", "<br/>", "<", "#lt;", ">", "#gt;").Replace(s)
}
