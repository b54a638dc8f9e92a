package publish

import (
	"context"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// setRunVersions gives every job the versions of the whole run, so a
// dependent's `workspace:` range or sibling requirement names the version
// its sibling ships in this run, not the one in the repository.
func (r *flow) setRunVersions(ctx context.Context) error {
	all := map[string]map[string]string{}
	for _, j := range r.jobs {
		if all[j.Package.Kind] == nil {
			all[j.Package.Kind] = map[string]string{}
		}
		all[j.Package.Kind][j.Name()] = j.Version()
	}
	for i := range r.jobs {
		r.jobs[i].RunVersions = all
	}
	return nil
}

// checkContents asks every handler that can look at what it will upload
// (Checker) before the first upload: a `workspace:` range npm cannot
// install, a package.json `main` the packed package lacks. Any problem stops
// a real run; a dry run lists them with the others.
func (r *flow) checkContents(ctx context.Context) error {
	published := r.published
	var found []string
	for _, j := range r.jobs {
		if published[j.Package.Name] {
			continue
		}
		c, ok := r.o.Handlers[j.Package.Kind].(Checker)
		if !ok {
			continue
		}
		for _, p := range c.Check(ctx, j) {
			found = append(found, j.Package.Name+": "+secret.Redact(p))
		}
	}
	if len(found) == 0 {
		return nil
	}
	if r.o.DryRun {
		r.problems = append(r.problems, found...)
		return nil
	}
	e := diag.New(CodePackagingMismatch, "what would be uploaded is not installable as it is; nothing was published")
	e.Details = found
	return e.WithHint("build the files the manifest points at before publish (the build job's build step), and point every `workspace:` range at a package of this repository")
}
