package initcmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetectJSTool(t *testing.T) {
	for _, c := range []struct {
		files   map[string]string
		manager string
		install string
	}{
		{map[string]string{"package.json": `{"packageManager":"pnpm@9.12.0"}`, "pnpm-lock.yaml": ""}, "pnpm", "pnpm install --frozen-lockfile"},
		{map[string]string{"package.json": `{}`, "pnpm-lock.yaml": ""}, "pnpm", "npm install --global pnpm && pnpm install --frozen-lockfile"},
		{map[string]string{"package.json": `{"packageManager":"yarn@4.5.0"}`, "yarn.lock": ""}, "yarn", "yarn install --immutable"},
		{map[string]string{"package.json": `{"packageManager":"yarn@1.22.22"}`, "yarn.lock": ""}, "yarn", "yarn install --frozen-lockfile"},
		{map[string]string{"package.json": `{}`, "package-lock.json": "{}"}, "npm", "npm ci"},
		{map[string]string{"package.json": `{"workspaces":["packages/*"]}`}, "npm", "npm install"},
		{map[string]string{"Cargo.toml": ""}, "npm", "if [ -f package-lock.json ]"},
	} {
		root := t.TempDir()
		for n, b := range c.files {
			os.WriteFile(filepath.Join(root, n), []byte(b), 0o644)
		}
		got := DetectJSTool(root)
		if got.Manager != c.manager || !strings.HasPrefix(got.Install, c.install) {
			t.Errorf("%v: %+v", c.files, got)
		}
		rel, err := RenderReleaseFor("immediate", "main", nil, got)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(rel), "run: "+got.Install) || strings.Contains(string(rel), "npm version") || strings.Contains(string(rel), "sed -i") {
			t.Errorf("%v: release.yml install/stamp steps wrong", c.files)
		}
		if !strings.Contains(string(rel), "command: prepare") {
			t.Error("release.yml does not run prepare")
		}
	}
}
