package doctor

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
)

// Codes of the config phase.
const (
	CodeConfigInvalid    = "PIOT_DOCTOR_CONFIG_INVALID"
	CodeManifestMissing  = "PIOT_DOCTOR_MANIFEST_MISSING"
	CodeManifestInvalid  = "PIOT_DOCTOR_MANIFEST_INVALID"
	CodeManifestName     = "PIOT_DOCTOR_MANIFEST_NAME"
	CodeNPMRepositoryURL = "PIOT_DOCTOR_NPM_REPOSITORY_URL"
)

func (st *state) rel(p string) string {
	if r, err := filepath.Rel(st.opt.Root, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return filepath.ToSlash(p)
}

// configPhase loads the config (phase 1) and checks each package's manifest.
// It returns nil config when the file does not load.
func configPhase(st *state) (*Phase, *config.Config) {
	p := newPhase(PhaseConfig, "config", "config")
	file := st.rel(st.opt.ConfigFile)
	cfg, err := config.Load(st.opt.ConfigFile)
	if err != nil {
		code := diag.CodeOf(err)
		if code == diag.CodeInternal {
			code = CodeConfigInvalid
		}
		hint := diag.HintOf(err)
		if hint == "" {
			hint = "fix the config; every other check needs it"
		}
		st.configErr = err
		if ps := config.ProblemsOf(err); len(ps) > 0 {
			// One issue per problem, each at its line and column, so every
			// one is also an annotation inside Actions.
			issues := make([]Issue, 0, len(ps))
			for _, pr := range ps {
				c := pr.Code
				if c == "" {
					c = code
				}
				msg := strings.TrimPrefix(pr.String(), fmt.Sprintf("%s:%d:%d: ", pr.File, pr.Pos.Line, pr.Pos.Col))
				issues = append(issues, Issue{Code: c, Severity: SevError, File: file, Line: pr.Pos.Line, Column: pr.Pos.Col, Message: msg})
			}
			issues[len(issues)-1].Hint = hint
			var de *diag.Error
			summary := err.Error()
			if errors.As(err, &de) {
				summary = de.Msg
			}
			p.add(Fail, summary, issues...)
			p.finish()
			return p, nil
		}
		p.add(Fail, file, Issue{Code: code, Severity: SevError, File: file, Message: err.Error(), Hint: hint})
		p.finish()
		return p, nil
	}
	p.add(Pass, fmt.Sprintf("%s: %d package%s", file, len(cfg.Packages), plural(len(cfg.Packages))))
	for i := range cfg.Packages {
		checkManifest(st, p, &cfg.Packages[i], file)
	}
	return p, cfg
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func label(pkg *config.Package) string { return fmt.Sprintf("%s (%s)", pkg.Name, pkg.Kind) }

func checkManifest(st *state, p *Phase, pkg *config.Package, cfgFile string) {
	mf := manifest.FileFor(pkg.Kind)
	if mf == "" {
		return // unknown kind: config validation reports it
	}
	dir := filepath.Join(st.opt.Root, filepath.FromSlash(pkg.Path))
	rel := filepath.ToSlash(filepath.Join(pkg.Path, mf))
	line := pkg.KeyPos["path"].Line
	if line == 0 {
		line = pkg.Pos.Line
	}
	name, _, err := manifest.ReadName(pkg.Kind, dir)
	if err != nil {
		code, msg, hint := CodeManifestInvalid, fmt.Sprintf("package `%s`: %s", pkg.Name, err.Error()), "fix the manifest"
		if diag.CodeOf(err) == manifest.CodeManifestMissing || errors.Is(err, os.ErrNotExist) {
			code, msg = CodeManifestMissing, fmt.Sprintf("package `%s`: `path = %q` has no %s", pkg.Name, pkg.Path, mf)
			hint = fmt.Sprintf("set `path` to the directory that holds the package's %s", mf)
		}
		p.add(Fail, label(pkg)+": "+rel, Issue{Code: code, Severity: SevError, File: cfgFile, Line: line, Message: msg, Hint: hint})
		return
	}
	want := pkg.RegistryName()
	if !sameName(pkg.Kind, name, want) {
		key := map[string]string{config.KindCrates: "crate", config.KindPyPI: "pypi", config.KindNPM: "npm"}[pkg.Kind]
		got := name
		if got == "" {
			got = "(none)"
		}
		p.add(Fail, label(pkg)+": "+rel, Issue{
			Code: CodeManifestName, Severity: SevError, File: rel,
			Message: fmt.Sprintf("package `%s`: %s names the package `%s`, but it will be published as `%s`", pkg.Name, rel, got, want),
			Hint:    fmt.Sprintf("make the manifest's name `%s`, or set `%s = %q` in the package's config block", want, key, name),
		})
		return
	}
	p.add(Pass, fmt.Sprintf("%s: %s names `%s`", label(pkg), rel, name))
}

var pySep = regexp.MustCompile(`[-_.]+`)

// sameName compares a manifest name with the registry name the way the
// registry does: PyPI normalises (PEP 503), crates.io and npm compare exactly.
func sameName(kind, a, b string) bool {
	if kind == config.KindPyPI {
		n := func(s string) string { return pySep.ReplaceAllString(strings.ToLower(s), "-") }
		return a != "" && n(a) == n(b)
	}
	return a != "" && a == b
}

// npmRepoWarnings: npm refuses a provenance publish (which trusted
// publishing turns on) unless package.json's repository.url names the GitHub
// repository it is built from (E422).
func npmRepoWarnings(st *state, p *Phase) {
	repo := st.repo
	if r := st.opt.Env.Value("GITHUB_REPOSITORY"); validRepo(r) {
		repo = r
	}
	for i := range st.cfg.Packages {
		pkg := &st.cfg.Packages[i]
		if pkg.Kind != config.KindNPM {
			continue
		}
		rel := filepath.ToSlash(filepath.Join(pkg.Path, "package.json"))
		data, err := safefile.ReadFile(filepath.Join(st.opt.Root, filepath.FromSlash(rel)), safefile.MaxWorkflow)
		if err != nil {
			continue // the manifest check reported it
		}
		var m struct {
			Repository json.RawMessage `json:"repository"`
		}
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		url := repositoryURL(m.Repository)
		hint := "npm refuses a provenance publish (on by default with trusted publishing) whose `repository.url` does not match the GitHub repository (E422)"
		owner, name, ok := ParseRemote(expandShorthand(url))
		switch {
		case url == "":
			p.add(Warn, label(pkg)+": package.json has no repository.url", Issue{
				Code: CodeNPMRepositoryURL, Severity: SevWarning, File: rel,
				Message: fmt.Sprintf("package `%s`: %s has no `repository.url`", pkg.Name, rel),
				Hint:    hint + fmt.Sprintf("; add `\"repository\": {\"type\": \"git\", \"url\": \"git+https://github.com/%s.git\"}`", orPlaceholder(repo)),
			})
		case repo != "" && (!ok || owner+"/"+name != repo):
			p.add(Warn, label(pkg)+": package.json repository.url does not match "+repo, Issue{
				Code: CodeNPMRepositoryURL, Severity: SevWarning, File: rel,
				Message: fmt.Sprintf("package `%s`: %s `repository.url` is %q, but the repository is %s", pkg.Name, rel, url, repo),
				Hint:    hint,
			})
		}
	}
}

func orPlaceholder(repo string) string {
	if repo == "" {
		return "OWNER/REPO"
	}
	return repo
}

func repositoryURL(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		URL string `json:"url"`
	}
	if json.Unmarshal(raw, &o) == nil {
		return o.URL
	}
	return ""
}

// expandShorthand turns package.json's `github:o/r` and `o/r` forms into URLs.
func expandShorthand(u string) string {
	if rest, ok := strings.CutPrefix(u, "github:"); ok {
		return "https://github.com/" + rest
	}
	if !strings.Contains(u, ":") && strings.Count(u, "/") == 1 {
		return "https://github.com/" + u
	}
	return u
}
