package workflow

import (
	"sort"
	"strings"
)

// Link is one hop of a call chain: a job in a workflow.
type Link struct {
	Workflow *Workflow
	Job      *Job
}

// Target is a live publish job seen from the top-level workflow GitHub runs.
// Chain[0] is the top-level workflow and its job; the last link is the job
// whose step runs publish. For a direct publish job the chain has one link.
type Target struct {
	Chain    []Link
	Step     *Step
	StepLine int
	Via      string // "run" or "action"
	// Uncalled: the top of the chain is a reusable workflow (workflow_call)
	// that no workflow in this repository calls; it may be called from
	// another repository, which doctor cannot see.
	Uncalled bool
	// Remote is the `uses:` of a job that calls a reusable workflow in
	// another repository (`org/shared/.github/workflows/release.yml@v1`):
	// the publish step is there, out of sight, and Step is nil. Such a
	// target comes only from RemoteTargets.
	Remote string
}

// Caller is the top-level workflow: what `workflow_ref` names.
func (t *Target) Caller() *Workflow { return t.Chain[0].Workflow }

// CallerJob is the job in the top-level workflow.
func (t *Target) CallerJob() *Job { return t.Chain[0].Job }

// Defining is the workflow that defines the publishing job: what
// `job_workflow_ref` names.
func (t *Target) Defining() *Workflow { return t.Chain[len(t.Chain)-1].Workflow }

// Job is the job that runs the publish step.
func (t *Target) Job() *Job { return t.Chain[len(t.Chain)-1].Job }

// Reusable reports whether the publish job runs inside a called workflow.
func (t *Target) Reusable() bool { return len(t.Chain) > 1 }

// Registry kinds, as in the config.
const (
	KindCrates = "crates"
	KindPyPI   = "pypi"
	KindNPM    = "npm"
)

// WorkflowFor is the workflow file name registry kind matches against
// (protocols §0): PyPI reads job_workflow_ref, the file that defines the job;
// crates.io and npm read workflow_ref, the top-level caller.
func (t *Target) WorkflowFor(kind string) string {
	if kind == KindPyPI && t.Remote != "" {
		return RemoteFile(t.Remote)
	}
	if kind == KindPyPI {
		return t.Defining().File
	}
	return t.Caller().File
}

// Environment is the environment the publishing job runs in. Jobs that call
// a reusable workflow cannot set one, so it is the defining job's.
func (t *Target) Environment() *Environment { return t.Job().Environment }

// EnvValue returns what the publish step sees for variable name, looking at
// the step's, the job's and the workflow's `env:` (innermost wins), and
// whether it is set there at all.
func (t *Target) EnvValue(name string) (string, bool) {
	if t.Step != nil {
		if v, ok := t.Step.Env[name]; ok {
			return v, true
		}
	}
	if v, ok := t.Job().Env[name]; ok {
		return v, true
	}
	if v, ok := t.Defining().Env[name]; ok {
		return v, true
	}
	return "", false
}

// EnvSource is where the publish step's variable name is set: its value as
// written, the file and line of the `env:` entry, and whether it is set in
// the step, the job or the workflow at all.
func (t *Target) EnvSource(name string) (value, file string, line int, ok bool) {
	def := t.Defining()
	if t.Step != nil {
		if v, ok := t.Step.Env[name]; ok {
			return v, def.Path, t.Step.EnvLine[name], true
		}
	}
	if v, ok := t.Job().Env[name]; ok {
		return v, def.Path, t.Job().EnvLine[name], true
	}
	if v, ok := def.Env[name]; ok {
		return v, def.Path, def.EnvLine[name], true
	}
	return "", "", 0, false
}

// Grant is the verdict on one permission scope for a target.
type Grant struct {
	Scope string
	OK    bool
	// Default: no `permissions:` at job or workflow level, so the repository
	// default applies, which never includes id-token.
	Default bool
	// Where the permission is missing: the file, the line to fix (the
	// permissions block in force, or the job), and the job.
	Workflow *Workflow
	Job      *Job
	Line     int
	Level    string // "job" | "workflow" | "default"
}

// side is the permissions block in force for one link: the job's when it has
// one (it replaces the workflow's, no merging), else the workflow's.
func side(l Link) (*Permissions, string) {
	if l.Job.Permissions != nil {
		return l.Job.Permissions, "job"
	}
	if l.Workflow.Permissions != nil {
		return l.Workflow.Permissions, "workflow"
	}
	return nil, "default"
}

// Check applies GitHub's semantics to scope along the chain. The top-level
// job's block (or its workflow's) is the ceiling; a called workflow that
// declares permissions can only narrow them, one that declares none inherits.
func (t *Target) Check(scope string) Grant {
	for i, l := range t.Chain {
		p, level := side(l)
		g := Grant{Scope: scope, Workflow: l.Workflow, Job: l.Job, Level: level}
		if p == nil {
			if i == 0 {
				g.Default, g.Line = true, l.Job.Line
				return g
			}
			continue // inherits the caller's
		}
		g.Line = p.Line
		if !p.Grants(scope) {
			return g
		}
	}
	last := t.Chain[len(t.Chain)-1]
	return Grant{Scope: scope, OK: true, Workflow: last.Workflow, Job: last.Job}
}

// Dead is a publish invocation that will not run: commented out, or behind
// `if: false`.
type Dead struct {
	Workflow *Workflow
	Job      *Job // nil for a comment outside any step
	Line     int
	Why      string // "commented out" | "disabled by `if: false` on the step" | …
}

// Analysis is what doctor reads: every workflow, the live publish targets,
// and dead invocations in workflows that have no live one.
type Analysis struct {
	Workflows []*Workflow
	Targets   []*Target
	Dead      []Dead
	// RemoteCalls are jobs calling a reusable workflow in another repository
	// (`owner/repo/.github/workflows/x.yml@ref`); doctor cannot follow them.
	RemoteCalls []Link
}

// Options tune the analysis.
type Options struct {
	// LocalAction: the repository is the putitoutthere action itself, so
	// `uses: ./` with `command: publish` is a publish step.
	LocalAction bool
}

// maxDepth is GitHub's nesting limit for reusable workflows (caller + 9).
const maxDepth = 10

// Analyze finds the publish targets in workflows.
func Analyze(workflows []*Workflow, opt Options) *Analysis {
	a := &Analysis{Workflows: workflows}
	byPath := map[string]*Workflow{}
	called := map[*Workflow]bool{}
	for _, w := range workflows {
		byPath[w.Path] = w
	}
	for _, w := range workflows {
		for _, j := range w.Jobs {
			if j.Calls == "" {
				continue
			}
			if c := byPath[localCall(j.Calls)]; c != nil {
				called[c] = true
			} else if !strings.HasPrefix(j.Calls, "./") {
				a.RemoteCalls = append(a.RemoteCalls, Link{w, j})
			}
		}
	}
	live := map[*Workflow]bool{}
	for _, w := range workflows {
		if w.Invalid {
			continue
		}
		top := !w.Reusable || len(w.Events) > 1 || !called[w]
		if !top {
			continue
		}
		for _, j := range w.Jobs {
			a.walk(byPath, []Link{{w, j}}, opt, live)
		}
		for _, t := range a.Targets {
			if t.Caller() == w && w.Reusable && !called[w] && len(w.Events) == 1 {
				t.Uncalled = true
			}
		}
	}
	// Dead invocations count only where nothing live publishes from the
	// same file; a comment next to a live step is just a comment.
	for _, w := range workflows {
		if live[w] {
			continue
		}
		for _, j := range w.Jobs {
			for _, s := range j.Steps {
				c, ln := StepCommand(s, opt.LocalAction)
				if c != Publish {
					continue
				}
				switch {
				case Disabled(j.If):
					a.Dead = append(a.Dead, Dead{w, j, j.IfLine, "disabled by `if: " + strings.TrimSpace(j.If) + "` on the job"})
				case Disabled(s.If):
					a.Dead = append(a.Dead, Dead{w, j, ln, "disabled by `if: " + strings.TrimSpace(s.If) + "` on the step"})
				}
			}
		}
		for i, ln := range w.Comments {
			c := 0
			if i < len(w.CommentCols) {
				c = w.CommentCols[i]
			}
			a.Dead = append(a.Dead, Dead{Workflow: w, Job: jobAt(w, ln, c), Line: ln, Why: "commented out"})
		}
	}
	sort.SliceStable(a.Targets, func(i, j int) bool {
		ti, tj := a.Targets[i], a.Targets[j]
		if ti.Caller().Path != tj.Caller().Path {
			return ti.Caller().Path < tj.Caller().Path
		}
		return ti.CallerJob().Line < tj.CallerJob().Line
	})
	return a
}

func (a *Analysis) walk(byPath map[string]*Workflow, chain []Link, opt Options, live map[*Workflow]bool) {
	l := chain[len(chain)-1]
	if Disabled(l.Job.If) {
		return
	}
	if l.Job.Calls != "" {
		c := byPath[localCall(l.Job.Calls)]
		if c == nil || c.Invalid || len(chain) >= maxDepth {
			return
		}
		for _, cl := range chain {
			if cl.Workflow == c {
				return // a cycle GitHub would reject anyway
			}
		}
		for _, j := range c.Jobs {
			next := append(append([]Link(nil), chain...), Link{c, j})
			a.walk(byPath, next, opt, live)
		}
		return
	}
	for _, s := range l.Job.Steps {
		if Disabled(s.If) {
			continue
		}
		c, ln := StepCommand(s, opt.LocalAction)
		if c != Publish {
			continue
		}
		via := "run"
		if s.Uses != "" {
			via = "action"
		}
		live[l.Workflow] = true
		a.Targets = append(a.Targets, &Target{Chain: chain, Step: s, StepLine: ln, Via: via})
		return // one target per job
	}
}

// localCall turns `./.github/workflows/x.yml` into the workflow's Path.
func localCall(uses string) string {
	u := strings.TrimSpace(uses)
	if !strings.HasPrefix(u, "./") {
		return ""
	}
	u, _, _ = strings.Cut(u, "@")
	return strings.TrimPrefix(u, "./")
}

// jobAt returns the job whose block contains line (jobs are in source order).
// jobAt is the job a comment at line:col sits in: the last job starting
// above it, provided the comment is indented deeper than the job's key (a
// commented-out job of its own belongs to no live job). col 0 = unknown.
func jobAt(w *Workflow, line, col int) *Job {
	var found *Job
	for _, j := range w.Jobs {
		if j.Line <= line {
			found = j
		}
	}
	if found != nil && col > 0 && found.Col > 0 && col <= found.Col {
		return nil
	}
	return found
}

// RemoteFile is the file name in a remote `uses:` value
// (`org/shared/.github/workflows/release.yml@v1` → `release.yml`).
func RemoteFile(uses string) string {
	u, _, _ := strings.Cut(strings.TrimSpace(uses), "@")
	if i := strings.LastIndex(u, "/"); i >= 0 {
		return u[i+1:]
	}
	return u
}

// RemoteRepo is the repository of a remote `uses:` value (`org/shared`).
func RemoteRepo(uses string) string {
	parts := strings.SplitN(strings.TrimSpace(uses), "/", 3)
	if len(parts) < 3 {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

// RemoteTargets are the jobs that most likely publish through a reusable
// workflow kept in another repository (an organisation's shared release
// workflow), for a repository with no local publish step: those whose job
// grants `id-token: write` (an ID token is only for publishing or deploying)
// or whose called file is named like a release. Registries that match the
// caller's workflow (crates.io, npm) see this repository's file; the
// publish step itself cannot be read from here.
func (a *Analysis) RemoteTargets() []*Target {
	var out []*Target
	for _, l := range a.RemoteCalls {
		if Disabled(l.Job.If) {
			continue
		}
		t := &Target{Chain: []Link{l}, Remote: l.Job.Calls, Via: "remote"}
		f := strings.ToLower(RemoteFile(l.Job.Calls))
		if t.Check("id-token").OK || strings.Contains(f, "release") || strings.Contains(f, "publish") {
			out = append(out, t)
		}
	}
	return out
}

// SelfHosted reports whether the job runs on a self-hosted runner, as far as
// its `runs-on:` says: the `self-hosted` label, or a runner group (groups
// hold self-hosted or larger runners; larger runners are GitHub-hosted, so a
// group alone is not counted). An expression cannot be judged.
func (j *Job) SelfHosted() bool {
	for _, l := range j.RunsOn {
		if strings.EqualFold(strings.TrimSpace(l), "self-hosted") {
			return true
		}
	}
	return false
}

// Running returns the publish target this process runs in, judged from the
// Actions variables: the running workflow file (GITHUB_WORKFLOW_REF) is the
// target's caller and the running job (GITHUB_JOB) is its publish job (or the
// caller job). nil outside Actions or in another job, such as a pull-request
// check.
func (a *Analysis) Running(workflowRef, job string) *Target {
	if workflowRef == "" {
		return nil
	}
	path, _, _ := strings.Cut(workflowRef, "@")
	file := path[strings.LastIndex(path, "/")+1:]
	for _, t := range a.Targets {
		if t.Caller().File != file {
			continue
		}
		if job == "" || job == t.Job().ID || job == t.CallerJob().ID {
			return t
		}
	}
	return nil
}
