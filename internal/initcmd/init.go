// Package initcmd implements `putitoutthere init` (SPEC §8): it discovers the
// packages in a repository and writes the config, the release and PR-check
// workflows, and the agent notes on the release trailer. What it writes
// passes `putitoutthere doctor`.
package initcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/config"
)

// Files init writes, relative to the repository root.
const (
	FileConfig   = config.FileName
	FileRelease  = ".github/workflows/release.yml"
	FileCheck    = ".github/workflows/putitoutthere-check.yml"
	FileAgents   = "putitoutthere/AGENTS.md"
	FileClaude   = "CLAUDE.md"
	ClaudeImport = "@putitoutthere/AGENTS.md"
)

// Options for Run.
type Options struct {
	Root    string // repository root (absolute)
	Cadence string // immediate | scheduled; "" = the existing config's, else immediate
	Force   bool   // overwrite existing files
	// Branch the release workflow triggers on; "" = origin's default branch,
	// else main.
	Branch string
	// DryRun: work out everything and say what would be written, and why,
	// writing nothing.
	DryRun bool
}

// Planned is a file init writes (or, with DryRun, would write), and why.
type Planned struct {
	File string `json:"file"`
	Why  string `json:"why"`
}

// Result says what Run did. Paths are relative to Root, slash-separated.
type Result struct {
	Written  []string  `json:"written"`
	Skipped  []string  `json:"skipped"`
	Packages []Found   `json:"packages"`
	Ignored  []Skipped `json:"ignored_manifests"`
	// TagFormatHint: the history has v* tags (see RenderConfig).
	TagFormatHint bool   `json:"tag_format_hint"`
	Cadence       string `json:"cadence"`
	Branch        string `json:"branch"`
	// Warnings are things the maintainer must change before the first
	// release (an npm lifecycle script that publishes on its own).
	Warnings []string `json:"warnings,omitempty"`
	// Groups are the lockstep groups proposed from shared tags or an
	// inherited Cargo workspace version.
	Groups []GroupFound `json:"groups"`
	// Publishers are existing workflow jobs that publish with another tool.
	Publishers []Publisher `json:"publishers"`
	// Notes are things the user should know (a taken workflow name, a
	// trusted publisher to register).
	Notes  []string  `json:"notes"`
	DryRun bool      `json:"dry_run,omitempty"`
	Plan   []Planned `json:"plan"`
	// Config is the putitoutthere.toml text (written, or with DryRun, that
	// would be written).
	Config string `json:"config,omitempty"`
}

// Run discovers packages and writes every file that does not exist yet (all
// of them with Force).
func Run(ctx context.Context, opt Options) (*Result, error) {
	res := &Result{Written: []string{}, Skipped: []string{}, Packages: []Found{}, Ignored: []Skipped{},
		Groups: []GroupFound{}, Publishers: []Publisher{}, Notes: []string{}, Plan: []Planned{}, DryRun: opt.DryRun}
	cfgPath := filepath.Join(opt.Root, FileConfig)

	res.Cadence = opt.Cadence
	if res.Cadence == "" {
		res.Cadence = config.CadenceImmediate
		// Keep an existing config's cadence when the flag is not given.
		if c, err := config.Load(cfgPath); err == nil && c.Cadence != "" {
			res.Cadence = c.Cadence
		}
	}
	if res.Cadence != config.CadenceImmediate && res.Cadence != config.CadenceScheduled {
		return nil, fmt.Errorf("cadence %q: must be immediate or scheduled", res.Cadence)
	}
	res.Branch = opt.Branch
	if res.Branch == "" {
		res.Branch = defaultBranch(ctx, opt.Root)
	}

	found, ignored, err := Discover(opt.Root)
	if err != nil {
		return nil, err
	}
	groups := TagSchemes(found, allTags(ctx, opt.Root))
	res.TagFormatHint = hasVTags(ctx, opt.Root)

	// The release workflow: release.yml, unless that name is taken by a
	// workflow that is not ours (then a free name, said so).
	releaseFile := FileRelease
	if !opt.Force {
		if taken, why := workflowTaken(opt.Root, FileRelease); taken {
			releaseFile = freeWorkflowName(opt.Root, "putitoutthere-release")
			res.Notes = append(res.Notes, fmt.Sprintf("%s exists (%s): the release workflow is written to %s instead; doctor checks that one", FileRelease, why, releaseFile))
		}
	}
	pubs := FindPublishers(opt.Root)
	res.Publishers = append(res.Publishers, pubs...)
	res.Notes = append(res.Notes, applyPublishers(found, pubs, path.Base(releaseFile))...)
	env, envNote := publishEnvironment(found)
	if envNote != "" {
		res.Notes = append(res.Notes, envNote)
	}
	res.Packages = append(res.Packages, found...)
	res.Warnings = append(res.Warnings, lifecycleWarnings(opt.Root, found)...)
	res.Ignored = append(res.Ignored, ignored...)
	res.Groups = append(res.Groups, groups...)

	cfgText := RenderConfigWith(found, groups, res.Cadence, res.TagFormatHint)
	res.Config = string(cfgText)
	if len(found) > 0 {
		// What we write must load; anything else is our bug, not the user's.
		if _, err := config.Parse(FileConfig, cfgText); err != nil {
			return nil, &GeneratedInvalidError{Err: err}
		}
	}
	// Token variables only for packages the config says use one: the
	// existing config when there is one, else the one written now.
	var tokens []TokenEnv
	if c, err := config.Load(cfgPath); err == nil {
		tokens = TokensFor(c)
	} else if c, err := config.Parse(FileConfig, cfgText); err == nil {
		tokens = TokensFor(c)
	}
	release, err := RenderReleaseFull(res.Cadence, res.Branch, tokens, DetectJSTool(opt.Root), env)
	if err != nil {
		return nil, err
	}
	check, err := RenderCheck()
	if err != nil {
		return nil, err
	}
	agents, err := RenderAgents()
	if err != nil {
		return nil, err
	}

	for _, f := range []struct {
		rel  string
		data []byte
		why  string
	}{
		{FileConfig, cfgText, fmt.Sprintf("%d package(s), %d group(s), from the manifests and the tag history", len(found), len(groups))},
		{releaseFile, release, "plan -> build -> publish on pushes to " + res.Branch},
		{FileCheck, check, "doctor and publish --dry-run on pull requests"},
		{FileAgents, agents, "the release: trailer convention"},
	} {
		if opt.DryRun {
			if exists(opt.Root, f.rel) && !opt.Force {
				res.Skipped = append(res.Skipped, f.rel)
				continue
			}
			res.Plan = append(res.Plan, Planned{f.rel, f.why})
			continue
		}
		wrote, err := writeFile(opt.Root, f.rel, f.data, opt.Force)
		if err != nil {
			return res, err
		}
		if wrote {
			res.Written = append(res.Written, f.rel)
			res.Plan = append(res.Plan, Planned{f.rel, f.why})
		} else {
			res.Skipped = append(res.Skipped, f.rel)
		}
	}
	if opt.DryRun {
		res.Plan = append(res.Plan, Planned{FileClaude, "gains the line " + ClaudeImport + " (unless it has it)"})
		return res, nil
	}

	wrote, err := appendClaude(opt.Root)
	if err != nil {
		return res, err
	}
	if wrote {
		res.Written = append(res.Written, FileClaude)
	} else {
		res.Skipped = append(res.Skipped, FileClaude)
	}
	return res, nil
}

// SymlinkError: init was about to write through a symbolic link. A committed
// symlink (CLAUDE.md -> ../outside/bashrc, .github/workflows -> elsewhere)
// would make init append to or overwrite a file outside the repository.
type SymlinkError struct {
	Rel  string // the file init writes
	Link string // the path (rel or one of its parent directories) that is a symlink
}

func (e *SymlinkError) Error() string {
	if e.Link == e.Rel {
		return fmt.Sprintf("refusing to write %s: it is a symbolic link; init writes only regular files inside the repository", e.Rel)
	}
	return fmt.Sprintf("refusing to write %s: %s is a symbolic link; init writes only inside the repository", e.Rel, e.Link)
}

// checkNoSymlink returns a *SymlinkError when rel, or a directory on the way
// to it below root, is a symbolic link. What does not exist yet is fine.
func checkNoSymlink(root, rel string) error {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	cur := root
	for i, part := range parts {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("checking %s: %w", rel, err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return &SymlinkError{Rel: rel, Link: strings.Join(parts[:i+1], "/")}
		}
		if i < len(parts)-1 && !fi.IsDir() {
			return fmt.Errorf("cannot write %s: %s is not a directory", rel, strings.Join(parts[:i+1], "/"))
		}
	}
	return nil
}

// writeAtomic writes data to p through a temporary file renamed into place:
// a rename replaces a path, it never follows a link placed there meanwhile.
func writeAtomic(p string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".piot-init-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp, p)
	}
	if werr != nil {
		os.Remove(tmp)
	}
	return werr
}

// publishEnvironment is the environment the existing trusted publishers
// pin, when they agree on one; "" otherwise (the template's `release`).
// Packages without one get the chosen environment too, so the workflow and
// the config say the same.
func publishEnvironment(found []Found) (string, string) {
	env, note := "", ""
	for _, f := range found {
		if tp := f.TrustPolicy; tp != nil && tp.Environment != "" {
			if env != "" && env != tp.Environment {
				note = fmt.Sprintf("the existing publishers use the environments %s and %s; the one publish job runs in `release`: register that environment with each registry", env, tp.Environment)
				env = "release"
				break
			}
			env = tp.Environment
		}
	}
	if env == "" {
		return "", ""
	}
	for i := range found {
		if tp := found[i].TrustPolicy; tp != nil {
			tp.Environment = env
		}
	}
	return env, note
}

// UsesV reports whether a detected scheme already continues the v* tags.
func UsesV(found []Found, groups []GroupFound) bool {
	for _, f := range found {
		if f.TagFormat == "v{version}" {
			return true
		}
	}
	for _, g := range groups {
		if g.TagFormat == "v{version}" {
			return true
		}
	}
	return false
}

// GeneratedInvalidError: the config init produced does not validate (a
// detection init got wrong), so nothing was written.
type GeneratedInvalidError struct{ Err error }

func (e *GeneratedInvalidError) Error() string {
	return "the generated " + FileConfig + " does not validate: " + e.Err.Error()
}
func (e *GeneratedInvalidError) Unwrap() error { return e.Err }

func exists(root, rel string) bool {
	_, err := os.Lstat(filepath.Join(root, filepath.FromSlash(rel)))
	return err == nil
}

// workflowTaken reports whether rel exists and is not a putitoutthere
// workflow (it would be left alone, and doctor would find no publish job).
func workflowTaken(root, rel string) (bool, string) {
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return false, ""
	}
	if strings.Contains(string(data), "putitoutthere") {
		return false, ""
	}
	return true, "another workflow, left as it is"
}

// freeWorkflowName is .github/workflows/<base>.yml, or <base>-2.yml, … the
// first name not taken.
func freeWorkflowName(root, base string) string {
	for k := 1; ; k++ {
		name := base + ".yml"
		if k > 1 {
			name = fmt.Sprintf("%s-%d.yml", base, k)
		}
		rel := ".github/workflows/" + name
		if taken, _ := workflowTaken(root, rel); !taken {
			return rel
		}
	}
}

// allTags lists every tag of the repository (reachable or not).
func allTags(ctx context.Context, root string) []string {
	out, err := git(ctx, root, "for-each-ref", "--format=%(refname:short)", "refs/tags")
	if err != nil {
		return nil
	}
	return strings.Fields(out)
}

// writeFile writes root/rel unless it exists (and force is off).
func writeFile(root, rel string, data []byte, force bool) (bool, error) {
	p := filepath.Join(root, filepath.FromSlash(rel))
	if _, err := os.Lstat(p); err == nil && !force {
		return false, nil // kept as it is: nothing is written
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("checking %s: %w", rel, err)
	}
	if err := checkNoSymlink(root, rel); err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return false, fmt.Errorf("creating the directory for %s: %w", rel, err)
	}
	// Created meanwhile as a link? Checked again right before the write.
	if err := checkNoSymlink(root, rel); err != nil {
		return false, err
	}
	if err := writeAtomic(p, data); err != nil {
		return false, fmt.Errorf("writing %s: %w", rel, err)
	}
	return true, nil
}

// appendClaude adds the AGENTS.md import to CLAUDE.md once. Appending never
// loses what the file holds, so it needs no --force.
func appendClaude(root string) (bool, error) {
	p := filepath.Join(root, FileClaude)
	old, err := safefile.ReadFile(p, safefile.MaxManifest)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("reading %s: %w", FileClaude, err)
	}
	for _, line := range strings.Split(string(old), "\n") {
		if strings.TrimSpace(line) == ClaudeImport {
			return false, nil
		}
	}
	if err := checkNoSymlink(root, FileClaude); err != nil {
		return false, err
	}
	var b bytes.Buffer
	b.Write(old)
	if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
		b.WriteByte('\n')
	}
	b.WriteString(ClaudeImport + "\n")
	if err := writeAtomic(p, b.Bytes()); err != nil {
		return false, fmt.Errorf("writing %s: %w", FileClaude, err)
	}
	return true, nil
}

// hasVTags reports whether the repository has tags like v1.2.3.
func hasVTags(ctx context.Context, root string) bool {
	out, err := git(ctx, root, "tag", "--list", "v*")
	if err != nil {
		return false
	}
	for _, t := range strings.Fields(out) {
		if len(t) > 1 && t[1] >= '0' && t[1] <= '9' {
			return true
		}
	}
	return false
}

// RepoRoot is the top of the git work tree holding dir, or dir itself when
// it is not in one. init writes there: workflows only count at the root.
func RepoRoot(ctx context.Context, dir string) string {
	out, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil || strings.TrimSpace(out) == "" {
		return dir
	}
	return filepath.Clean(strings.TrimSpace(out))
}

// defaultBranch is origin's default branch, else the current branch when it
// is main or master, else main.
func defaultBranch(ctx context.Context, root string) string {
	if out, err := git(ctx, root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"); err == nil {
		if b := strings.TrimPrefix(strings.TrimSpace(out), "origin/"); b != "" && b != strings.TrimSpace(out) {
			return b
		}
	}
	if out, err := git(ctx, root, "symbolic-ref", "--quiet", "--short", "HEAD"); err == nil {
		if b := strings.TrimSpace(out); b == "master" {
			return b
		}
	}
	return "main"
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return out.String(), nil
}
