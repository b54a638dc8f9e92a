package publish

import (
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/plan"
)

// TopoOrder sorts the planned releases so every package comes after the
// packages it depends_on (dependencies outside the plan are already
// released). Ties keep config order, so the order is deterministic.
func TopoOrder(cfg *config.Config, rels []plan.Release) ([]plan.Release, error) {
	idx := map[string]int{}
	for i, p := range cfg.Packages {
		idx[p.Name] = i
	}
	in := map[string]plan.Release{}
	for _, r := range rels {
		in[r.Name] = r
	}
	// Visit in config order; depth-first on dependencies.
	names := make([]string, 0, len(rels))
	for _, p := range cfg.Packages {
		if _, ok := in[p.Name]; ok {
			names = append(names, p.Name)
		}
	}
	for _, r := range rels { // names the config does not know (defensive)
		if _, ok := idx[r.Name]; !ok {
			names = append(names, r.Name)
		}
	}
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var out []plan.Release
	var visit func(n string, path []string) error
	visit = func(n string, path []string) error {
		switch state[n] {
		case done:
			return nil
		case visiting:
			return diag.Usage(CodeCycle, "depends_on cycle: %s", strings.Join(append(path, n), " -> "))
		}
		state[n] = visiting
		if p := cfg.Package(n); p != nil {
			for _, d := range p.DependsOn {
				if _, planned := in[d]; !planned {
					continue
				}
				if err := visit(d, append(path, n)); err != nil {
					return err
				}
			}
		}
		state[n] = done
		out = append(out, in[n])
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CheckTagName is config.CheckTagName: git's ref-name rules and the
// filesystem's limits, checked before any side effect.
func CheckTagName(tag string) error { return config.CheckTagName(tag) }
