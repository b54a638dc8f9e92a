package publish

import (
	"context"

	"github.com/putitoutthere/putitoutthere/internal/artifacts"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/rules"
)

// CodeRegistryRule: an artifact breaks a rule its registry enforces at
// upload (docs/registry-rules.md).
const CodeRegistryRule = "PIOT_REGISTRY_RULE"

// crateLookup is implemented by the crates.io handler: whether a crate
// exists, for dependencies outside the run.
type crateLookup interface {
	CrateExists(ctx context.Context, name string) (bool, error)
}

// projectLookup is implemented by the PyPI handler.
type projectLookup interface {
	ProjectExists(ctx context.Context, name string) (bool, error)
}

// checkRegistryRules applies every registry's upload rules to the files
// that will be uploaded, for every package of the plan, so a refusal of the
// last package is found before the first one ships.
func (r *flow) checkRegistryRules(ctx context.Context) error {
	if r.o.DryRun && !r.haveArtifacts {
		return nil
	}
	planned := map[string]string{}
	for _, j := range r.jobs {
		if j.Package.Kind == config.KindCrates {
			planned[j.Name()] = j.Version()
		}
	}
	var exists func(string) (bool, error)
	if cl, ok := r.o.Handlers[config.KindCrates].(crateLookup); ok {
		cache := map[string]bool{}
		exists = func(name string) (bool, error) {
			if v, ok := cache[name]; ok {
				return v, nil
			}
			v, err := cl.CrateExists(ctx, name)
			if err == nil {
				cache[name] = v
			}
			return v, err
		}
	}
	var problems []string
	pl, _ := r.o.Handlers[config.KindPyPI].(projectLookup)
	for _, j := range r.jobs {
		if r.published[j.Package.Name] {
			continue
		}
		// A project PyPI does not have yet is created by the first upload
		// (or the pending publisher's exchange): PyPI's name rules apply.
		if j.Package.Kind == config.KindPyPI && pl != nil {
			if ok, err := pl.ProjectExists(ctx, j.Name()); err == nil && !ok {
				for _, v := range rules.PyPIProjectName(j.Name(), nil) {
					problems = append(problems, j.Package.Name+": new project "+j.Name()+": "+v.String())
				}
			}
		}
		w := artifacts.Want{Package: j.Package.Name, Kind: j.Package.Kind, Name: j.Name(), Version: j.Version(), Crates: planned, CrateExists: exists,
			VersionWritten: true, Access: j.Package.Access}
		for _, pr := range artifacts.CheckRules(r.o.Root, j.Rows, w) {
			problems = append(problems, j.Package.Name+": "+pr)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	if r.o.DryRun {
		r.problems = append(r.problems, problems...)
		return nil
	}
	e := diag.New(CodeRegistryRule, "%d artifact problem(s) the registries would refuse at upload; nothing was published", len(problems))
	e.Details = problems
	return e.WithHint("fix each rule named above (docs/registry-rules.md lists them with their sources), rebuild the artifacts and run publish again")
}
