package doctor

// The npm staged-publishing phase: how each npm package will reach npm
// (npm_publish), whether the publish job's npm can stage (`npm stage` came
// in npm 11.15.0; npm's docs ask for Node ≥ 22.14.0), read from the job's
// actions/setup-node and npm install steps, and which families need one
// approval per package.

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/family"
	npmreg "github.com/putitoutthere/putitoutthere/internal/registry/npm"
	"github.com/putitoutthere/putitoutthere/internal/workflow"
)

// PhaseNPMStaging is the phase id.
const PhaseNPMStaging = "npm_staging"

// Codes of the phase.
const (
	CodeNPMTooOldForStage  = "PIOT_DOCTOR_NPM_TOO_OLD_FOR_STAGE"
	CodeNodeTooOldForStage = "PIOT_DOCTOR_NODE_TOO_OLD_FOR_STAGE"
)

var (
	minStageNPM  = semver.MustParse("11.15.0")
	minStageNode = semver.MustParse("22.14.0")
	// npmInstall matches `npm install -g npm@X` (and i, --global, -g after).
	npmInstall = regexp.MustCompile(`\bnpm\s+(?:install|i|add)\b[^\n;&|]*?\bnpm@([^\s;&|]+)`)
)

// jobTools is what the publish job's steps say about Node and npm.
type jobTools struct {
	node, nodeLine string // setup-node's node-version ("" = none), where
	npm, npmLine   string // the npm install step's version ("" = none), where
	file           string
}

func toolsOf(t *workflow.Target) jobTools {
	var jt jobTools
	if t.Step == nil {
		return jt
	}
	jt.file = t.Defining().Path
	for _, s := range t.Job().Steps {
		if s.Line > t.Step.Line {
			break // only what runs before publish
		}
		if strings.HasPrefix(strings.ToLower(s.Uses), "actions/setup-node@") {
			jt.node = s.With["node-version"]
			if jt.node == "" && s.With["node-version-file"] != "" {
				jt.node = "from " + s.With["node-version-file"]
			}
			if jt.node == "" {
				jt.node = "the runner's default"
			}
			jt.nodeLine = strconv.Itoa(s.Line)
		}
		if m := npmInstall.FindStringSubmatch(s.Run); m != nil && (strings.Contains(s.Run, " -g") || strings.Contains(s.Run, "--global")) {
			jt.npm = strings.Trim(m[1], `'"`)
			jt.npmLine = strconv.Itoa(s.Line)
		}
	}
	return jt
}

// nodeMajorMinor reads "22", "22.14", "v22.14.0", "22.x", "lts/*" (unknown).
func nodeVersion(spec string) (*semver.Version, bool) {
	s := strings.TrimPrefix(strings.TrimSpace(spec), "v")
	s = strings.TrimSuffix(strings.TrimSuffix(s, ".x"), ".*")
	v, err := semver.NewVersion(s)
	if err != nil {
		return nil, false
	}
	return v, true
}

// npmStagingPhase reports, for a config with npm packages, how each is
// published and whether the publish job can stage; nil without npm packages.
func npmStagingPhase(ctx context.Context, st *state) *Phase {
	p := newPhase(PhaseNPMStaging, "npm staged publishing", "npm")
	var npmPkgs []*config.Package
	for i := range st.cfg.Packages {
		if st.cfg.Packages[i].Kind == config.KindNPM {
			npmPkgs = append(npmPkgs, &st.cfg.Packages[i])
		}
	}
	if len(npmPkgs) == 0 {
		return nil
	}
	anyStaged, anyAuto := false, false
	for _, pkg := range npmPkgs {
		mode := pkg.NPMPublish
		if mode == "" {
			mode = config.NPMPublishAuto
		}
		var line string
		switch mode {
		case config.NPMPublishStaged:
			anyStaged = true
			line = fmt.Sprintf("%s: npm_publish = \"staged\": `npm stage publish`; live once a maintainer approves it with 2FA (npm stage approve <stage-id>); its tag and GitHub Release wait until then", pkg.Name)
		case config.NPMPublishDirect:
			line = fmt.Sprintf("%s: npm_publish = \"direct\": `npm publish`; a trusted publisher that allows only staging (npm's default since 2026-09-03 unless \"Allow npm publish\" is ticked) stops publish before the first upload", pkg.Name)
		default:
			anyAuto = true
			line = fmt.Sprintf("%s: npm_publish = \"auto\": `npm publish`, or `npm stage publish` when the trust exchange says the trusted publisher allows only staging (decided before the first upload)", pkg.Name)
		}
		p.add(Neutral, line)
		if mode != config.NPMPublishStaged {
			if only, src, err := st.npmStageOnly(ctx, pkg); err != nil {
				p.add(Neutral, fmt.Sprintf("%s: could not read its trusted-publisher settings: %v", pkg.Name, err))
			} else if only != "" && mode == config.NPMPublishDirect {
				msg := fmt.Sprintf("%s: the trusted publisher of %s allows only `npm stage publish` (%s), and npm_publish = \"direct\": publish would stop before its first upload", pkg.Name, only, src)
				p.add(Fail, msg, Issue{Code: npmreg.CodeStageOnly, Severity: SevError, File: st.cfg.File, Line: pkg.Pos.Line, Column: pkg.Pos.Col, Message: msg,
					Hint: "set `npm_publish = \"staged\"` (or \"auto\") for the package, or tick \"Allow npm publish\" on its trusted publisher"})
			} else if only != "" {
				anyStaged = true
				mode = config.NPMPublishStaged
				p.add(Warn, fmt.Sprintf("%s: the trusted publisher of %s allows only `npm stage publish` (%s): publish will stage it, and each version is live only once a maintainer approves it", pkg.Name, only, src))
			}
		}
		if pkg.Build == config.BuildNapi || pkg.Build == config.BuildBundledCLI {
			if members, err := family.Members(pkg); err == nil && mode != config.NPMPublishDirect {
				names := make([]string, 0, len(members)+1)
				for _, m := range members {
					names = append(names, m.Name)
				}
				names = append(names, pkg.RegistryName())
				verb := "is staged"
				if mode == config.NPMPublishAuto {
					verb = "would be staged (if its trusted publishers allow only staging)"
				}
				p.add(Warn, fmt.Sprintf("%s: a platform family %s as %d separate approvals, the top-level package last: %s", pkg.Name, verb, len(names), strings.Join(names, ", ")))
			}
		}
	}
	targets := st.analysis.Targets
	if len(targets) == 0 {
		p.add(Neutral, "no publish job found: the npm and Node versions it runs cannot be checked")
		p.finish()
		return p
	}
	for _, t := range targets {
		if t.Step == nil {
			continue
		}
		jt := toolsOf(t)
		where := targetName(t) + " job " + t.Job().ID
		node := "Node: no actions/setup-node step before publish (the runner's preinstalled Node)"
		if jt.node != "" {
			node = "Node " + jt.node + " (actions/setup-node, line " + jt.nodeLine + ")"
		}
		npm := "npm: no `npm install -g npm@…` step before publish (the npm bundled with that Node)"
		if jt.npm != "" {
			npm = "npm " + jt.npm + " (line " + jt.npmLine + ")"
		}
		p.add(Neutral, fmt.Sprintf("%s: %s; %s", where, node, npm))
		if !anyStaged && !anyAuto {
			continue
		}
		npmOK := false
		if jt.npm != "" {
			if jt.npm == "latest" || jt.npm == "next" {
				npmOK = true
			} else if v, err := semver.NewVersion(strings.TrimPrefix(jt.npm, "^")); err == nil {
				npmOK = !v.LessThan(minStageNPM)
			}
		}
		if !npmOK && !anyStaged {
			p.add(Neutral, "should a trusted publisher allow only staging, publish needs npm ≥ 11.15.0 in this job (`npm install -g npm@latest` after actions/setup-node); it checks before the first upload")
			continue
		}
		if !npmOK {
			sev, st := SevError, Fail
			msg := "the publish job's npm may have no `npm stage` (it came in npm 11.15.0)"
			if jt.npm != "" {
				msg = "the publish job installs npm " + jt.npm + ", which has no `npm stage` (it came in npm 11.15.0)"
			}
			p.add(st, msg, Issue{Code: CodeNPMTooOldForStage, Severity: sev, File: jt.file, Line: atoi(jt.npmLine, t.Step.Line), Message: msg,
				Hint: "add `- run: npm install -g npm@latest` after actions/setup-node in the publish job (publish checks `npm --version` before the first upload and stops when it is older than 11.15.0)"})
		}
		if v, ok := nodeVersion(jt.node); ok && v.LessThan(minStageNode) && anyStaged {
			msg := fmt.Sprintf("the publish job's Node %s is older than 22.14.0, which npm's staged-publishing docs ask for", jt.node)
			p.add(Warn, msg, Issue{Code: CodeNodeTooOldForStage, Severity: SevWarning, File: jt.file, Line: atoi(jt.nodeLine, t.Step.Line), Message: msg,
				Hint: "set actions/setup-node `node-version: 22` (or later) in the publish job"})
		}
	}
	p.finish()
	return p
}

func atoi(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

// npmStageOnly reads (--deep), with a maintainer's token (NODE_AUTH_TOKEN
// or NPM_TOKEN) when one is set, the trusted-publisher settings of pkg (and of
// a family's members), as `npm trust list` does; it returns the names that
// allow only staging ("" = none, or nothing to read with) and where that
// came from.
func (st *state) npmStageOnly(ctx context.Context, pkg *config.Package) (string, string, error) {
	if !st.opt.Deep {
		return "", "", nil // a token is sent to the registry only under --deep
	}
	tokVar := ""
	for _, k := range []string{"NODE_AUTH_TOKEN", "NPM_TOKEN"} {
		if st.opt.Env.Value(k) != "" {
			tokVar = k
			break
		}
	}
	if tokVar == "" {
		return "", "", nil
	}
	read := st.opt.NPMTrust
	if read == nil {
		read = st.npmTrust
	}
	names := []string{pkg.RegistryName()}
	if pkg.Build == config.BuildNapi || pkg.Build == config.BuildBundledCLI {
		if ms, err := family.Members(pkg); err == nil {
			for _, m := range ms {
				names = append(names, m.Name)
			}
		}
	}
	var only []string
	for _, n := range names {
		perms, found, err := read(ctx, n, st.opt.Env.Value(tokVar))
		if err != nil {
			return "", "", err
		}
		if !found {
			continue
		}
		direct := false
		for _, p := range perms {
			direct = direct || p == npmreg.PermPublish
		}
		if !direct {
			only = append(only, n)
		}
	}
	return strings.Join(only, ", "), "npm's trusted-publisher settings, read with " + tokVar, nil
}

// npmTrust is the built-in NPMTrust: GET /-/package/{name}/trust.
func (st *state) npmTrust(ctx context.Context, name, token string) ([]string, bool, error) {
	e := env.Env{}
	reg := st.opt.Env.Value(npmreg.RegistryEnv)
	if reg == "" && st.opt.NPMRegistry != nil {
		reg = st.opt.NPMRegistry(ctx)
	}
	if reg == "" {
		reg = npmConfigRegistry(ctx)
	}
	if reg == "" {
		return nil, false, fmt.Errorf("npm's registry is unknown (no npm on PATH, %s unset)", npmreg.RegistryEnv)
	}
	e[npmreg.RegistryEnv] = reg
	c := *st.opt.HTTP
	c.Policy.Attempts = 1
	client, err := npmreg.New(ctx, e, &c)
	if err != nil {
		return nil, false, err
	}
	ctx, cancel := context.WithTimeout(ctx, st.opt.RegistryTimeout)
	defer cancel()
	cfgs, err := client.TrustConfigs(ctx, token, name)
	if err != nil {
		return nil, false, err
	}
	if len(cfgs) == 0 {
		return nil, false, nil
	}
	var perms []string
	for _, c := range cfgs {
		if c.Permissions == nil {
			perms = append(perms, npmreg.PermPublish, npmreg.PermStagePublish)
		}
		perms = append(perms, c.Permissions...)
	}
	return perms, true, nil
}
