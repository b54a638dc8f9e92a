package npm

// Staged publishing (npm ≥ 11.15.0): `npm stage publish` puts a version up
// for a maintainer's 2FA approval (npm's lib/commands/stage/*.js). The
// version takes its number at once but is not installable until approved.

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/family"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	npmreg "github.com/putitoutthere/putitoutthere/internal/registry/npm"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

// Codes of staged publishing.
const (
	CodeTooOldForStage = "PIOT_NPM_TOO_OLD_FOR_STAGE"
)

// MinStageNPM is the first npm with `npm stage` (npm's docs, "Staged publishing").
var MinStageNPM = semver.MustParse("11.15.0")

var _ publish.Stager = (*Handler)(nil)

// exchanger is the exchange that also reads the connection's permissions
// (*npmreg.Client); clients without it answer with the token only.
type exchanger interface {
	Exchange(ctx context.Context, name, idToken string) (npmreg.Exchanged, error)
}

// trustReader reads a package's trusted publishers with a maintainer's
// token (*npmreg.Client).
type trustReader interface {
	TrustConfigs(ctx context.Context, token, name string) ([]npmreg.TrustConfig, error)
}

// stageReader reads stages with a maintainer's token (*npmreg.Client).
type stageReader interface {
	StageView(ctx context.Context, token, id string) (*npmreg.StageItem, error)
	StageList(ctx context.Context, token, name string) ([]npmreg.StageItem, error)
}

func (h *Handler) exchangeToken(ctx context.Context, name, idt string) (string, npmreg.Exchanged, error) {
	if x, ok := h.Client.(exchanger); ok {
		ex, err := x.Exchange(ctx, name, idt)
		return ex.Token, ex, err
	}
	tok, err := h.Client.ExchangeOIDC(ctx, name, idt)
	return tok, npmreg.Exchanged{Token: tok}, err
}

// stagedLine is how npm reports a staged package (lib/commands/publish.js):
// "+ name@1.2.3 (staged with id <uuid>)".
var stagedLine = regexp.MustCompile(`\(staged with id ([0-9A-Fa-f-]{36})\)`)

func stageID(stdout string) string {
	if m := stagedLine.FindStringSubmatch(stdout); m != nil {
		return m[1]
	}
	return ""
}

// StageMode implements publish.Stager.
func (h *Handler) StageMode(ctx context.Context, j publish.Job, c *publish.Credential) (bool, string, error) {
	mode := j.Package.NPMPublish
	stageOnly := c != nil && c.StageOnly
	names := j.Name()
	if c != nil && len(c.StageOnlyNames) > 0 {
		names = strings.Join(c.StageOnlyNames, ", ")
	}
	staged, why := false, ""
	switch mode {
	case config.NPMPublishStaged:
		staged, why = true, `npm_publish = "staged"`
	case config.NPMPublishDirect:
		if stageOnly {
			return false, "", diag.New(npmreg.CodeStageOnly, "%s: the trusted publisher of %s allows only `npm stage publish` (the token exchange said so), and npm_publish = \"direct\"; nothing was published", j.Package.Name, names).
				WithHint("set `npm_publish = \"staged\"` (or remove it: \"auto\" stages such packages) for %s in putitoutthere.toml, or tick \"Allow npm publish\" on the trusted publisher at https://www.npmjs.com/package/%s/access", j.Package.Name, j.Name())
		}
	default: // auto
		if stageOnly {
			staged, why = true, "the trusted publisher of "+names+" allows only `npm stage publish` (said by the token exchange)"
		} else if c != nil && c.Method == auth.MethodOIDC && !c.ModeKnown {
			if only := h.trustSaysStageOnly(ctx, j); only != "" {
				staged, why = true, "the trusted publisher of "+only+" allows only `npm stage publish` (read from npm's trusted-publisher settings)"
			}
		}
	}
	if !staged {
		return false, "", nil
	}
	if err := h.checkStageNPM(ctx, j); err != nil {
		return true, why, err
	}
	return true, why, nil
}

type npmVersion struct {
	once sync.Once
	v    string
	err  error
}

// checkStageNPM: the npm the job runs must have `npm stage`; asked before
// the first upload so nothing ships before a too-old npm is found.
func (h *Handler) checkStageNPM(ctx context.Context, j publish.Job) error {
	nv := &h.npm
	nv.once.Do(func() {
		res, err := h.Runner.Run(ctx, run.Cmd{Dir: j.Root, Name: "npm", Args: []string{"--version"}})
		nv.v, nv.err = strings.TrimSpace(res.Stdout), err
	})
	if nv.err != nil {
		return diag.New(CodeTooOldForStage, "%s is to be staged, and `npm --version` failed; nothing was published", j.Package.Name).Wrap(nv.err).
			WithHint("install npm ≥ %s in the publish job (actions/setup-node, then `npm install -g npm@latest`)", MinStageNPM)
	}
	v, err := semver.NewVersion(nv.v)
	if err == nil && !v.LessThan(MinStageNPM) {
		return nil
	}
	return diag.New(CodeTooOldForStage, "%s is to be staged, and npm %s has no `npm stage` (it came in npm %s); nothing was published", j.Package.Name, nv.v, MinStageNPM).
		WithHint("add `- run: npm install -g npm@latest` (npm ≥ %s) after actions/setup-node in the publish job; npm's docs ask for Node ≥ 22.14.0 for staging (setup-node `node-version: 22` or later)", MinStageNPM)
}

// Stage implements publish.Stager.
func (h *Handler) Stage(ctx context.Context, j publish.Job, c *publish.Credential) ([]publish.StagedUpload, error) {
	if isFamily(j) {
		return h.uploadFamily(ctx, j, c, true)
	}
	path, err := h.prepare(j)
	if err != nil {
		return nil, err
	}
	id, err := h.npmUpload(ctx, j, j.Name(), path, c, true)
	if err != nil {
		if diag.CodeOf(err) == npmreg.CodePublishOver {
			// The number is taken and the version is not live (the flow
			// asked): an earlier run staged it. Never stage twice.
			return []publish.StagedUpload{{Name: j.Name(), Version: j.Version()}}, nil
		}
		return nil, err
	}
	return []publish.StagedUpload{{Name: j.Name(), Version: j.Version(), ID: id}}, nil
}

// readToken is a maintainer's token that may read stages (the exchange's
// short-lived tokens cannot run `npm stage` subcommands).
func readToken(j publish.Job) string {
	for _, k := range []string{"NODE_AUTH_TOKEN", "NPM_TOKEN"} {
		if v := j.Env.Value(k); v != "" {
			return v
		}
	}
	return ""
}

// StageGone implements publish.Stager.
func (h *Handler) StageGone(ctx context.Context, j publish.Job, stages []publish.StagedUpload) (bool, bool, error) {
	sr, ok := h.Client.(stageReader)
	tok := readToken(j)
	if !ok || tok == "" || len(stages) == 0 {
		return false, false, nil
	}
	for _, st := range stages {
		if st.ID != "" {
			it, err := sr.StageView(ctx, tok, st.ID)
			if err != nil {
				return false, false, err
			}
			if it != nil {
				return false, true, nil
			}
			continue
		}
		items, err := sr.StageList(ctx, tok, st.Name)
		if err != nil {
			return false, false, err
		}
		for _, it := range items {
			if it.Version == st.Version {
				return false, true, nil
			}
		}
	}
	return true, true, nil
}

// ApproveHint implements publish.Stager.
func (h *Handler) ApproveHint(j publish.Job, stages []publish.StagedUpload) string {
	var cmds []string
	for _, st := range stages {
		if st.ID != "" {
			cmds = append(cmds, "npm stage approve "+st.ID)
		} else {
			cmds = append(cmds, "npm stage list "+st.Name+" (then npm stage approve <stage-id>)")
		}
	}
	order := ""
	if len(stages) > 1 {
		order = " in this order (the top-level package last)"
	}
	return fmt.Sprintf("a maintainer approves with 2FA%s: %s — or on https://www.npmjs.com/package/%s (Staged Packages); re-run publish afterwards (or use --wait) to create the tag and GitHub Release", order, strings.Join(cmds, "; "), j.Name())
}

// StageOnlyRefusal implements publish.Stager: the stage-only answer to an
// exchanged token, and the one-time-password demand to a token without
// "bypass 2FA" (npm's docs: such a token can stage; only `npm publish`
// prompts for 2FA).
func (h *Handler) StageOnlyRefusal(err error) bool {
	switch diag.CodeOf(err) {
	case npmreg.CodeStageOnly, npmreg.CodeOTPRequired:
		return true
	}
	return false
}

// trustSaysStageOnly asks npm's trusted-publisher settings, with a
// maintainer's token when one is set, whether the package (or a family
// member) allows only staging; it returns those names ("" = no, or unknown).
func (h *Handler) trustSaysStageOnly(ctx context.Context, j publish.Job) string {
	tr, ok := h.Client.(trustReader)
	tok := readToken(j)
	if !ok || tok == "" {
		return ""
	}
	names := []string{j.Name()}
	if isFamily(j) {
		if ms, err := family.Members(j.Package); err == nil {
			for _, m := range ms {
				names = append(names, m.Name)
			}
		}
	}
	var only []string
	for _, n := range names {
		cfgs, err := tr.TrustConfigs(ctx, tok, n)
		if err != nil || len(cfgs) == 0 {
			continue
		}
		direct := false
		for _, c := range cfgs {
			direct = direct || c.Permissions == nil || slices.Contains(c.Permissions, npmreg.PermPublish)
		}
		if !direct {
			only = append(only, n)
		}
	}
	return strings.Join(only, ", ")
}
