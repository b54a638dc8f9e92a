package publish

// Staged releases (npm staged publishing). A staged version waits for a
// maintainer's approval: that is a state of the release, not a failure. Its
// tag and GitHub Release are made only once the version is live — by this
// run with --wait, or by a later publish, which finds the version live and
// completes them like any tag repair. The stage is recorded on origin
// (refs/putitoutthere/staged/<tag>) so a later run never stages twice,
// can name the stage id, and can tell a rejection from a pending approval.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Codes of staged releases.
const (
	CodeStageCheck    = "PIOT_STAGE_CHECK_FAILED"
	CodeStageRejected = "PIOT_NPM_STAGE_REJECTED"
)

// StageRefPrefix is where a staged release is recorded on origin.
const StageRefPrefix = "refs/putitoutthere/staged/"

// DefaultPollEvery is how often --wait asks whether staged versions are live.
var DefaultPollEvery = 30 * time.Second

// StageRecorder is implemented by Git implementations that can record a
// stage on the remote (GitCLI). Fakes without it still stage; a re-run then
// learns from the registry that the version is taken.
type StageRecorder interface {
	// RecordStage points ref (on remote, and locally) at an object holding note.
	RecordStage(ctx context.Context, dir, remote, ref, note string) error
	// ReadStage returns the note at ref on remote (or locally when remote is "").
	ReadStage(ctx context.Context, dir, remote, ref string) (note string, found bool, err error)
	// DeleteStage removes ref locally and (when remote is set) on remote.
	DeleteStage(ctx context.Context, dir, remote, ref string) error
}

type stageState struct {
	mode    map[string]bool           // package → staged this run
	why     map[string]string         // package → why it is staged
	earlier map[string][]StagedUpload // package → recorded by an earlier run, not live
	partial map[string][]StagedUpload // package → an earlier run staged only part of it
	commit  map[string]string         // package → the commit its live, staged version was built from
}

// stageNote is the record's message; incomplete marks a family whose
// staging stopped partway (a re-run stages the rest).
func stageNote(ups []StagedUpload, incomplete bool, commit string) string {
	var b strings.Builder
	if commit != "" {
		b.WriteString("commit " + commit + "\n")
	}
	if incomplete {
		b.WriteString("incomplete\n")
	}
	for _, u := range ups {
		id := u.ID
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(&b, "stage %s %s %s\n", u.Name, u.Version, id)
	}
	return b.String()
}

func parseStageNote(note string) []StagedUpload {
	ups, _ := parseStageRecord(note)
	return ups
}

// stageCommit is the commit a record says the stage was made from.
func stageCommit(note string) string {
	for _, l := range strings.Split(note, "\n") {
		if c, ok := strings.CutPrefix(strings.TrimSpace(l), "commit "); ok {
			return c
		}
	}
	return ""
}

func parseStageRecord(note string) (out []StagedUpload, complete bool) {
	complete = true
	for _, l := range strings.Split(note, "\n") {
		if strings.TrimSpace(l) == "incomplete" {
			complete = false
		}
		f := strings.Fields(l)
		if len(f) != 4 || f[0] != "stage" {
			continue
		}
		u := StagedUpload{Name: f[1], Version: f[2], ID: f[3]}
		if u.ID == "-" {
			u.ID = ""
		}
		out = append(out, u)
	}
	return out, complete
}

// stager returns j's handler as a Stager, or nil.
func (r *flow) stager(j Job) Stager {
	s, _ := r.o.Handlers[j.Package.Kind].(Stager)
	return s
}

func (r *flow) originRemote(ctx context.Context) string {
	if ok, err := r.o.Git.HasRemote(ctx, r.o.Root, "origin"); err == nil && ok {
		return "origin"
	}
	return ""
}

// checkStaging decides, before the first upload, which packages are staged
// (declared, or the trust exchange said the connection may only stage),
// refuses what can be neither published nor staged (a stage-only connection
// declared direct, an npm without `npm stage`), and finds versions an
// earlier run staged that are not live yet: those are never uploaded again.
func (r *flow) checkStaging(ctx context.Context) error {
	published := r.published
	r.stage = &stageState{mode: map[string]bool{}, why: map[string]string{}, earlier: map[string][]StagedUpload{}, partial: map[string][]StagedUpload{}, commit: map[string]string{}}
	rec, _ := r.o.Git.(StageRecorder)
	remote := ""
	if rec != nil && !r.o.DryRun {
		remote = r.originRemote(ctx)
	}
	var bad []string
	var first error
	for i, j := range r.jobs {
		st := r.stager(j)
		if st == nil {
			continue
		}
		if published[j.Package.Name] {
			// Approved since a run staged it: its tag names the commit the
			// staged package was built from, not a later HEAD.
			if rec != nil && !r.o.DryRun {
				if note, found, err := r.readStage(ctx, rec, remote, j); err == nil && found {
					if c := stageCommit(note); c != "" && r.haveCommit(ctx, c) {
						r.stage.commit[j.Package.Name] = c
					}
				}
			}
			continue
		}
		res := &r.rep.Packages[i]
		if rec != nil {
			note, found, err := r.readStage(ctx, rec, remote, j)
			if err != nil {
				r.warn("%s: reading the stage record %s: %v", j.Package.Name, StageRefPrefix+j.Release.Tag, err)
			} else if ups, complete := parseStageRecord(note); found && !complete {
				r.stage.partial[j.Package.Name] = ups // staged again below: taken versions are kept
			} else if found {
				r.stage.earlier[j.Package.Name] = ups
				res.Stages, res.Approve = ups, st.ApproveHint(j, ups)
				gone, known, err := st.StageGone(ctx, j, ups)
				if err != nil {
					r.warn("%s: asking whether the stage still exists: %v", j.Package.Name, err)
				}
				if known && gone {
					res.Status = StatusRejected
					res.Code = CodeStageRejected
					res.Error = fmt.Sprintf("%s %s was staged by an earlier run and rejected; it is not live", j.Name(), j.Version())
					r.logf("%s %s: the staged version was rejected", j.Name(), j.Version())
				} else {
					res.Status = StatusStaged
					n := fmt.Sprintf("%s %s was staged by an earlier run and is awaiting approval; it is not staged again", j.Name(), j.Version())
					if !known {
						n += " (a rejection cannot be told from a pending approval without NODE_AUTH_TOKEN or NPM_TOKEN of a maintainer)"
					}
					res.Notes = append(res.Notes, n)
					r.logf("%s", n)
				}
				continue
			}
		}
		var c *Credential
		if r.creds != nil {
			c = r.creds[j.Package.Name]
		}
		staged, why, err := st.StageMode(ctx, j, c)
		if err != nil {
			if first == nil {
				first = err
			}
			bad = append(bad, j.Package.Name+": "+secret.Redact(firstLine(err.Error())))
			res.Error, res.Code = secret.Redact(err.Error()), diag.CodeOf(err)
			continue
		}
		if staged {
			r.stage.mode[j.Package.Name], r.stage.why[j.Package.Name] = true, why
			n := "will be staged for approval (`npm stage publish`): " + why
			res.Notes = append(res.Notes, n)
			r.logf("%s: %s", j.Package.Name, n)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	if r.o.DryRun {
		for _, b := range bad {
			r.warn("%s", b)
		}
		return nil
	}
	de := asDiag(first, CodeStageCheck, "", "")
	out := *de
	out.Msg = "nothing was published: " + de.Msg
	if len(bad) > 1 {
		out.Details = append(append([]string(nil), de.Details...), bad[1:]...)
	}
	return &out
}

// stagedEarlier reports (and leaves alone) a package an earlier run staged.
func (r *flow) stagedEarlier(j Job) bool {
	if r.stage == nil {
		return false
	}
	_, ok := r.stage.earlier[j.Package.Name]
	return ok
}

func (r *flow) staged(j Job) bool { return r.stage != nil && r.stage.mode[j.Package.Name] }

// stageOne uploads j for approval and records the stage.
func (r *flow) stageOne(ctx context.Context, j Job, res *Result, c *Credential) error {
	st := r.stager(j)
	h := r.o.Handlers[j.Package.Kind]
	r.logf("%s %s: staging on %s for approval (%s)", j.Name(), j.Version(), h.Registry(), res.Auth)
	ups, err := st.Stage(ctx, j, c)
	r.revoke(context.WithoutCancel(ctx), j.Package.Name, c)
	if err != nil {
		de := asDiag(err, CodePublishFailed, fmt.Sprintf("staging %s %s on %s", j.Name(), j.Version(), h.Registry()),
			"fix the cause above and re-run: versions already staged or published are not uploaded again")
		res.Error, res.Code = secret.Redact(de.Error()), de.Code
		res.Status = StatusFailed
		if len(ups) > 0 {
			ups = r.mergePartial(j, ups)
			res.Stages = ups
			r.recordStage(ctx, j, ups, true)
		}
		return de
	}
	ups = r.mergePartial(j, ups)
	res.Status, res.Stages, res.Approve = StatusStaged, ups, st.ApproveHint(j, ups)
	for _, u := range ups {
		if u.ID == "" {
			res.Notes = append(res.Notes, fmt.Sprintf("%s %s was already staged (the registry holds the version, not live); not staged again", u.Name, u.Version))
		}
	}
	r.recordStage(ctx, j, ups, false)
	r.logf("%s %s: staged; %s", j.Name(), j.Version(), res.Approve)
	return nil
}

// mergePartial fills in the stage ids an earlier, interrupted run recorded
// for versions this run found taken.
func (r *flow) mergePartial(j Job, ups []StagedUpload) []StagedUpload {
	prev := r.stage.partial[j.Package.Name]
	for i, u := range ups {
		for _, p := range prev {
			if u.ID == "" && p.Name == u.Name && p.Version == u.Version {
				ups[i].ID = p.ID
			}
		}
	}
	return ups
}

func (r *flow) recordStage(ctx context.Context, j Job, ups []StagedUpload, incomplete bool) {
	rec, ok := r.o.Git.(StageRecorder)
	if !ok {
		return
	}
	ref := StageRefPrefix + j.Release.Tag
	if err := rec.RecordStage(context.WithoutCancel(ctx), r.o.Root, r.originRemote(ctx), ref, stageNote(ups, incomplete, r.head)); err != nil {
		r.warn("%s: could not record the stage at %s (%v); a re-run still finds the version taken and does not stage it again", j.Package.Name, ref, err)
	} else if r.stageRefs != nil {
		r.stageRefs[ref] = true
	}
}

// fallbackToStage: under npm_publish = "auto", a direct publish the registry
// refused because the connection may only stage (or the token needs 2FA to
// publish, which staging defers to the approval) is staged instead, so the
// release does not stop halfway.
func (r *flow) fallbackToStage(ctx context.Context, j Job, res *Result, c *Credential, err error) (bool, error) {
	st := r.stager(j)
	if st == nil || (j.Package.NPMPublish != "auto" && j.Package.NPMPublish != "") || !st.StageOnlyRefusal(err) {
		return false, nil
	}
	n := "the registry refused `npm publish` (" + firstLine(secret.Redact(err.Error())) + "); staging instead, for a maintainer to approve with 2FA"
	res.Notes = append(res.Notes, n)
	r.logf("%s: %s", j.Package.Name, n)
	return true, r.stageOne(ctx, j, res, c)
}

// awaitApprovals (publish --wait) polls staged versions until each is live
// (then tags and releases it), rejected, or the wait is over.
func (r *flow) awaitApprovals(ctx context.Context) error {
	if r.o.DryRun {
		return nil
	}
	var rejected []string
	idx := func() []int {
		var out []int
		for i := range r.rep.Packages {
			if r.rep.Packages[i].Status == StatusStaged {
				out = append(out, i)
			}
		}
		return out
	}
	pending := idx()
	if len(pending) > 0 && r.o.Wait > 0 {
		every := r.o.PollEvery
		if every <= 0 {
			every = DefaultPollEvery
		}
		deadline := time.Now().Add(r.o.Wait)
		r.logf("waiting up to %s for %d staged package(s) to be approved", r.o.Wait, len(pending))
		for len(pending) > 0 {
			for _, i := range pending {
				j, res := r.jobs[i], &r.rep.Packages[i]
				h := r.o.Handlers[j.Package.Kind]
				live, err := h.Published(ctx, j)
				if err != nil {
					r.warn("%s: asking whether %s %s is live: %v", j.Package.Name, j.Name(), j.Version(), err)
					continue
				}
				if live {
					res.Status = StatusPublished
					res.Notes = append(res.Notes, "approved by a maintainer; now live")
					r.logf("%s %s: approved and live %s", j.Name(), j.Version(), res.URL)
					if err := r.tagAndRelease(ctx, j, res); err != nil {
						return err
					}
					continue
				}
				if gone, known, err := r.stager(j).StageGone(ctx, j, res.Stages); err == nil && known && gone {
					res.Status, res.Code = StatusRejected, CodeStageRejected
					res.Error = fmt.Sprintf("%s %s was rejected by a maintainer; it is not live", j.Name(), j.Version())
					r.logf("%s", res.Error)
				}
			}
			if pending = idx(); len(pending) == 0 || !time.Now().Add(every).Before(deadline) {
				break
			}
			t := time.NewTimer(every)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if len(pending) > 0 {
			r.warn("%d staged package(s) still await approval after %s; re-run publish once approved to create their tags and GitHub Releases", len(pending), r.o.Wait)
		}
	}
	for i, res := range r.rep.Packages {
		if res.Status == StatusRejected {
			rejected = append(rejected, r.jobs[i].Package.Name+" "+res.Version)
		}
	}
	if len(rejected) > 0 {
		e := diag.New(CodeStageRejected, "%d staged release(s) were rejected: %s; no tag or GitHub Release was made for them", len(rejected), strings.Join(rejected, ", "))
		return e.WithHint("fix what made the maintainer reject it and release a new version (a new commit bumps it), or, to stage the same version again, delete its record: git push origin :%s<tag>", StageRefPrefix)
	}
	if len(idx()) > 0 {
		r.rep.Outcome = "staged"
	}
	return nil
}

// tagAndRelease creates the tag and GitHub Release of a version that went
// live while this run waited.
func (r *flow) tagAndRelease(ctx context.Context, j Job, res *Result) error {
	fail := func(err error, code, what, hint string) error {
		de := asDiag(err, code, what, hint)
		res.Error, res.Code = secret.Redact(de.Error()), de.Code
		return de
	}
	commit, err := r.tagRelease(ctx, j, res, fail)
	if err != nil {
		return err
	}
	if r.o.Releases == nil {
		return nil
	}
	notes, err := r.o.Git.SubjectsBetween(ctx, r.o.Root, j.Release.LastTag, commit)
	if err != nil {
		r.warn("%s: reading release notes: %v", j.Package.Name, err)
	}
	url, err := r.o.Releases.EnsureRelease(ctx, j.Release.Tag, releaseTitle(j.Package, j.Version()), releaseBody(notes), commit)
	if err != nil {
		return fail(err, CodeReleaseFailed, "creating the GitHub Release for "+j.Release.Tag, "the version and tag exist; re-run to create the release")
	}
	res.Release = url
	return nil
}

var _ StageRecorder = (*GitCLI)(nil)

// RecordStage implements StageRecorder: an annotated tag object at HEAD
// holding note, at ref locally and (when remote is set) on remote.
func (g *GitCLI) RecordStage(ctx context.Context, dir, remote, ref, note string) error {
	head, err := g.HeadCommit(ctx, dir)
	if err != nil {
		return err
	}
	obj, err := g.mktag(ctx, dir, head, note)
	if err != nil {
		return err
	}
	if _, err := g.git(ctx, dir, "update-ref", ref, obj); err != nil {
		return err
	}
	if remote == "" {
		return nil
	}
	_, err = g.git(ctx, dir, "push", "--porcelain", "--force", remote, obj+":"+ref)
	return err
}

// ReadStage implements StageRecorder.
func (g *GitCLI) ReadStage(ctx context.Context, dir, remote, ref string) (string, bool, error) {
	obj := ""
	if remote != "" {
		out, err := g.git(ctx, dir, "ls-remote", remote, ref)
		if err != nil {
			return "", false, err
		}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if o, r, ok := strings.Cut(l, "\t"); ok && r == ref {
				obj = o
			}
		}
		if obj == "" {
			return "", false, nil
		}
		if _, err := g.git(ctx, dir, "fetch", "--no-tags", "--quiet", remote, "+"+ref+":"+ref); err != nil {
			return "", false, err
		}
	} else {
		out, err := g.git(ctx, dir, "for-each-ref", "--format=%(objectname)", ref)
		if err != nil {
			return "", false, err
		}
		if obj = strings.TrimSpace(out); obj == "" {
			return "", false, nil
		}
	}
	body, err := g.git(ctx, dir, "cat-file", "tag", obj)
	if err != nil {
		return "", false, err
	}
	_, msg, _ := strings.Cut(body, "\n\n")
	return msg, true, nil
}

// StageRecords lists the stage records (tag → staged uploads) on remote, or
// locally when remote is "" (status).
func (g *GitCLI) StageRecords(ctx context.Context, dir, remote string) (map[string][]StagedUpload, error) {
	out := map[string][]StagedUpload{}
	var refs []string
	if remote != "" {
		ls, err := g.git(ctx, dir, "ls-remote", remote, StageRefPrefix+"*")
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(strings.TrimSpace(ls), "\n") {
			if _, ref, ok := strings.Cut(l, "\t"); ok && !strings.HasSuffix(ref, "^{}") {
				refs = append(refs, ref)
			}
		}
	} else {
		ls, err := g.git(ctx, dir, "for-each-ref", "--format=%(refname)", StageRefPrefix)
		if err != nil {
			return nil, err
		}
		refs = strings.Fields(ls)
	}
	for _, ref := range refs {
		note, found, err := g.ReadStage(ctx, dir, remote, ref)
		if err != nil {
			return nil, err
		}
		if found {
			out[strings.TrimPrefix(ref, StageRefPrefix)] = parseStageNote(note)
		}
	}
	return out, nil
}

// DeleteStage implements StageRecorder.
func (g *GitCLI) DeleteStage(ctx context.Context, dir, remote, ref string) error {
	_, _ = g.git(ctx, dir, "update-ref", "-d", ref)
	if remote == "" {
		return nil
	}
	_, err := g.git(ctx, dir, "push", "--porcelain", remote, ":"+ref)
	return err
}

// dropStageRecords removes the stage records of versions this run found
// live and tagged: they have done their job (a later status would ignore
// them anyway).
func (r *flow) dropStageRecords(ctx context.Context) error {
	rec, ok := r.o.Git.(StageRecorder)
	if !ok || r.o.DryRun || r.o.PreflightOnly {
		return nil
	}
	remote := r.originRemote(ctx)
	for i, j := range r.jobs {
		res := r.rep.Packages[i]
		if r.stager(j) == nil || res.TagState == "" || (res.Status != StatusPublished && res.Status != StatusAlreadyPublished) {
			continue
		}
		ref := StageRefPrefix + j.Release.Tag
		if _, found, err := r.readStage(ctx, rec, remote, j); err != nil || !found {
			continue
		}
		if err := rec.DeleteStage(ctx, r.o.Root, remote, ref); err != nil {
			r.warn("%s: could not delete the stage record %s (%v); it is harmless", j.Package.Name, ref, err)
			continue
		}
		r.logf("%s: %s is live and tagged; stage record %s removed", j.Package.Name, j.Version(), ref)
	}
	return nil
}

// stagedCommit is the commit the tag of j names when its version was staged
// by an earlier run ("" = HEAD).
func (r *flow) stagedCommit(j Job) string {
	if r.stage == nil {
		return ""
	}
	return r.stage.commit[j.Package.Name]
}

// haveCommit reports whether the checkout has commit (a shallow clone may
// not); without it the tag goes to HEAD, as for any other repair.
func (r *flow) haveCommit(ctx context.Context, commit string) bool {
	g, ok := r.o.Git.(*GitCLI)
	if !ok {
		return false
	}
	_, err := g.git(ctx, r.o.Root, "cat-file", "-e", commit+"^{commit}")
	return err == nil
}

// stageRefLister lists the stage records' refs in one call (GitCLI), so a
// run asks origin once, not once per npm package.
type stageRefLister interface {
	StageRefs(ctx context.Context, dir, remote string) (map[string]bool, error)
}

// StageRefs implements stageRefLister.
func (g *GitCLI) StageRefs(ctx context.Context, dir, remote string) (map[string]bool, error) {
	out := map[string]bool{}
	var ls string
	var err error
	if remote != "" {
		ls, err = g.git(ctx, dir, "ls-remote", remote, StageRefPrefix+"*")
	} else {
		ls, err = g.git(ctx, dir, "for-each-ref", "--format=%(objectname)\t%(refname)", StageRefPrefix)
	}
	if err != nil {
		return nil, err
	}
	for _, l := range strings.Split(strings.TrimSpace(ls), "\n") {
		if _, ref, ok := strings.Cut(l, "\t"); ok && !strings.HasSuffix(ref, "^{}") {
			out[ref] = true
		}
	}
	return out, nil
}

// readStage reads j's stage record, asking origin for the list of records
// once per run.
func (r *flow) readStage(ctx context.Context, rec StageRecorder, remote string, j Job) (string, bool, error) {
	ref := StageRefPrefix + j.Release.Tag
	if l, ok := r.o.Git.(stageRefLister); ok {
		if r.stageRefs == nil {
			refs, err := l.StageRefs(ctx, r.o.Root, remote)
			if err != nil {
				return "", false, err
			}
			r.stageRefs = refs
		}
		if !r.stageRefs[ref] {
			return "", false, nil
		}
	}
	return rec.ReadStage(ctx, r.o.Root, remote, ref)
}
