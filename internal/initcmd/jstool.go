package initcmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

// JSTool is how the build job installs and runs an npm package's build:
// with the repository's own package manager, named by the root
// package.json's `packageManager` (corepack's field) or else by its
// lockfile, so a pnpm or yarn workspace builds as its maintainers build it.
type JSTool struct {
	Manager string // npm, pnpm or yarn
	Install string // the install command
	Exec    string // runs a dependency's binary: npx, pnpm exec, yarn
	// AtRoot: the repository root has a package.json (a workspace): install
	// there once; otherwise in the package's own folder.
	AtRoot bool
	// Corepack: enable corepack first (yarn, and pnpm pinned by packageManager).
	Corepack bool
}

// DetectJSTool reads root's package.json and lockfiles.
func DetectJSTool(root string) JSTool {
	t := JSTool{Manager: "npm"}
	pm := ""
	if data, err := os.ReadFile(filepath.Join(root, "package.json")); err == nil {
		t.AtRoot = true
		var m struct {
			PackageManager string `json:"packageManager"`
		}
		_ = json.Unmarshal(data, &m)
		pm = strings.TrimSpace(m.PackageManager)
	}
	exists := func(f string) bool { _, err := os.Stat(filepath.Join(root, f)); return err == nil }
	yarnBerry := exists(".yarnrc.yml")
	switch {
	case strings.HasPrefix(pm, "pnpm@"):
		t.Manager, t.Corepack = "pnpm", true
	case strings.HasPrefix(pm, "yarn@"):
		t.Manager, t.Corepack = "yarn", true
		yarnBerry = !strings.HasPrefix(pm, "yarn@1.")
	case strings.HasPrefix(pm, "npm@"):
	case exists("pnpm-lock.yaml"):
		t.Manager = "pnpm"
	case exists("yarn.lock"):
		t.Manager, t.Corepack = "yarn", true
	}
	switch t.Manager {
	case "pnpm":
		t.Install, t.Exec = "pnpm install --frozen-lockfile", "pnpm exec"
		if !exists("pnpm-lock.yaml") {
			t.Install = "pnpm install"
		}
		if !t.Corepack {
			// No packageManager pin: corepack would not know which pnpm.
			t.Install = "npm install --global pnpm && " + t.Install
		}
	case "yarn":
		t.Exec = "yarn"
		switch {
		case !exists("yarn.lock"):
			t.Install = "yarn install"
		case yarnBerry:
			t.Install = "yarn install --immutable"
		default:
			t.Install = "yarn install --frozen-lockfile"
		}
	default:
		t.Exec = "npx"
		if exists("package-lock.json") || exists("npm-shrinkwrap.json") {
			t.Install = "npm ci"
		} else {
			t.Install = "npm install"
		}
	}
	if !t.AtRoot {
		// Each package installs in its own folder, with its own lockfile.
		t.Install = `if [ -f package-lock.json ] || [ -f npm-shrinkwrap.json ]; then npm ci; else npm install; fi`
		t.Manager, t.Exec, t.Corepack = "npm", "npx", false
	}
	return t
}
