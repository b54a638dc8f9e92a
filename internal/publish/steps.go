package publish

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/putitoutthere/putitoutthere/internal/artifacts"
	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/plan"
)

// A step is one named stage of the publish flow. Steps run in order; the
// first error ends the run. Every step before "lock" is a check that changes
// nothing, so a problem any of them finds stops the run before the first
// upload (SPEC §4 "All-or-nothing before the first upload").
type step struct {
	name string
	run  func(ctx context.Context) error
}

// errDone ends the flow early with success (nothing to release, or a
// preflight check that passed).
var errDone = errors.New("done")

// steps is the publish flow, in order. A new check belongs here, as its own
// named step, before "lock".
func (r *flow) steps() []step {
	return []step{
		{"paths", r.checkPaths},
		{"plan", r.replan},
		{"run versions", r.setRunVersions},
		{"tag names", r.checkTagNames},
		{"auth", r.checkAuth},
		{"runner", r.checkRunner},
		{"artifacts", r.checkArtifacts},
		{"registry state", r.readRegistryState},
		{"versions taken", r.checkVersionsTaken},
		{"dirty tree", r.checkDirty},
		{"first publish", r.firstPublishAndLimits},
		{"packaging", r.checkPackaging},
		{"registry rules", r.checkRegistryRules},
		{"manifests", r.checkManifests},
		{"crate names", r.checkCrateNames},
		{"requirements", r.checkRequirements},
		{"tools", r.checkTools},
		{"contents", r.checkContents},
		{"token liveness", r.checkTokens},
		{"trust exchange", r.authorizeAll},
		{"staged publishing", r.checkStaging},
		{"preflight", r.endPreflight},
		{"lock", r.lock},
		{"attestations", r.attestAll},
		{"publish", r.publishAll},
		{"await approvals", r.awaitApprovals},
		{"stage records", r.dropStageRecords},
		{"releases", r.repairAfterPublish},
		{"stale locks", r.clearStaleLocks},
		{"dry run report", r.reportDryRun},
	}
}

// authSteps are the steps an AuthOnly run takes (preflight, doctor).
var authSteps = map[string]bool{"paths": true, "plan": true, "run versions": true, "tag names": true, "auth": true, "runner": true,
	"registry state": true, "first publish": true, "token liveness": true, "trust exchange": true, "staged publishing": true, "preflight": true}

// do runs the steps. Locks taken by "lock" are released whatever happens.
func (r *flow) do(ctx context.Context) error {
	defer r.unlockAll(context.WithoutCancel(ctx))
	if r.o.AuthOnly {
		r.o.PreflightOnly = true
	}
	for _, s := range r.steps() {
		if r.o.AuthOnly && !authSteps[s.name] {
			continue
		}
		if err := s.run(ctx); err != nil {
			if errors.Is(err, errDone) {
				return nil
			}
			return err
		}
	}
	return nil
}

// checkPaths: a package path that leaves the repository through a symlink
// would make cargo or npm publish files from elsewhere.
func (r *flow) checkPaths(ctx context.Context) error {
	return config.CheckPathsInRepo(r.o.Config, r.o.Root)
}

// replan works out the release again from the repository (the build job's
// plan is not trusted) and turns it into jobs in dependency order.
func (r *flow) replan(ctx context.Context) error {
	cfg := r.o.Config
	p, err := r.o.Plan(ctx, r.o.Root, cfg)
	if err != nil {
		return err
	}
	r.plan = p
	if len(p.Releases) == 0 {
		r.rep.Outcome = "nothing-to-release"
		if err := r.repairReleases(ctx, nil); err != nil {
			return err
		}
		if err := r.clearStaleLocks(ctx); err != nil {
			return err
		}
		return errDone
	}
	order, err := TopoOrder(cfg, p.Releases)
	if err != nil {
		return err
	}
	for _, rel := range order {
		pkg := cfg.Package(rel.Name)
		if pkg == nil {
			return diag.New(diag.CodeInternal, "the plan names %q, which is not in %s", rel.Name, cfg.File)
		}
		var rows []plan.Row
		for _, row := range p.Rows {
			if row.Name == rel.Name {
				rows = append(rows, row)
			}
		}
		j := Job{Package: pkg, Release: rel, Rows: rows, Root: r.o.Root, Auth: auth.Resolve(pkg.Kind, r.o.Env), Env: r.o.Env, DryRun: r.o.DryRun}
		if rel.Tag == "" {
			j.Release.Tag = pkg.TagFor(rel.Version)
		}
		h := r.o.Handlers[pkg.Kind]
		res := Result{Name: pkg.Name, Kind: pkg.Kind, Version: rel.Version, Tag: j.Release.Tag, Status: StatusNotAttempted, Auth: j.Auth.String()}
		if h != nil {
			res.Registry, res.URL = h.Registry(), h.URL(j.Name(), rel.Version)
		}
		r.jobs = append(r.jobs, j)
		r.rep.Packages = append(r.rep.Packages, res)
	}
	return nil
}

// checkTagNames: tag names reach git as arguments, and a tag git refuses
// after an upload could never be made.
func (r *flow) checkTagNames(ctx context.Context) error {
	var bad []string
	for _, j := range r.jobs {
		if err := CheckTagName(j.Release.Tag); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", j.Package.Name, err))
		}
		if r.o.Handlers[j.Package.Kind] == nil {
			return diag.New(CodeNoHandler, "no publisher for kind %q (package %s)", j.Package.Kind, j.Package.Name)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	e := diag.Usage(CodeTagInvalid, "tag_format produces tag names git refuses")
	e.Details = bad
	return e.WithHint("fix tag_format in %s: use only {name}, {version} and characters valid in a git ref (no spaces, ~ ^ : ? * [ \\, no ..)", r.o.Config.File)
}

// checkAuth: every package has a way to authenticate, before any side effect.
func (r *flow) checkAuth(ctx context.Context) error {
	if r.o.AuthOnly {
		// Leave out what cannot authenticate here; the caller says why.
		var jobs []Job
		var res []Result
		for i, j := range r.jobs {
			if j.Auth.Method != auth.MethodMissing {
				jobs, res = append(jobs, j), append(res, r.rep.Packages[i])
			}
		}
		r.jobs, r.rep.Packages = jobs, res
		return nil
	}
	var missing []string
	for _, j := range r.jobs {
		if j.Auth.Method == auth.MethodMissing {
			missing = append(missing, fmt.Sprintf("%s (%s): needs %s", j.Package.Name, j.Package.Kind, j.Auth.Needs))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if r.o.DryRun {
		for _, m := range missing {
			r.warn("no credentials for %s (a real publish would stop here)", m)
		}
		return nil
	}
	e := diag.New(CodeAuthMissing, "no way to authenticate %d package(s); nothing was published", len(missing))
	e.Details = missing
	return e.WithHint("%s", r.missingAuthHint())
}

// checkArtifacts: every matrix row's artifact folder is there and holds the
// expected files (a dry run checks them only when artifacts/ exists).
func (r *flow) checkArtifacts(ctx context.Context) error {
	r.haveArtifacts = dirExists(filepath.Join(r.o.Root, artifacts.Dir))
	if r.o.DryRun && !r.haveArtifacts {
		return nil
	}
	gaps := artifacts.Check(r.o.Root, r.plan.Rows)
	if len(gaps) == 0 {
		return nil
	}
	lines := make([]string, len(gaps))
	for i, g := range gaps {
		lines[i] = g.String()
	}
	if r.o.DryRun {
		r.problems = append(r.problems, lines...)
		return nil
	}
	e := diag.New(CodeArtifactsMissing, "%d artifact(s) missing or unusable; nothing was published", len(gaps))
	e.Details = lines
	return e.WithHint("the build job must upload each matrix row's files as artifact `{artifact_name}` and the publish job must download them into %s/ (actions/download-artifact with path: %s)", artifacts.Dir, artifacts.Dir)
}

// readRegistryState asks every registry whether each planned version is
// already there.
func (r *flow) readRegistryState(ctx context.Context) error {
	published, err := r.registryState(ctx)
	if err != nil {
		return err
	}
	r.published = published
	return nil
}

// checkPackaging reads the artifacts that will be uploaded: names, versions
// and the registries' content rules.
func (r *flow) checkPackaging(ctx context.Context) error {
	if r.o.DryRun && !r.haveArtifacts {
		return nil
	}
	plannedCrates, plannedPy, plannedNPM := map[string]string{}, map[string]string{}, map[string]string{}
	for _, j := range r.jobs {
		switch j.Package.Kind {
		case config.KindCrates:
			plannedCrates[j.Name()] = j.Version()
		case config.KindPyPI:
			plannedPy[manifest.NormalizePyName(j.Name())] = j.Version()
		case config.KindNPM:
			plannedNPM[j.Name()] = j.Version()
		}
	}
	var problems []string
	for _, j := range r.jobs {
		if r.published[j.Package.Name] {
			continue
		}
		w := artifacts.Want{Package: j.Package.Name, Kind: j.Package.Kind, Name: j.Name(), Version: j.Version(), VersionWritten: true, Crates: plannedCrates, Python: plannedPy, NPM: plannedNPM}
		if r.provenance(ctx, j) {
			w.Repository = r.o.Env.Value("GITHUB_REPOSITORY")
		}
		for _, pr := range artifacts.CheckPackaging(r.o.Root, j.Rows, w) {
			problems = append(problems, j.Package.Name+": "+pr)
		}
	}
	if r.o.DryRun {
		r.problems = append(r.problems, problems...)
		return nil
	}
	// Problems an earlier step collected (none outside a dry run) come first.
	problems = append(r.problems, problems...)
	if len(problems) == 0 {
		return nil
	}
	e := diag.New(CodePackagingMismatch, "the artifacts do not match the plan; nothing was published")
	e.Details = problems
	return e.WithHint("rebuild the artifacts at the planned version (the build job reads `version` from its matrix row) and fix the manifest fields named above")
}

// endPreflight ends a `--preflight-check` run: every check has passed.
func (r *flow) endPreflight(ctx context.Context) error {
	if !r.o.PreflightOnly {
		return nil
	}
	for i, j := range r.jobs {
		if r.published[j.Package.Name] {
			r.rep.Packages[i].Status = StatusAlreadyPublished
		} else if s := r.rep.Packages[i].Status; s == StatusStaged || s == StatusRejected {
			continue // staged by an earlier run: not uploaded again
		} else {
			r.rep.Packages[i].Status = StatusReady
		}
	}
	r.logf("preflight check passed for %d package(s); nothing was published", len(r.jobs))
	return errDone
}

// lock takes each version's release lock on origin, so two runs of the same
// plan do not both upload, then reads the registries again: another run may
// have published (and released its lock) since the first look.
func (r *flow) lock(ctx context.Context) error {
	if r.o.DryRun {
		return nil
	}
	var err error
	if r.head, err = r.o.Git.HeadCommit(ctx, r.o.Root); err != nil {
		return diag.New(CodeTagFailed, "reading HEAD").Wrap(err)
	}
	if err := r.lockAll(ctx, r.published); err != nil {
		return err
	}
	if len(r.locks) > 0 {
		if err := r.readRegistryState(ctx); err != nil {
			return err
		}
		// Another run may have published since the first look: from its
		// own commit, that version is taken for this one.
		return r.checkVersionsTaken(ctx)
	}
	return nil
}

// publishAll ships each package in dependency order; the first failure stops
// the run. A dry run runs each ecosystem's own dry run instead.
func (r *flow) publishAll(ctx context.Context) error {
	for i, j := range r.jobs {
		res := &r.rep.Packages[i]
		if r.o.DryRun {
			r.dryRun(ctx, j, res, r.published[j.Package.Name], &r.problems)
			continue
		}
		if err := r.publishOne(ctx, j, res, r.published[j.Package.Name]); err != nil {
			return r.stopped(j, err)
		}
	}
	return nil
}

// repairAfterPublish creates GitHub Releases an earlier run left missing.
func (r *flow) repairAfterPublish(ctx context.Context) error {
	if r.o.DryRun {
		return nil
	}
	planned := map[string]bool{}
	for _, j := range r.jobs {
		planned[j.Package.Name] = true
	}
	return r.repairReleases(ctx, planned)
}

// reportDryRun lists every problem a dry run found.
func (r *flow) reportDryRun(ctx context.Context) error {
	if !r.o.DryRun {
		return nil
	}
	r.rep.Problems = r.problems
	if len(r.problems) == 0 {
		return nil
	}
	e := diag.New(CodeDryRunProblems, "the dry run found %d problem(s)", len(r.problems))
	e.Details = r.problems
	return e.WithHint("fix every problem listed; a real publish would stop before its first upload")
}
