package npm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/putitoutthere/putitoutthere/internal/safefile"
	"os"
	"path/filepath"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/artifacts"
	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/family"
	"github.com/putitoutthere/putitoutthere/internal/manifest"
	"github.com/putitoutthere/putitoutthere/internal/plan"
	"github.com/putitoutthere/putitoutthere/internal/platform"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	npmreg "github.com/putitoutthere/putitoutthere/internal/registry/npm"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// CodeFamilyFirstPublish: a platform member does not exist yet and only OIDC
// is available.
const CodeFamilyFirstPublish = "PIOT_FIRST_PUBLISH_NEEDS_TOKEN"

func init() {
	// The completeness check judges platform payload folders with the
	// family's own header checks.
	artifacts.FamilyCheck = func(row plan.Row, dir string) []string {
		osName, cpu, libc, err := platform.NPM(row.Target)
		if err != nil {
			return []string{err.Error()}
		}
		m := family.Member{Triple: row.Target, Name: row.Name + "-" + row.Target, OS: osName, CPU: cpu, Libc: libc, Artifact: row.ArtifactName}
		p, err := family.Payload(dir, row.Build, "", m)
		if err != nil {
			return []string{firstLine(err.Error())}
		}
		if err := family.CheckPayload(p, row.Build, m); err != nil {
			return []string{firstLine(err.Error())}
		}
		return nil
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// mainPackage is the folder (or tarball) of the top-level package: the
// `main` row's artifact, else the package directory.
func mainPackage(j publish.Job) (string, bool) {
	var rows []plan.Row
	for _, r := range j.Rows {
		if r.Target == "main" || r.Target == "noarch" {
			rows = append(rows, r)
		}
	}
	jj := j
	jj.Rows = rows
	return target(jj)
}

// topManifest reads the top-level package.json (name, bin, and the fields
// members inherit).
type topManifest struct {
	raw map[string]any
}

func readTop(dir string) (*topManifest, error) {
	b, err := safefile.ReadFile(filepath.Join(dir, "package.json"), safefile.MaxManifest)
	if err != nil {
		return nil, err
	}
	t := &topManifest{}
	if err := json.Unmarshal(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), &t.raw); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "package.json"), err)
	}
	return t, nil
}

// command returns the bundled-cli command name and the launcher file the
// `bin` field points at.
func (t *topManifest) command(pkgName string) (cmd, file string) {
	unscoped := pkgName
	if i := strings.LastIndex(unscoped, "/"); i >= 0 {
		unscoped = unscoped[i+1:]
	}
	switch b := t.raw["bin"].(type) {
	case string:
		return unscoped, b
	case map[string]any:
		if len(b) == 1 {
			for k, v := range b {
				s, _ := v.(string)
				return k, s
			}
		}
		if v, ok := b[unscoped].(string); ok {
			return unscoped, v
		}
	}
	return unscoped, ""
}

// inherited are the fields each member copies from the top-level package
// (repository must match for provenance).
func (t *topManifest) inherited() map[string]any {
	out := map[string]any{}
	for _, k := range []string{"description", "license", "repository", "homepage", "bugs", "author", "engines"} {
		if v, ok := t.raw[k]; ok {
			out[k] = v
		}
	}
	return out
}

// authorizeFamily exchanges (or picks) a token for the top-level package and
// for every member not yet at this version.
func (h *Handler) authorizeFamily(ctx context.Context, j publish.Job) (*publish.Credential, error) {
	members, err := family.Members(j.Package)
	if err != nil {
		return nil, err
	}
	if j.Auth.Method == auth.MethodToken {
		return &publish.Credential{Method: auth.MethodToken, EnvName: j.Auth.EnvName, Token: j.Env.Value(j.Auth.EnvName)}, nil
	}
	c, err := h.exchange(ctx, j, j.Name())
	if err != nil {
		return nil, err
	}
	c.Tokens = map[string]string{}
	var blocked []string
	for _, m := range members {
		if ok, _, err := h.Client.VersionExists(ctx, m.Name, j.Version()); err != nil {
			return nil, err
		} else if ok {
			continue
		}
		exists, err := h.Client.PackageExists(ctx, m.Name)
		if err != nil {
			return nil, err
		}
		if !exists {
			if j.Auth.Fallback != "" {
				c.Tokens[m.Name] = j.Env.Value(j.Auth.Fallback)
				c.Note = strings.TrimPrefix(c.Note+"; ", "; ") + fmt.Sprintf("%s does not exist yet; using %s for its first publish", m.Name, j.Auth.Fallback)
				continue
			}
			blocked = append(blocked, m.Name)
			continue
		}
		mc, err := h.exchange(ctx, j, m.Name)
		if err != nil {
			return nil, err
		}
		c.Tokens[m.Name] = mc.Token
		if mc.StageOnly {
			// One stage-only member makes the whole family staged: a live
			// top-level package must never name a member that is not.
			c.StageOnly = true
			c.StageOnlyNames = append(c.StageOnlyNames, mc.StageOnlyNames...)
		}
	}
	if len(blocked) > 0 {
		e := diag.New(CodeFamilyFirstPublish, "platform packages of %s do not exist on npm yet, and trusted publishing cannot create them", j.Name())
		e.Details = blocked
		return nil, e.WithHint("publish them once with NODE_AUTH_TOKEN (or NPM_TOKEN) set, then require the trusted publisher on each at https://www.npmjs.com/package/<name>/access")
	}
	return c, nil
}

// exchange runs the OIDC exchange for one package name.
func (h *Handler) exchange(ctx context.Context, j publish.Job, name string) (*publish.Credential, error) {
	idt, err := h.IDToken(ctx, h.Client.Audience())
	if err != nil {
		return nil, err
	}
	h.mask(idt)
	tok, perms, err := h.exchangeToken(ctx, name, idt)
	if err != nil {
		fallback := "NODE_AUTH_TOKEN and NPM_TOKEN are not set"
		if j.Auth.Fallback != "" {
			fallback = j.Auth.Fallback + " is set but not used: under OIDC npm bypasses it, and publishing with it would hide a broken trusted publisher; unset ACTIONS_ID_TOKEN_REQUEST_* (drop `id-token: write`) to publish with the token"
		}
		return nil, publish.Refusal(err, npmreg.CodeTrustRefused, "npm", idt, publish.WorkflowClaimCaller,
			"https://www.npmjs.com/package/"+name+"/access (Trusted Publisher: repository, workflow filename, environment; all case-sensitive)", fallback)
	}
	secret.Register(tok)
	h.mask(tok)
	c := &publish.Credential{Method: auth.MethodOIDC, Token: tok}
	allowed, known := perms.DirectAllowed()
	c.ModeKnown = known
	if known && !allowed {
		c.StageOnly, c.StageOnlyNames = true, []string{name}
	}
	// npm refuses to generate provenance for a private repository.
	if claims, err := auth.DecodeClaims(idt); err == nil {
		if vis := auth.ClaimString(claims, "repository_visibility"); vis != "" && vis != "public" {
			c.NoProvenance = true
			c.Note = "the repository is " + vis + ": publishing without provenance (npm signs provenance only for public repositories)"
		}
	}
	return c, nil
}

// publishFamily publishes every missing member, then the top-level package
// with optionalDependencies on all of them, last: users never see a family
// with a missing member.
func (h *Handler) publishFamily(ctx context.Context, j publish.Job, c *publish.Credential) error {
	_, err := h.uploadFamily(ctx, j, c, false)
	return err
}

// uploadFamily publishes (or, with stage, stages) the family: members
// first, the top-level package last.
func (h *Handler) uploadFamily(ctx context.Context, j publish.Job, c *publish.Credential, stage bool) ([]publish.StagedUpload, error) {
	var staged []publish.StagedUpload
	members, err := family.Members(j.Package)
	if err != nil {
		return nil, err
	}
	top, isDir := mainPackage(j)
	if !isDir {
		return nil, diag.New(CodeFamilyUnsupported, "%s: the top-level package of a platform family must be a folder with package.json, not %s", j.Name(), filepath.Base(top))
	}
	tm, err := readTop(top)
	if err != nil {
		return nil, fmt.Errorf("reading the top-level package of %s: %w", j.Name(), err)
	}
	cmd, binFile := tm.command(j.Name())
	stageRoot, err := os.MkdirTemp(h.TempDir, "piot-family-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stageRoot)
	for _, m := range members {
		if ok, _, err := h.Client.VersionExists(ctx, m.Name, j.Version()); err != nil {
			return nil, err
		} else if ok {
			continue
		}
		payload, err := family.Payload(filepath.Join(j.Root, artifacts.Dir, m.Artifact), j.Package.Build, cmd, m)
		if err != nil {
			return nil, err
		}
		out := filepath.Join(stageRoot, strings.ReplaceAll(m.Name, "/", "__"))
		if err := family.Stage(m, j.Package.Build, payload, out, j.Version(), tm.inherited()); err != nil {
			return nil, err
		}
		mc := *c
		if t, ok := c.Tokens[m.Name]; ok {
			mc.Token = t
		}
		id, err := h.npmUpload(ctx, j, m.Name, out, &mc, stage)
		if err != nil {
			if stage && diag.CodeOf(err) == npmreg.CodePublishOver {
				// Taken but not live: staged by an earlier run.
				staged = append(staged, publish.StagedUpload{Name: m.Name, Version: j.Version()})
				continue
			}
			// Ambiguous answers are settled here: the orchestrator only asks
			// about the top-level package.
			if ok, _, qerr := h.Client.VersionExists(context.WithoutCancel(ctx), m.Name, j.Version()); qerr == nil && ok {
				continue
			}
			verb := "publishing"
			if stage {
				verb = "staging"
			}
			return staged, fmt.Errorf("%s platform package %s: %w", verb, m.Name, err)
		}
		if stage {
			staged = append(staged, publish.StagedUpload{Name: m.Name, Version: j.Version(), ID: id})
		}
	}
	if h.SetVersion != nil && top != filepath.Join(j.Root, filepath.FromSlash(j.Package.Path)) {
		if err := h.SetVersion(config.KindNPM, top, j.Version()); err != nil {
			return staged, err
		}
	}
	if err := manifest.SetNPMField(filepath.Join(top, "package.json"), "optionalDependencies", family.OptionalDependencies(members, j.Version())); err != nil {
		return staged, err
	}
	if err := h.replaceWorkspace(j, top); err != nil {
		return staged, err
	}
	if j.Package.Build == config.BuildBundledCLI && binFile != "" {
		launcher := filepath.Join(top, filepath.FromSlash(binFile))
		if _, err := os.Stat(launcher); os.IsNotExist(err) {
			if err := os.MkdirAll(filepath.Dir(launcher), 0o755); err != nil {
				return staged, err
			}
			if err := os.WriteFile(launcher, []byte(family.Launcher(cmd, cmd, members)), 0o755); err != nil {
				return staged, err
			}
		}
	}
	id, err := h.npmUpload(ctx, j, j.Name(), top, c, stage)
	if err != nil && stage && diag.CodeOf(err) == npmreg.CodePublishOver {
		// Taken but not live (the flow asked): staged by an earlier run.
		return append(staged, publish.StagedUpload{Name: j.Name(), Version: j.Version()}), nil
	}
	if err != nil {
		return staged, err
	}
	if stage {
		staged = append(staged, publish.StagedUpload{Name: j.Name(), Version: j.Version(), ID: id})
	}
	return staged, nil
}
