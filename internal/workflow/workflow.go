// Package workflow reads GitHub Actions workflow files into the small model
// doctor needs: which job runs `putitoutthere publish`, the permissions GitHub
// will actually give it, its environment, and which file each registry will see
// as "the workflow". Parsing is actionlint's, so every YAML shape GitHub accepts
// (flow mappings, any indentation, anchors) is read the same way GitHub reads it.
package workflow

import (
	"fmt"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/rhysd/actionlint"
)

// Dir is where GitHub looks for workflows, relative to the repository root.
const Dir = ".github/workflows"

// Workflow is one file under .github/workflows.
type Workflow struct {
	File string // base name, e.g. release.yml: what registries match on
	Path string // slash path relative to the repository root

	Name        string
	Events      []Event
	Reusable    bool // has `on: workflow_call`
	Permissions *Permissions
	Env         map[string]string // workflow-level `env:`
	EnvLine     map[string]int    // line of each workflow-level variable
	Jobs        []*Job            // in source order

	// Comments are publish invocations found only in comments (YAML or
	// shell), by line.
	Comments []int
	// CommentCols is the column of each comment's `#`: a comment indented
	// no deeper than a job key is not inside that job.
	CommentCols []int
	// ParseErrors are actionlint's complaints; the model is still filled as
	// far as the file could be read.
	ParseErrors []string
	// Invalid is set when the file is not YAML at all (no model).
	Invalid bool
}

// Event is one `on:` trigger.
type Event struct {
	Name string
	Line int
}

// Permissions is a `permissions:` block as written.
type Permissions struct {
	All    string            // write-all | read-all (scalar form), "" otherwise
	Scopes map[string]string // scope → read|write|none (mapping form; {} is empty)
	Line   int
}

// Grants reports whether the block gives write access to scope.
func (p *Permissions) Grants(scope string) bool {
	if p == nil {
		return false
	}
	if p.All != "" {
		return p.All == "write-all"
	}
	return p.Scopes[scope] == "write"
}

// Environment is a job's `environment:`.
type Environment struct {
	Name       string
	Expression bool // the name is a ${{ }} expression: only known at run time
	Line       int
}

// Job is one job.
type Job struct {
	ID          string
	Line        int
	Col         int // column of the job's key
	If          string
	IfLine      int
	Permissions *Permissions
	Environment *Environment
	Env         map[string]string // job-level `env:`
	EnvLine     map[string]int    // line of each job-level variable
	// RunsOn are the job's `runs-on:` labels (an expression stays as
	// written); RunsOnGroup is its runner group; RunsOnLine its line.
	RunsOn      []string
	RunsOnGroup string
	RunsOnLine  int
	Steps       []*Step
	// Calls is the `uses:` of a job that calls a reusable workflow.
	Calls     string
	CallsLine int
}

// Step is one step.
type Step struct {
	Line   int
	Name   string
	If     string
	Run    string
	RunPos int // line of the run: key's value
	Uses   string
	With   map[string]string // keys lower-cased
	// EnvNames are the variables the step sets in `env:`.
	EnvNames []string
	// Env maps each of them to its value as written (e.g. `${{ secrets.X }}`).
	Env map[string]string
	// EnvLine is the line of each of them.
	EnvLine map[string]int
}

// Disabled reports whether an `if:` condition can never be true
// (`if: false`, `if: ${{ false }}`), the usual way to switch a step off.
func Disabled(cond string) bool {
	c := strings.TrimSpace(cond)
	if strings.HasPrefix(c, "${{") && strings.HasSuffix(c, "}}") {
		c = strings.TrimSpace(c[3 : len(c)-2])
	}
	c = strings.Trim(c, `'"`)
	c = strings.TrimSpace(strings.ToLower(c))
	return c == "false" || c == "0" || strings.HasPrefix(c, "false &&") || strings.HasPrefix(c, "false&&")
}

// Parse reads one workflow file. path is the slash path relative to the
// repository root. It never panics: a file actionlint cannot read comes back
// with Invalid set.
func Parse(relPath string, data []byte) (w *Workflow) {
	w = &Workflow{File: path.Base(relPath), Path: relPath}
	w.Comments, w.CommentCols = commentedInvocations(data)
	defer func() {
		if r := recover(); r != nil {
			w.Invalid = true
			w.ParseErrors = append(w.ParseErrors, fmt.Sprintf("workflow parser failed: %v", r))
		}
	}()
	aw, errs := actionlint.Parse(data)
	for _, e := range errs {
		w.ParseErrors = append(w.ParseErrors, fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Message))
	}
	if aw == nil {
		w.Invalid = true
		return w
	}
	if aw.Name != nil {
		w.Name = aw.Name.Value
	}
	for _, ev := range aw.On {
		if ev == nil {
			continue
		}
		w.Events = append(w.Events, Event{Name: ev.EventName(), Line: eventLine(ev)})
		if ev.EventName() == "workflow_call" {
			w.Reusable = true
		}
	}
	w.Permissions = perms(aw.Permissions)
	w.Env, w.EnvLine = envVars(aw.Env), envLines(aw.Env)
	for _, j := range aw.Jobs {
		if j == nil || j.ID == nil {
			continue
		}
		w.Jobs = append(w.Jobs, job(j))
	}
	sort.Slice(w.Jobs, func(a, b int) bool {
		if w.Jobs[a].Line != w.Jobs[b].Line {
			return w.Jobs[a].Line < w.Jobs[b].Line
		}
		return w.Jobs[a].ID < w.Jobs[b].ID
	})
	return w
}

func eventLine(ev actionlint.Event) int {
	var p *actionlint.Pos
	switch e := ev.(type) {
	case *actionlint.WebhookEvent:
		if e.Hook != nil {
			p = e.Hook.Pos
		} else {
			p = e.Pos
		}
	case *actionlint.WorkflowCallEvent:
		p = e.Pos
	case *actionlint.WorkflowDispatchEvent:
		p = e.Pos
	case *actionlint.RepositoryDispatchEvent:
		p = e.Pos
	case *actionlint.ScheduledEvent:
		p = e.Pos
	}
	return line(p)
}

func line(p *actionlint.Pos) int {
	if p == nil {
		return 0
	}
	return p.Line
}

func col(p *actionlint.Pos) int {
	if p == nil {
		return 0
	}
	return p.Col
}

func str(s *actionlint.String) string {
	if s == nil {
		return ""
	}
	return s.Value
}

func perms(p *actionlint.Permissions) *Permissions {
	if p == nil {
		return nil
	}
	out := &Permissions{Line: line(p.Pos)}
	if p.All != nil {
		out.All = strings.ToLower(strings.TrimSpace(p.All.Value))
		if out.All != "write-all" && out.All != "read-all" {
			// Anything else GitHub rejects; treat as granting nothing.
			out.All = "read-all"
		}
		return out
	}
	out.Scopes = map[string]string{}
	for name, s := range p.Scopes {
		if s == nil {
			continue
		}
		out.Scopes[strings.ToLower(name)] = strings.ToLower(strings.TrimSpace(str(s.Value)))
	}
	return out
}

// envVars reads an `env:` mapping (names as written; nil when absent or an
// expression).
func envVars(e *actionlint.Env) map[string]string {
	if e == nil || len(e.Vars) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, v := range e.Vars {
		if v != nil && v.Name != nil {
			out[v.Name.Value] = str(v.Value)
		}
	}
	return out
}

// envLines is the line of each variable of an `env:` mapping.
func envLines(e *actionlint.Env) map[string]int {
	if e == nil || len(e.Vars) == 0 {
		return nil
	}
	out := map[string]int{}
	for _, v := range e.Vars {
		if v != nil && v.Name != nil {
			out[v.Name.Value] = line(v.Name.Pos)
		}
	}
	return out
}

func job(j *actionlint.Job) *Job {
	out := &Job{ID: j.ID.Value, Line: line(j.Pos), Col: col(j.Pos), Permissions: perms(j.Permissions), Env: envVars(j.Env), EnvLine: envLines(j.Env)}
	if j.If != nil {
		out.If, out.IfLine = j.If.Value, line(j.If.Pos)
	}
	if e := j.Environment; e != nil {
		env := &Environment{Line: line(e.Pos)}
		if e.Name != nil {
			env.Name = e.Name.Value
			env.Expression = e.Name.ContainsExpression()
			if env.Line == 0 {
				env.Line = line(e.Name.Pos)
			}
		}
		out.Environment = env
	}
	if r := j.RunsOn; r != nil {
		for _, l := range r.Labels {
			if l != nil {
				out.RunsOn = append(out.RunsOn, l.Value)
				if out.RunsOnLine == 0 {
					out.RunsOnLine = line(l.Pos)
				}
			}
		}
		if r.LabelsExpr != nil {
			out.RunsOn = append(out.RunsOn, r.LabelsExpr.Value)
			out.RunsOnLine = line(r.LabelsExpr.Pos)
		}
		out.RunsOnGroup = str(r.Group)
	}
	if j.WorkflowCall != nil && j.WorkflowCall.Uses != nil {
		out.Calls, out.CallsLine = j.WorkflowCall.Uses.Value, line(j.WorkflowCall.Uses.Pos)
	}
	for _, s := range j.Steps {
		if s == nil {
			continue
		}
		st := &Step{Line: line(s.Pos), Name: str(s.Name), If: str(s.If)}
		switch ex := s.Exec.(type) {
		case *actionlint.ExecRun:
			st.Run = str(ex.Run)
			if ex.Run != nil {
				st.RunPos = line(ex.Run.Pos)
			}
		case *actionlint.ExecAction:
			st.Uses = str(ex.Uses)
			st.With = map[string]string{}
			for k, in := range ex.Inputs {
				if in != nil {
					st.With[strings.ToLower(k)] = str(in.Value)
				}
			}
		}
		st.Env, st.EnvLine = envVars(s.Env), envLines(s.Env)
		for k := range st.Env {
			st.EnvNames = append(st.EnvNames, k)
		}
		sort.Strings(st.EnvNames)
		out.Steps = append(out.Steps, st)
	}
	return out
}

// LoadDir reads every *.yml and *.yaml under root/.github/workflows (not
// recursively: GitHub ignores subdirectories), sorted by file name. A missing
// directory is not an error.
func LoadDir(root string) ([]*Workflow, error) {
	dir := filepath.Join(root, filepath.FromSlash(Dir))
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s: %w", Dir, err)
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() && (strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".yaml")) {
			names = append(names, name)
		}
	}
	// Parse on every core: a repository can have dozens of workflows and
	// YAML parsing is most of doctor's time.
	out := make([]*Workflow, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			data, err := safefile.ReadFile(filepath.Join(dir, name), safefile.MaxWorkflow)
			if err != nil {
				errs[i] = fmt.Errorf("reading %s/%s: %w", Dir, name, err)
				return
			}
			out[i] = Parse(Dir+"/"+name, data)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// HasEvent reports whether the workflow is triggered by name, and where.
func (w *Workflow) HasEvent(name string) (int, bool) {
	for _, e := range w.Events {
		if e.Name == name {
			return e.Line, true
		}
	}
	return 0, false
}
