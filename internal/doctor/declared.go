package doctor

import (
	"fmt"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/workflow"
)

// Codes of the trust policy (declared) phase.
const (
	CodeDeclaredWorkflow        = "PIOT_DOCTOR_DECLARED_WORKFLOW"
	CodeDeclaredEnvironment     = "PIOT_DOCTOR_DECLARED_ENVIRONMENT"
	CodeDeclaredRepository      = "PIOT_DOCTOR_DECLARED_REPOSITORY"
	CodeDeclaredRunningWorkflow = "PIOT_DOCTOR_DECLARED_RUNNING_WORKFLOW"
)

// registryLabel names the registry of kind.
func registryLabel(kind string) string {
	switch kind {
	case config.KindCrates:
		return "crates.io"
	case config.KindPyPI:
		return "PyPI"
	case config.KindNPM:
		return "npm"
	}
	return kind
}

// claimFor names the claim registry kind reads the workflow from.
func claimFor(kind string) string {
	if kind == config.KindPyPI {
		return "job_workflow_ref"
	}
	return "workflow_ref"
}

// equalFor compares two values the way the registry of kind does: npm is
// case-sensitive, PyPI and crates.io are not.
func equalFor(kind, a, b string) bool {
	if kind == config.KindNPM {
		return a == b
	}
	return strings.EqualFold(a, b)
}

func declaredPhase(st *state) *Phase {
	p := newPhase(PhaseDeclared, "trust policy (declared)", "trust-policy")
	if !anyDeclared(st.cfg) {
		p.add(Neutral, "not declared (no package has a [package.trust_policy] block)")
		p.finish()
		return p
	}
	for i := range st.cfg.Packages {
		pkg := &st.cfg.Packages[i]
		if pkg.TrustPolicy == nil {
			// Declaration is opt-in per package: say which ones are unchecked.
			p.add(Neutral, fmt.Sprintf("%s: not declared (no [package.trust_policy] block)", label(pkg)))
			continue
		}
		checkDeclared(st, p, pkg)
	}
	p.finish()
	return p
}

func checkDeclared(st *state, p *Phase, pkg *config.Package) {
	tp := pkg.TrustPolicy
	cfgFile := st.rel(st.opt.ConfigFile)
	line := pkg.KeyPos["trust_policy.workflow"].Line
	if line == 0 {
		line = tp.Pos.Line
	}
	reg := registryLabel(pkg.Kind)
	var issues []Issue
	var match *workflow.Target
	var seen []string
	for _, t := range st.analysis.Targets {
		f := t.WorkflowFor(pkg.Kind)
		if f == tp.Workflow {
			match = t
			break
		}
		seen = append(seen, "`"+f+"`")
	}
	switch {
	case len(st.analysis.Targets) == 0:
		issues = append(issues, Issue{Code: CodeDeclaredWorkflow, Severity: SevError, File: cfgFile, Line: line,
			Message: fmt.Sprintf("package `%s`: declares workflow `%s`, but no local workflow runs `putitoutthere publish`", pkg.Name, tp.Workflow),
			Hint:    "add the publish job to " + workflow.Dir + "/" + tp.Workflow})
	case match == nil:
		issues = append(issues, Issue{Code: CodeDeclaredWorkflow, Severity: SevError, File: cfgFile, Line: line,
			Message: fmt.Sprintf("package `%s`: declares workflow `%s`, but %s will see %s (%s)", pkg.Name, tp.Workflow, reg, strings.Join(seen, ", "), claimFor(pkg.Kind)),
			Hint:    fmt.Sprintf("a renamed workflow breaks publish with HTTP 400: rename it back, or update %s's trusted publisher and `trust_policy.workflow` together", reg)})
	}
	envTarget := match
	if match == nil && len(st.analysis.Targets) == 1 {
		// One publish job under another name (release.yml renamed): its
		// environment is still the one the registry will see, so a rename of
		// both is reported at once.
		envTarget = st.analysis.Targets[0]
	}
	if envTarget != nil && envTarget.Remote != "" && tp.Environment != "" {
		issues = append(issues, Issue{Code: CodeDeclaredEnvironment, Severity: SevInfo, File: cfgFile, Line: line,
			Message: fmt.Sprintf("package `%s`: declares environment `%s`; the job that sets it is in %s, which doctor cannot read (the OIDC claims phase compares the real value inside Actions)", pkg.Name, tp.Environment, envTarget.Remote)})
	} else if envTarget != nil && tp.Environment != "" {
		match := envTarget
		env := match.Environment()
		def := match.Defining()
		switch {
		case env == nil || env.Name == "":
			issues = append(issues, Issue{Code: CodeDeclaredEnvironment, Severity: SevError, File: def.Path, Line: match.Job().Line,
				Message: fmt.Sprintf("package `%s`: declares environment `%s`, but job `%s` in %s has no `environment:`", pkg.Name, tp.Environment, match.Job().ID, def.File),
				Hint:    fmt.Sprintf("add `environment: %s` to the job", tp.Environment)})
		case env.Expression:
			issues = append(issues, Issue{Code: CodeDeclaredEnvironment, Severity: SevWarning, File: def.Path, Line: env.Line,
				Message: fmt.Sprintf("package `%s`: job `%s` takes its environment from an expression (`%s`); cannot compare with the declared `%s`", pkg.Name, match.Job().ID, env.Name, tp.Environment),
				Hint:    "the OIDC claims phase checks the real value inside Actions"})
		case !equalFor(pkg.Kind, env.Name, tp.Environment):
			issues = append(issues, Issue{Code: CodeDeclaredEnvironment, Severity: SevError, File: def.Path, Line: env.Line,
				Message: fmt.Sprintf("package `%s`: declares environment `%s`, but job `%s` in %s uses `%s`", pkg.Name, tp.Environment, match.Job().ID, def.File, env.Name),
				Hint:    fmt.Sprintf("a renamed environment breaks publish with HTTP 400: rename it back, or update %s's trusted publisher and `trust_policy.environment` together", reg)})
		}
	}
	repoNote := ""
	if tp.Repository != "" {
		switch {
		case st.repo == "":
			repoNote = fmt.Sprintf(" (repository `%s` not compared: no GitHub `origin` remote)", tp.Repository)
		case !equalFor(pkg.Kind, st.repo, tp.Repository):
			issues = append(issues, Issue{Code: CodeDeclaredRepository, Severity: SevError, File: cfgFile, Line: pkg.KeyPos["trust_policy.repository"].Line,
				Message: fmt.Sprintf("package `%s`: declares repository `%s`, but the `origin` remote is `%s`", pkg.Name, tp.Repository, st.repo),
				Hint:    fmt.Sprintf("%s matches the repository the workflow runs in; fix `trust_policy.repository` (and the registry's trusted publisher) to `%s`", reg, st.repo)})
		}
	}
	if ref := st.opt.Env.Value("GITHUB_WORKFLOW_REF"); st.opt.Env.InActions() && ref != "" {
		running := auth.WorkflowFile(ref)
		ok := running == tp.Workflow
		if !ok && pkg.Kind == config.KindPyPI {
			// PyPI sees the called file; doctor runs in the caller.
			for _, t := range st.analysis.Targets {
				if t.Caller().File == running && t.Defining().File == tp.Workflow {
					ok = true
				}
			}
		}
		publishes := false
		for _, t := range st.analysis.Targets {
			if t.Caller().File == running {
				publishes = true
			}
		}
		switch {
		case ok:
		case publishes:
			// This run publishes, from a workflow the registry was not told about.
			issues = append(issues, Issue{Code: CodeDeclaredRunningWorkflow, Severity: SevError, File: cfgFile, Line: line,
				Message: fmt.Sprintf("package `%s`: declares workflow `%s`, but this run is %s (GITHUB_WORKFLOW_REF)", pkg.Name, tp.Workflow, running),
				Hint:    "run doctor in the declared publish workflow, or fix the declaration"})
		default:
			// A check workflow (pull requests, CI) that does not publish: the
			// registries never see its name, so there is nothing to compare.
			issues = append(issues, Issue{Code: CodeDeclaredRunningWorkflow, Severity: SevInfo, File: cfgFile, Line: line,
				Message: fmt.Sprintf("package `%s`: this run is %s, which does not publish; GITHUB_WORKFLOW_REF is compared with the declared `%s` only when doctor runs in a publish workflow", pkg.Name, running, tp.Workflow)})
		}
	}
	failed, warned := false, false
	for _, is := range issues {
		switch is.Severity {
		case SevError:
			failed = true
		case SevWarning:
			warned = true
		}
	}
	what := fmt.Sprintf("workflow `%s`", tp.Workflow)
	if tp.Environment != "" {
		what += fmt.Sprintf(", environment `%s`", tp.Environment)
	}
	if tp.Repository != "" && repoNote == "" {
		what += fmt.Sprintf(", repository `%s`", tp.Repository)
	}
	switch {
	case failed:
		p.add(Fail, fmt.Sprintf("%s: declared %s%s", label(pkg), what, repoNote), issues...)
	case warned:
		p.add(Warn, fmt.Sprintf("%s: declared %s%s", label(pkg), what, repoNote), issues...)
	default:
		p.add(Pass, fmt.Sprintf("%s: declared %s matches the local workflow%s", label(pkg), what, repoNote), issues...)
	}
}
