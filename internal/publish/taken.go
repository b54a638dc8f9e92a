package publish

import (
	"context"
	"fmt"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/diag"
)

// CodeVersionTaken: a registry already holds the planned version, and no run
// of this tool released it from this commit.
const CodeVersionTaken = "PIOT_VERSION_TAKEN"

// ReleasedRefPrefix is where publish records, just before a version's first
// upload, which commit it releases (refs/putitoutthere/released/<tag>, an
// annotated object at HEAD, locally and on origin). A re-run that finds the
// version on the registry repairs its tag and GitHub Release only when this
// record names its HEAD: anything else published that version.
const ReleasedRefPrefix = "refs/putitoutthere/released/"

// releaseNote is the record's message.
func releaseNote(j Job, head string) string {
	return fmt.Sprintf("release %s %s\ncommit %s\n", j.Package.Name, j.Version(), head)
}

// recordedCommit reads the commit a release record names ("" when none).
func recordedCommit(note string) string {
	for _, l := range strings.Split(note, "\n") {
		if c, ok := strings.CutPrefix(strings.TrimSpace(l), "commit "); ok {
			return strings.TrimSpace(c)
		}
	}
	return ""
}

// recordRelease writes the release record before j's first upload.
func (r *flow) recordRelease(ctx context.Context, j Job) {
	rec, ok := r.o.Git.(StageRecorder)
	if !ok || r.head == "" {
		return
	}
	ref := ReleasedRefPrefix + j.Release.Tag
	if err := rec.RecordStage(context.WithoutCancel(ctx), r.o.Root, r.originRemote(ctx), ref, releaseNote(j, r.head)); err != nil {
		r.warn("%s: could not record the release at %s (%v); a re-run in another checkout will not know this run published %s", j.Package.Name, ref, err, j.Version())
	}
}

// releasedFrom returns the commit a release record names for j's tag: the
// local record first, then origin's.
func (r *flow) releasedFrom(ctx context.Context, rec StageRecorder, j Job) (string, error) {
	ref := ReleasedRefPrefix + j.Release.Tag
	note, found, err := rec.ReadStage(ctx, r.o.Root, "", ref)
	if err == nil && found {
		return recordedCommit(note), nil
	}
	if remote := r.originRemote(ctx); remote != "" {
		note, found, err = rec.ReadStage(ctx, r.o.Root, remote, ref)
		if err != nil {
			return "", err
		}
		if found {
			return recordedCommit(note), nil
		}
	}
	return "", nil
}

// Ancestry is implemented by Git implementations that can answer whether a
// commit is an ancestor of another (GitCLI).
type Ancestry interface {
	IsAncestor(ctx context.Context, dir, ancestor, of string) (bool, error)
}

func (r *flow) isAncestor(ctx context.Context, a, b string) bool {
	an, ok := r.o.Git.(Ancestry)
	if !ok {
		return false
	}
	yes, err := an.IsAncestor(ctx, r.o.Root, a, b)
	return err == nil && yes
}

// IsAncestor implements Ancestry.
func (g *GitCLI) IsAncestor(ctx context.Context, dir, ancestor, of string) (bool, error) {
	_, err := g.git(ctx, dir, "merge-base", "--is-ancestor", ancestor, of)
	if err == nil {
		return true, nil
	}
	if exitCode(err) == 1 {
		return false, nil
	}
	return false, err
}

// checkVersionsTaken stops the run before the first upload when a registry
// already holds a planned version that no run of this tool released from
// this commit (SPEC §3 "Adoption"): tagging HEAD with it would claim
// another commit's release. A version this tool released from this commit
// is the re-run repair of SPEC §4 and passes.
func (r *flow) checkVersionsTaken(ctx context.Context) error {
	rec, ok := r.o.Git.(StageRecorder)
	if !ok {
		return nil // fakes without records keep the plain repair
	}
	head := r.head
	var lines []string
	for _, j := range r.jobs {
		if !r.published[j.Package.Name] {
			continue
		}
		if head == "" {
			var err error
			if head, err = r.o.Git.HeadCommit(ctx, r.o.Root); err != nil {
				return diag.New(CodeVersionTaken, "reading HEAD").Wrap(err)
			}
		}
		from, err := r.releasedFrom(ctx, rec, j)
		if err != nil {
			r.warn("%s: reading the release record of %s: %v", j.Package.Name, j.Release.Tag, err)
		}
		if from == head {
			continue
		}
		if from != "" && (r.isAncestor(ctx, from, head) || r.isAncestor(ctx, head, from)) {
			// Released by this tool from a commit of this line (a run for
			// an earlier or a later push of the same plan): the same
			// release; its tag belongs on that commit, never on this HEAD.
			if r.releasedAt == nil {
				r.releasedAt = map[string]string{}
			}
			r.releasedAt[j.Package.Name] = from
			continue
		}
		h := r.o.Handlers[j.Package.Kind]
		where := fmt.Sprintf("%s %s is already on %s (%s)", j.Name(), j.Version(), h.Registry(), h.URL(j.Name(), j.Version()))
		switch {
		case from != "":
			where += fmt.Sprintf(", released by this tool from commit %s, not this run's %s", short(from), short(head))
		default:
			where += ", published by something other than a run of this tool at this commit"
		}
		lines = append(lines, "  "+j.Package.Name+": "+where)
	}
	if len(lines) == 0 {
		return nil
	}
	return diag.New(CodeVersionTaken, "the plan's version is already published from another commit; nothing was published\n%s", strings.Join(lines, "\n")).
		WithHint("registries never take a version twice: tag the commit that released it (e.g. `git tag <tag> <commit> && git push origin <tag>`) so the plan continues after it, or set the next version in the manifest; then re-run")
}
