package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/emulator"
	"github.com/putitoutthere/putitoutthere/internal/env"
)

// A pnpm workspace and a yarn workspace whose packages depend on each other
// with `workspace:` ranges: publish (the real npm) uploads tarballs holding
// the versions pnpm and yarn would have written, and `npm install` of the
// dependent from the emulator works.
func TestE2EWorkspaceProtocolRealNPM(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real npm")
	}
	for _, tool := range []string{"git", "npm", "node"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	for _, c := range []struct {
		tool      string
		root      map[string]string
		deps      string // app's dependency maps as written
		wantDeps  map[string]string
		wantPeers map[string]string
	}{
		{
			tool: "pnpm",
			root: map[string]string{
				"package.json":        `{"name": "pw-root", "private": true, "packageManager": "pnpm@9.12.0"}`,
				"pnpm-workspace.yaml": "packages:\n  - packages/*\n",
				"pnpm-lock.yaml":      "lockfileVersion: '9.0'\n",
			},
			deps:      `"dependencies": {"@ws/core": "workspace:^", "@ws/util": "workspace:*"}, "peerDependencies": {"@ws/core": "workspace:~"}, "devDependencies": {"@ws/util": "workspace:../util"}`,
			wantDeps:  map[string]string{"@ws/core": "^0.2.0", "@ws/util": "2.0.0"},
			wantPeers: map[string]string{"@ws/core": "~0.2.0"},
		},
		{
			tool: "yarn",
			root: map[string]string{
				"package.json": `{"name": "yw-root", "private": true, "workspaces": ["packages/*"], "packageManager": "yarn@4.5.0"}`,
				".yarnrc.yml":  "nodeLinker: node-modules\n",
				"yarn.lock":    "__metadata:\n  version: 8\n",
			},
			deps:      `"dependencies": {"@ws/core": "workspace:*", "@ws/util": "workspace:^2.0.0"}, "peerDependencies": {"@ws/core": "workspace:^"}`,
			wantDeps:  map[string]string{"@ws/core": "0.2.0", "@ws/util": "^2.0.0"},
			wantPeers: map[string]string{"@ws/core": "^0.2.0"},
		},
	} {
		t.Run(c.tool, func(t *testing.T) {
			set, err := emulator.Start()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(set.Close)
			tok := "npm_" + strings.Repeat("W", 36)
			set.NPM.AddUser("octocat", tok)
			for _, p := range [][2]string{{"@ws/core", "0.1.0"}, {"@ws/app", "0.1.0"}, {"@ws/util", "2.0.0"}} {
				if err := set.NPM.CreatePackageVersion(p[0], "octocat", p[1]); err != nil {
					t.Fatal(err)
				}
			}
			home := t.TempDir()
			e := env.Env{
				"PATH": os.Getenv("PATH"), "HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": filepath.Join(home, "gitconfig"),
				"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
				"PUTITOUTTHERE_NPM_REGISTRY": set.NPM.URL(), "NODE_AUTH_TOKEN": tok,
			}
			dir := t.TempDir()
			files := map[string]string{
				"putitoutthere.toml": "[putitoutthere]\nversion = 1\n\n" +
					"[[package]]\nname = \"core\"\nkind = \"npm\"\npath = \"packages/core\"\npaths = [\"packages/core/**\"]\nnpm = \"@ws/core\"\n\n" +
					"[[package]]\nname = \"app\"\nkind = \"npm\"\npath = \"packages/app\"\npaths = [\"packages/app/**\"]\nnpm = \"@ws/app\"\ndepends_on = [\"core\"]\n",
				".gitignore":                 "artifacts/\nnode_modules/\n",
				"packages/core/package.json": `{"name": "@ws/core", "version": "0.1.0", "main": "index.js", "license": "MIT"}`,
				"packages/core/index.js":     "module.exports = 21\n",
				"packages/util/package.json": `{"name": "@ws/util", "version": "2.0.0", "main": "index.js", "license": "MIT"}`,
				"packages/util/index.js":     "module.exports = 2\n",
				"packages/app/package.json":  `{"name": "@ws/app", "version": "0.1.0", "main": "index.js", "license": "MIT", ` + c.deps + `}`,
				"packages/app/index.js":      "module.exports = require('@ws/core') * 2\n",
				"packages/app/README.md":     "app\n",
				"packages/core/README.md":    "core\n",
				"packages/util/README.md":    "util\n",
				"packages/app/.npmignore":    "*.log\n",
				"packages/core/.npmignore":   "*.log\n",
				"packages/util/.npmignore":   "*.log\n",
			}
			for k, v := range c.root {
				files[k] = v
			}
			for rel, body := range files {
				writeFile(t, filepath.Join(dir, rel), body)
			}
			gitRun(t, dir, e, "init", "-q", "-b", "main")
			gitRun(t, dir, e, "add", ".")
			gitRun(t, dir, e, "commit", "-q", "-m", "initial")
			gitRun(t, dir, e, "tag", "core-v0.1.0")
			gitRun(t, dir, e, "tag", "app-v0.1.0")
			gitRun(t, dir, e, "commit", "-q", "--allow-empty", "-m", "feat", "-m", "release: minor [core, app]")
			// The build job uploads each package folder as it is (workspace: ranges and all).
			for _, p := range []string{"core", "app"} {
				for _, f := range []string{"package.json", "index.js"} {
					b, _ := os.ReadFile(filepath.Join(dir, "packages", p, f))
					writeFile(t, filepath.Join(dir, "artifacts", p+"-pkg", f), string(b))
				}
			}
			cliMu.Lock()
			var out, errb bytes.Buffer
			code := MainEnv(t.Context(), []string{"--cwd", dir, "publish", "--json"}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, e)
			cliMu.Unlock()
			var doc publishDoc
			if err := json.Unmarshal(out.Bytes(), &doc); err != nil || code != 0 || statusesOf(doc) != "core=published app=published" {
				t.Fatalf("publish: exit %d %v %s\n%s\n%s", code, err, statusesOf(doc), out.String(), errb.String())
			}
			// What npm uploaded holds real versions.
			tgz, ok := set.NPM.Tarball("@ws/app", "0.2.0")
			if !ok {
				t.Fatal("no tarball for @ws/app 0.2.0")
			}
			var pj struct {
				Dependencies, PeerDependencies, DevDependencies map[string]string
			}
			if err := json.Unmarshal(tarMemberOf(t, tgz, "package/package.json"), &pj); err != nil {
				t.Fatal(err)
			}
			for k, v := range c.wantDeps {
				if pj.Dependencies[k] != v {
					t.Errorf("dependencies[%s] = %q, want %q", k, pj.Dependencies[k], v)
				}
			}
			for k, v := range c.wantPeers {
				if pj.PeerDependencies[k] != v {
					t.Errorf("peerDependencies[%s] = %q, want %q", k, pj.PeerDependencies[k], v)
				}
			}
			for _, m := range []map[string]string{pj.Dependencies, pj.PeerDependencies, pj.DevDependencies} {
				for k, v := range m {
					if strings.Contains(v, "workspace:") {
						t.Errorf("%s = %q reached the registry", k, v)
					}
				}
			}
			// The repository's own package.json keeps its workspace: ranges.
			if b, _ := os.ReadFile(filepath.Join(dir, "packages", "app", "package.json")); !strings.Contains(string(b), "workspace:") {
				t.Error("the repository's package.json was rewritten")
			}
			// npm installs the dependent from the emulator.
			consumer := t.TempDir()
			writeFile(t, filepath.Join(consumer, "package.json"), `{"name":"consumer","version":"0.0.0","private":true}`)
			npm := exec.Command("npm", "install", "@ws/app@0.2.0", "--registry", set.NPM.URL(), "--no-audit", "--no-fund", "--fetch-retries=0", "--legacy-peer-deps=false")
			npm.Dir = consumer
			npm.Env = append(e.List(), "npm_config_cache="+filepath.Join(home, ".npm-consumer"), "npm_config_userconfig="+filepath.Join(home, ".npmrc-none"))
			if b, err := npm.CombinedOutput(); err != nil {
				t.Fatalf("npm install: %v\n%s", err, b)
			}
			node := exec.Command("node", "-e", "process.stdout.write(String(require('@ws/app')))")
			node.Dir = consumer
			if b, err := node.Output(); err != nil || string(b) != "42" {
				t.Errorf("require('@ws/app') = %q, %v", b, err)
			}
		})
	}
}

func tarMemberOf(t *testing.T, tgz []byte, name string) []byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in the tarball: %v", name, err)
		}
		if h.Name == name {
			b, _ := io.ReadAll(tr)
			return b
		}
	}
}
