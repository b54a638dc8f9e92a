package doctor

import (
	"fmt"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/workflow"
)

// Codes of the trust policy (local) phase.
const (
	CodeNoPublishWorkflow = "PIOT_DOCTOR_NO_PUBLISH_WORKFLOW"
	CodePublishCommented  = "PIOT_DOCTOR_PUBLISH_COMMENTED_OUT"
	CodePublishDisabled   = "PIOT_DOCTOR_PUBLISH_DISABLED"
	CodeMissingIDToken    = "PIOT_DOCTOR_MISSING_ID_TOKEN"
	CodeMissingContents   = "PIOT_DOCTOR_MISSING_CONTENTS_WRITE"
	CodeNoEnvironment     = "PIOT_DOCTOR_NO_ENVIRONMENT"
	CodeEnvExpression     = "PIOT_DOCTOR_ENVIRONMENT_EXPRESSION"
	CodePullRequestTarget = "PIOT_DOCTOR_PULL_REQUEST_TARGET"
	CodeWorkflowRun       = "PIOT_DOCTOR_WORKFLOW_RUN"
	CodeWorkflowInvalid   = "PIOT_DOCTOR_WORKFLOW_INVALID"
	CodeReusableUncalled  = "PIOT_DOCTOR_REUSABLE_UNCALLED"
	CodeRemotePyPI        = "PIOT_DOCTOR_REMOTE_WORKFLOW_PYPI"
	CodeReusableAttest    = "PIOT_DOCTOR_REUSABLE_WORKFLOW_ATTESTATIONS"
	CodeNoGitHubToken     = "PIOT_DOCTOR_NO_GITHUB_TOKEN"
)

// kindPyPIAttested marks, in doctor's kinds, a PyPI package uploading attestations.
const kindPyPIAttested = "pypi+attestations"

const (
	hintAddPermission = "add it to the job or to workflow-level `permissions:`"
	hintEnvironment   = "many trust policies pin an environment; add one (e.g. `environment: release`) matching the registry registration"
)

// localPhase checks the workflows' structure (SPEC §6 phase 3). No network.
func localPhase(a *workflow.Analysis, kinds map[string]bool) *Phase {
	p := newPhase(PhaseLocal, "trust policy (local)", "trust-policy")
	for _, w := range a.Workflows {
		if w.Invalid {
			msg := "does not parse"
			if len(w.ParseErrors) > 0 {
				msg += ": " + w.ParseErrors[0]
			}
			p.add(Warn, "workflow "+w.File+" "+msg, Issue{
				Code: CodeWorkflowInvalid, Severity: SevWarning, File: w.Path,
				Message: fmt.Sprintf("%s: %s", w.File, msg),
				Hint:    "GitHub will not run it either; fix the YAML",
			})
		}
	}
	if len(a.Targets) == 0 {
		noPublishWorkflow(p, a, kinds)
		p.finish()
		return p
	}
	for _, t := range a.Targets {
		checkTarget(p, t, kinds)
	}
	p.finish()
	return p
}

func noPublishWorkflow(p *Phase, a *workflow.Analysis, kinds map[string]bool) {
	if len(a.Dead) > 0 {
		// Report per file, as the sample output does.
		seen := map[*workflow.Workflow]bool{}
		for _, d := range a.Dead {
			var issues []Issue
			for _, d2 := range a.Dead {
				if d2.Workflow != d.Workflow {
					continue
				}
				code, hint := CodePublishCommented, "restore the step (uncomment it); no live step runs `putitoutthere publish`, so nothing will be released"
				if d2.Why != "commented out" {
					code, hint = CodePublishDisabled, "remove the `if:` (or make it reachable); no live step runs `putitoutthere publish`, so nothing will be released"
				}
				what := "the `putitoutthere publish` step"
				if d2.Job != nil {
					what = fmt.Sprintf("job `%s`: the `putitoutthere publish` step", d2.Job.ID)
				}
				issues = append(issues, Issue{Code: code, Severity: SevError, File: d2.Workflow.Path, Line: d2.Line,
					Message: fmt.Sprintf("%s: %s is %s", d2.Workflow.File, what, d2.Why), Hint: hint})
			}
			if !seen[d.Workflow] {
				seen[d.Workflow] = true
				p.add(Fail, "publish workflow: "+d.Workflow.File, issues...)
			}
		}
		return
	}
	hint := "add a job that runs `npx putitoutthere publish` (or uses the putitoutthere action with `command: publish`); `putitoutthere init` writes one"
	if len(a.RemoteCalls) > 0 {
		l := a.RemoteCalls[0]
		hint += fmt.Sprintf("; %s job `%s` calls %s in another repository, which doctor cannot read", l.Workflow.File, l.Job.ID, l.Job.Calls)
		if kinds["pypi"] {
			hint += " (PyPI refuses trusted publishing from a reusable workflow in another repository: publish PyPI packages from a job in this one)"
		}
	}
	where := "none under " + workflow.Dir
	p.add(Fail, "publish workflow: "+where, Issue{
		Code: CodeNoPublishWorkflow, Severity: SevError, File: workflow.Dir,
		Message: "no workflow under " + workflow.Dir + "/ runs `putitoutthere publish`",
		Hint:    hint,
	})
}

// targetName is how the report names a target's files: `release.yml` or
// `release.yml → publish.yml` for a reusable workflow.
func targetName(t *workflow.Target) string {
	var parts []string
	for i, l := range t.Chain {
		if i == 0 || l.Workflow != t.Chain[i-1].Workflow {
			parts = append(parts, l.Workflow.File)
		}
	}
	return strings.Join(parts, " → ")
}

func checkTarget(p *Phase, t *workflow.Target, kinds map[string]bool) {
	var issues []Issue
	for _, scope := range []string{"id-token", "contents"} {
		g := t.Check(scope)
		if g.OK {
			continue
		}
		code := CodeMissingIDToken
		if scope == "contents" {
			code = CodeMissingContents
		}
		hint := hintAddPermission
		switch {
		case g.Default && scope == "id-token":
			hint += " (neither the job nor the workflow declares `permissions:`, so the repository default applies, and it never includes `id-token`)"
		case g.Default:
			hint += " (neither the job nor the workflow declares `permissions:`, so the repository default applies, which is read-only unless the repository's settings say otherwise)"
		case g.Level == "job" && g.Workflow.Permissions.Grants(scope):
			hint = "add it to the job's `permissions:` — job-level permissions replace the workflow-level ones, they do not merge"
		}
		if g.Job != t.Job() {
			hint += fmt.Sprintf("; this job calls %s, whose jobs get at most what the caller grants", t.Defining().File)
		} else if t.Reusable() {
			hint += fmt.Sprintf("; it is needed in both the caller (%s) and the called workflow", t.Caller().File)
		}
		issues = append(issues, Issue{
			Code: code, Severity: SevError, File: g.Workflow.Path, Line: g.Line,
			Message: fmt.Sprintf("%s: job `%s` is missing `%s: write` permission", g.Workflow.File, g.Job.ID, scope),
			Hint:    hint,
		})
	}
	env := t.Environment()
	job, def := t.Job(), t.Defining()
	switch {
	case t.Remote != "":
		// The environment is the called job's, in the other repository.
		if kinds[workflow.KindPyPI] {
			issues = append(issues, Issue{
				Code: CodeRemotePyPI, Severity: SevError, File: def.Path, Line: job.CallsLine,
				Message: fmt.Sprintf("%s: job `%s` publishes through %s, a reusable workflow in another repository, and PyPI refuses trusted publishing from one", def.File, job.ID, t.Remote),
				Hint:    "PyPI matches the called file (job_workflow_ref) and accepts it only from this repository: publish the PyPI packages from a job defined here",
			})
		}
	case env == nil || env.Name == "":
		// Not an error by itself: registrations without an environment
		// accept any job. The declared phase, the crates.io readback and the
		// token's claims fail when a registration needs one.
		issues = append(issues, Issue{
			Code: CodeNoEnvironment, Severity: SevWarning, File: def.Path, Line: job.Line,
			Message: fmt.Sprintf("%s: job `%s` has no `environment:` key", def.File, job.ID),
			Hint:    hintEnvironment,
		})
	case env.Expression:
		issues = append(issues, Issue{
			Code: CodeEnvExpression, Severity: SevWarning, File: def.Path, Line: env.Line,
			Message: fmt.Sprintf("%s: job `%s` takes its environment from an expression (`%s`)", def.File, job.ID, env.Name),
			Hint:    "doctor cannot tell which environment the registry will see; make sure every value it can take is registered",
		})
	}
	if t.Remote == "" && t.Reusable() && kinds[kindPyPIAttested] && t.Caller().File != def.File {
		// PyPI's exchange matches job_workflow_ref (the called file), its
		// attestation policy the certificate's Build Config URI (the
		// caller): pypi-attestations _GitHubTrustedPublisherPolicy.
		issues = append(issues, Issue{
			Code: CodeReusableAttest, Severity: SevError, File: def.Path, Line: job.Line,
			Message: fmt.Sprintf("%s: job `%s` runs in a reusable workflow called from %s; PyPI would refuse its attestations (the certificate's Build Config URI names %s, the trusted publisher %s)", def.File, job.ID, t.Caller().File, t.Caller().File, def.File),
			Hint:    "publish the PyPI packages from a job of a top-level workflow, or set `attestations = false` on them (docs/provenance.md)",
		})
	}
	caller := t.Caller()
	if ln, ok := caller.HasEvent("pull_request_target"); ok {
		issues = append(issues, Issue{
			Code: CodePullRequestTarget, Severity: SevWarning, File: caller.Path, Line: ln,
			Message: fmt.Sprintf("%s: the publish workflow runs on `pull_request_target`", caller.File),
			Hint:    "PyPI and crates.io refuse trusted publishing from `pull_request_target`; publish from `push`, `release` or `workflow_dispatch`",
		})
	}
	if ln, ok := caller.HasEvent("workflow_run"); ok && kinds["crates"] {
		issues = append(issues, Issue{
			Code: CodeWorkflowRun, Severity: SevWarning, File: caller.Path, Line: ln,
			Message: fmt.Sprintf("%s: the publish workflow runs on `workflow_run`", caller.File),
			Hint:    "crates.io refuses trusted publishing from `workflow_run`; publish from `push`, `release` or `workflow_dispatch`",
		})
	}
	failed := false
	for _, is := range issues {
		if is.Severity == SevError {
			failed = true
		}
	}
	if failed {
		p.add(Fail, "publish workflow: "+targetName(t), issues...)
	} else {
		detail := fmt.Sprintf("job `%s`", job.ID)
		if t.Remote != "" {
			detail += fmt.Sprintf(" calls %s in another repository; its steps and environment cannot be read from here", t.Remote)
		}
		if env != nil && env.Name != "" {
			detail += fmt.Sprintf(", environment `%s`", env.Name)
		}
		st := Pass
		if len(issues) > 0 {
			st = Warn
		}
		p.add(st, fmt.Sprintf("publish workflow: %s (%s)", targetName(t), detail), issues...)
	}
	releaseToken(p, t)
	if t.Remote != "" {
		p.add(Pass, fmt.Sprintf("registries will see: crates.io and npm → %s (workflow_ref, the caller), PyPI → %s in %s (job_workflow_ref)",
			t.WorkflowFor(workflow.KindCrates), t.WorkflowFor(workflow.KindPyPI), workflow.RemoteRepo(t.Remote)))
	}
	if t.Reusable() {
		p.add(Pass, fmt.Sprintf("registries will see: crates.io and npm → %s (workflow_ref), PyPI → %s (job_workflow_ref)",
			t.WorkflowFor(workflow.KindCrates), t.WorkflowFor(workflow.KindPyPI)))
	}
	if t.Uncalled {
		ln, _ := caller.HasEvent("workflow_call")
		p.add(Warn, fmt.Sprintf("%s is a reusable workflow that no workflow in this repository calls", caller.File), Issue{
			Code: CodeReusableUncalled, Severity: SevWarning, File: caller.Path, Line: ln,
			Message: fmt.Sprintf("%s: only `on: workflow_call`, and nothing here calls it", caller.File),
			Hint:    "if another repository calls it, crates.io and npm will see that caller's workflow file, and its permissions cap this job's; run doctor there too",
		})
	}
}

// releaseToken: publish creates the GitHub Releases with GITHUB_TOKEN, and a
// run: step does not see it unless its env passes it (the action passes
// github.token by default). A line of its own, so the publish workflow's
// verdict stays about trusted publishing.
func releaseToken(p *Phase, t *workflow.Target) {
	if t.Step == nil || t.Via != "run" {
		return
	}
	if _, ok := t.EnvValue("GITHUB_TOKEN"); ok {
		return
	}
	def, job := t.Defining(), t.Job()
	p.add(Warn, fmt.Sprintf("GitHub Releases: %s, job `%s`, step at line %d", def.File, job.ID, t.StepLine), Issue{
		Code: CodeNoGitHubToken, Severity: SevWarning, File: def.Path, Line: t.StepLine,
		Message: fmt.Sprintf("%s: job `%s`: the step at line %d runs `putitoutthere publish` without `GITHUB_TOKEN` in its env, so no GitHub Release is created", def.File, job.ID, t.StepLine),
		Hint:    "add `GITHUB_TOKEN: ${{ github.token }}` to that step's `env:` (the putitoutthere action passes it by default)",
	})
}
