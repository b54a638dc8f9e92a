package publish

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/plan"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/secret"
	"github.com/putitoutthere/putitoutthere/internal/siblings"
)

// checkRequirements works out which sibling requirements the run's versions
// make stale (a dependent requiring core "0.1" while core goes to 1.0.0),
// gives each job its own, and tries every rewrite without writing, so a
// requirement publish cannot rewrite stops the run before the first upload.
// The plan already released every such dependent, with the requirement as
// its reason.
func (r *flow) checkRequirements(ctx context.Context) error {
	versions := map[string]string{}
	for _, j := range r.jobs {
		versions[j.Package.Name] = j.Version()
	}
	// Manifests that do not parse are the manifest check's to report.
	edits, _ := siblings.Compute(r.o.Root, r.o.Config, versions)
	for i, j := range r.jobs {
		r.jobs[i].Requirements = nil
		for _, e := range edits {
			if e.Package == j.Package.Name {
				r.jobs[i].Requirements = append(r.jobs[i].Requirements, e)
			}
		}
	}
	r.orderByRequirements(edits)
	var pending []siblings.Edit
	for _, j := range r.jobs {
		if !r.published[j.Package.Name] {
			pending = append(pending, j.Requirements...)
		}
	}
	bad := siblings.Check(r.o.Root, pending)
	if len(bad) == 0 {
		return nil
	}
	if r.o.DryRun {
		for _, b := range bad {
			r.warn("cannot rewrite a sibling requirement: %s", secret.Redact(b))
		}
		return nil
	}
	e := diag.New(CodeManifestWrite, "%d sibling requirement(s) cannot be rewritten in place; nothing was published", len(bad))
	e.Details = bad
	return e.WithHint("write each requirement named above as a plain string (version = \"…\"), then re-run")
}

// writeRequirements rewrites j's stale sibling requirements in the
// repository before its upload (cargo publishes from there; a requirement
// inherited from [workspace.dependencies] is written in the workspace root).
func (r *flow) writeRequirements(j Job, res *Result) error {
	if len(j.Requirements) == 0 || r.o.SetVersion == nil {
		return nil
	}
	if err := siblings.Apply(r.o.Root, j.Requirements); err != nil {
		return err
	}
	for _, e := range j.Requirements {
		note := fmt.Sprintf("requirement on %s in %s [%s] rewritten: %q → %q", e.Sibling, filepath.ToSlash(e.File), e.Section, e.Old, e.New)
		res.Notes = append(res.Notes, note)
		r.logf("%s: %s", j.Package.Name, note)
	}
	return nil
}

// orderByRequirements puts every dependent after the siblings its rewritten
// requirements name, as if it declared depends_on on them: cargo cannot
// publish a crate requiring core 1.0 before core 1.0 is on crates.io, and
// npm and pip installs in between would fail. Dev-dependencies do not
// order (they often form cycles); an order that would cycle is left as
// depends_on made it.
func (r *flow) orderByRequirements(edits []siblings.Edit) {
	extra := map[string][]string{}
	for _, e := range edits {
		if strings.Contains(e.Section, "dev-dependencies") || strings.Contains(e.Section, "dev_dependencies") {
			continue
		}
		extra[e.Package] = append(extra[e.Package], e.Sibling)
	}
	if len(extra) == 0 {
		return
	}
	cfg := *r.o.Config
	cfg.Packages = append([]config.Package(nil), cfg.Packages...)
	for i := range cfg.Packages {
		if add := extra[cfg.Packages[i].Name]; len(add) > 0 {
			cfg.Packages[i].DependsOn = append(append([]string(nil), cfg.Packages[i].DependsOn...), add...)
		}
	}
	rels := make([]plan.Release, len(r.jobs))
	for i, j := range r.jobs {
		rels[i] = plan.Release{Name: j.Package.Name}
	}
	order, err := TopoOrder(&cfg, rels)
	if err != nil {
		return
	}
	at := map[string]int{}
	for i, j := range r.jobs {
		at[j.Package.Name] = i
	}
	jobs := make([]Job, 0, len(r.jobs))
	res := make([]Result, 0, len(r.rep.Packages))
	for _, o := range order {
		i := at[o.Name]
		jobs = append(jobs, r.jobs[i])
		res = append(res, r.rep.Packages[i])
	}
	r.jobs, r.rep.Packages = jobs, res
}
