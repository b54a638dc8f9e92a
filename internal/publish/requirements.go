package publish

import (
	"context"
	"fmt"
	"path/filepath"

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
