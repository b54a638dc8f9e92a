// Package npm publishes to an npm registry with `npm publish`.
//
// Under OIDC the handler performs the trusted-publishing exchange itself
// before the first upload of the run (npm-cli would silently fall back to a
// configured token and fail later with a misleading E404), and hands the
// minted token to npm through its environment (PUTITOUTTHERE_NPM_AUTH_TOKEN, which a
// temporary userconfig named by NPM_CONFIG_USERCONFIG references, so no file
// holds the token), never in argv; npm's cache and logs go to the same
// private directory, removed afterwards and swept by the next run if the
// process was killed. npm also gets the
// ID-token request variables so it can sign provenance (`--provenance`).
package npm

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/artifacts"
	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/config"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/publish"
	npmreg "github.com/putitoutthere/putitoutthere/internal/registry/npm"
	"github.com/putitoutthere/putitoutthere/internal/run"
)

// Codes raised here (npm's own failures use the npm registry client's codes).
const (
	CodeFamilyUnsupported = "PIOT_NPM_FAMILY_UNSUPPORTED" // the top-level package of a family is a tarball
)

// Client is what the handler needs from the registry (*npm.Client).
type Client interface {
	Registry() string
	Audience() string
	VersionExists(ctx context.Context, name, version string) (bool, string, error)
	PackageExists(ctx context.Context, name string) (bool, error)
	ExchangeOIDC(ctx context.Context, name, idToken string) (string, error)
	Packument(ctx context.Context, name string) (*npmreg.Packument, error)
}

var _ Client = (*npmreg.Client)(nil)

// Handler implements publish.Handler for npm.
type Handler struct {
	Client  Client
	Runner  run.Runner
	IDToken func(ctx context.Context, audience string) (string, error)
	Mask    func(token string)
	// SetVersion writes the version into a package.json (manifest.SetVersion).
	SetVersion func(kind, dir, version string) error
	// TempDir is where the userconfig file goes ("" = os.TempDir()).
	TempDir string
	// Attempts bounds npm publish runs on 429/5xx/network failures (default
	// 3); Sleep waits between them (nil = a real wait).
	Attempts int
	Sleep    func(ctx context.Context, d time.Duration) error

	npm npmVersion // the job's npm version, asked once when a package is staged
}

var _ publish.Handler = (*Handler)(nil)

// Registry implements publish.Handler.
func (h *Handler) Registry() string { return "npm" }

// URL implements publish.Handler: the version's manifest on the registry.
func (h *Handler) URL(name, version string) string {
	return h.Client.Registry() + npmreg.EscapeName(name) + "/" + url.PathEscape(version)
}

// Published implements publish.Handler.
func (h *Handler) Published(ctx context.Context, j publish.Job) (bool, error) {
	ok, _, err := h.Client.VersionExists(ctx, j.Name(), j.Version())
	return ok, err
}

// PackageExists implements publish.Handler.
func (h *Handler) PackageExists(ctx context.Context, j publish.Job) (bool, error) {
	return h.Client.PackageExists(ctx, j.Name())
}

// Authorize implements publish.Handler.
func (h *Handler) Authorize(ctx context.Context, j publish.Job) (*publish.Credential, error) {
	if isFamily(j) {
		return h.authorizeFamily(ctx, j)
	}
	if j.Auth.Method == auth.MethodToken {
		return &publish.Credential{Method: auth.MethodToken, EnvName: j.Auth.EnvName, Token: j.Env.Value(j.Auth.EnvName)}, nil
	}
	return h.exchange(ctx, j, j.Name())
}

func (h *Handler) mask(t string) {
	if h.Mask != nil {
		h.Mask(t)
	}
}

func isFamily(j publish.Job) bool {
	return j.Package.Build == config.BuildNapi || j.Package.Build == config.BuildBundledCLI
}

// target is what npm publishes: the built package folder (or tarball) from
// the artifacts, else the package's own directory.
func target(j publish.Job) (path string, isDir bool) {
	for _, row := range j.Rows {
		files := artifacts.Folder(j.Root, row)
		for _, f := range files {
			if f.Rel == "package.json" {
				return filepath.Dir(f.Path), true
			}
		}
		if tgz := artifacts.Match(files, ".tgz"); len(tgz) > 0 {
			return tgz[0].Path, false
		}
	}
	return filepath.Join(j.Root, filepath.FromSlash(j.Package.Path)), true
}

func (h *Handler) args(j publish.Job, path string, extra ...string) []string {
	access := j.Package.Access
	if access == "" {
		access = "public"
	}
	tag := j.Package.Tag
	if tag == "" {
		tag = "latest"
	}
	args := []string{"publish", path, "--access", access, "--tag", tag, "--registry", h.Client.Registry()}
	return append(args, extra...)
}

// actionsVars are the non-secret GitHub Actions variables npm reads to build
// provenance, plus the ID-token request pair it signs with.
func actionsVars(e env.Env) []string {
	var out []string
	for _, k := range e.Names() {
		switch {
		case k == "GITHUB_TOKEN":
		case strings.HasPrefix(k, "GITHUB_"), strings.HasPrefix(k, "RUNNER_"), k == "CI",
			k == "ACTIONS_ID_TOKEN_REQUEST_URL", k == "ACTIONS_ID_TOKEN_REQUEST_TOKEN":
			out = append(out, k+"="+e.Value(k))
		}
	}
	return out
}

// Publish implements publish.Handler.
func (h *Handler) Publish(ctx context.Context, j publish.Job, c *publish.Credential) error {
	if isFamily(j) {
		return h.publishFamily(ctx, j, c)
	}
	path, err := h.prepare(j)
	if err != nil {
		return err
	}
	return h.npmPublish(ctx, j, j.Name(), path, c)
}

// prepare readies what npm uploads for a plain package: the version and
// real workspace versions written into the folder; it returns its path.
func (h *Handler) prepare(j publish.Job) (string, error) {
	path, isDir := target(j)
	if isDir && h.SetVersion != nil && path != filepath.Join(j.Root, filepath.FromSlash(j.Package.Path)) {
		if err := h.SetVersion(config.KindNPM, path, j.Version()); err != nil {
			return "", fmt.Errorf("writing version %s into %s: %w", j.Version(), filepath.Join(path, "package.json"), err)
		}
	}
	if isDir {
		if err := h.replaceWorkspace(j, path); err != nil {
			return "", err
		}
	}
	return path, nil
}

// npmPublish runs `npm publish path` with c's token in a temporary userconfig.
func (h *Handler) npmPublish(ctx context.Context, j publish.Job, name, path string, c *publish.Credential) error {
	_, err := h.npmUpload(ctx, j, name, path, c, false)
	return err
}

// npmUpload runs `npm publish path` (or, with stage, `npm stage publish
// path`, returning the stage id npm prints) with c's token in a temporary
// userconfig.
func (h *Handler) npmUpload(ctx context.Context, j publish.Job, name, path string, c *publish.Credential, stage bool) (string, error) {
	_, cmdEnv, cleanup, err := h.userconfig(c.Token)
	if err != nil {
		return "", err
	}
	defer cleanup()
	// npm's own fetch retries would re-send a PUT whose answer was lost and
	// be refused ("cannot publish over"); publish retries itself, after
	// asking the registry whether the version landed.
	extra := []string{"--fetch-retries=0"}
	if isFamily(j) {
		// publish runs the family itself, members first; a lifecycle script
		// such as napi-rs's `prepublishOnly: napi prepublish` would publish
		// the platform packages on its own, outside that order.
		extra = append(extra, "--ignore-scripts")
	}
	if c.Method == auth.MethodOIDC {
		cmdEnv = append(cmdEnv, actionsVars(j.Env)...)
		if j.Env.InActions() && !c.NoProvenance {
			extra = append(extra, "--provenance")
		}
	}
	args := h.args(j, path, extra...)
	if stage {
		args = append([]string{"stage"}, args...)
	}
	for attempt := 1; ; attempt++ {
		res, err := h.Runner.Run(ctx, run.Cmd{Dir: j.Root, Name: "npm", Args: args, Env: cmdEnv})
		if err == nil {
			if stage {
				return stageID(res.Stdout), nil
			}
			return "", nil
		}
		var re *run.RunError
		if !errors.As(err, &re) {
			return "", err
		}
		pe := npmreg.ParseError(res.Stderr)
		// A staged version cannot be seen in the packument, so a lost
		// answer cannot be settled by asking: staging is not retried (a
		// re-run finds the version taken and reports it staged).
		if stage || !pe.Retryable || attempt >= h.attempts() {
			return "", pe.Diag()
		}
		// The PUT may have landed with its answer lost. The registry's read
		// side can lag (a CDN in front of the packument): wait first, then
		// ask, and send again only when the version is not there.
		if err := h.sleep(ctx, time.Duration(attempt)*2*time.Second); err != nil {
			return "", err
		}
		if ok, _, qerr := h.Client.VersionExists(ctx, name, j.Version()); qerr == nil && ok {
			return "", nil // it landed; the answer was lost
		}
	}
}

func (h *Handler) attempts() int {
	if h.Attempts > 0 {
		return h.Attempts
	}
	return 3
}

func (h *Handler) sleep(ctx context.Context, d time.Duration) error {
	if h.Sleep != nil {
		return h.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// TokenEnv is the variable npm reads the registry token from: the
// userconfig says `//host/path/:_authToken=${PUTITOUTTHERE_NPM_AUTH_TOKEN}`, so no
// file on disk ever holds the token (a run killed by SIGKILL leaves none
// behind for other jobs of a persistent runner to read).
const TokenEnv = "PUTITOUTTHERE_NPM_AUTH_TOKEN"

// tempPrefix names the private directory of one npm invocation.
const tempPrefix = "piot-npm-"

// userconfig makes a private (0700) directory for one npm invocation: a
// userconfig that references the token by TokenEnv, and npm's cache and logs
// (npm writes a debug log, 0644, that may quote a registry's answer, and the
// cache may keep one). It returns the environment npm needs and a cleanup
// that removes the directory. Directories left by runs that were killed are
// swept first.
func (h *Handler) userconfig(token string) (string, []string, func(), error) {
	sweepStale(h.tempDir())
	dir, err := os.MkdirTemp(h.TempDir, fmt.Sprintf("%s%d-", tempPrefix, os.Getpid()))
	if err != nil {
		return "", nil, func() {}, fmt.Errorf("creating the npm userconfig: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	reg := h.Client.Registry()
	u, err := url.Parse(reg)
	if err != nil {
		cleanup()
		return "", nil, func() {}, err
	}
	key := "//" + u.Host + u.Path
	if !strings.HasSuffix(key, "/") {
		key += "/"
	}
	body := "registry=" + reg + "\n"
	env := []string{
		"NPM_CONFIG_CACHE=" + filepath.Join(dir, "cache"),
		"NPM_CONFIG_LOGS_DIR=" + filepath.Join(dir, "logs"),
		"NPM_CONFIG_UPDATE_NOTIFIER=false",
	}
	if token != "" {
		body += key + ":_authToken=${" + TokenEnv + "}\n"
		env = append(env, TokenEnv+"="+token)
	}
	p := filepath.Join(dir, ".npmrc")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		cleanup()
		return "", nil, func() {}, fmt.Errorf("writing the npm userconfig: %w", err)
	}
	return p, append([]string{"NPM_CONFIG_USERCONFIG=" + p}, env...), cleanup, nil
}

func (h *Handler) tempDir() string {
	if h.TempDir != "" {
		return h.TempDir
	}
	return os.TempDir()
}

// staleAfter: a directory of a process that cannot be checked (Windows) is
// swept once it is this old.
const staleAfter = 24 * time.Hour

// sweepStale removes the npm directories of runs that no longer exist (the
// process id is in the name), so a killed run's cache and logs do not stay.
func sweepStale(tmp string) {
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, tempPrefix) {
			continue
		}
		pidText, _, _ := strings.Cut(strings.TrimPrefix(name, tempPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if processAlive(pid) {
			continue
		}
		if runtime.GOOS == "windows" {
			if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < staleAfter {
				continue
			}
		}
		os.RemoveAll(filepath.Join(tmp, name))
	}
}

// processAlive reports whether pid is a running process (on Unix; on
// Windows it cannot tell cheaply and says false, and the age rule applies).
func processAlive(pid int) bool {
	if runtime.GOOS == "windows" {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, os.ErrPermission) || strings.Contains(err.Error(), "operation not permitted")
}

// DryRun implements publish.Handler: `npm publish --dry-run`.
func (h *Handler) DryRun(ctx context.Context, j publish.Job) []string {
	path, isDir := target(j)
	if isFamily(j) {
		path, isDir = mainPackage(j)
	}
	if isDir {
		p, cleanup, err := h.bumpedCopy(path, j.Version())
		if err != nil {
			return []string{err.Error()}
		}
		defer cleanup()
		path = p
	}
	res, err := h.Runner.Run(ctx, run.Cmd{Dir: j.Root, Name: "npm", Args: h.args(j, path, "--dry-run")})
	if err == nil {
		return nil
	}
	var re *run.RunError
	if errors.As(err, &re) {
		return []string{npmreg.ParseError(res.Stderr).Error()}
	}
	return []string{err.Error()}
}

// Latest implements publish.Latester: the package's `latest` dist-tag.
func (h *Handler) Latest(ctx context.Context, name string) (string, bool, error) {
	p, err := h.Client.Packument(ctx, name)
	if err != nil || p == nil {
		return "", false, err
	}
	return p.DistTags["latest"], true, nil
}
