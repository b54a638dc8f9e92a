package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/putitoutthere/putitoutthere/internal/config"
)

// This file finishes the command tree the way gh's is: an Example in every
// command's help, flag help that reads right, and shell completion of
// package names and flag values. It runs over the whole tree after it is
// built, so a new command gets the same treatment.

// examples are the `Example:` sections, by command path (without the root).
var examples = map[string]string{
	"init": `  putitoutthere init
  putitoutthere init --cadence scheduled
  putitoutthere init --force    # rewrite the files it writes`,
	"plan": `  putitoutthere plan
  putitoutthere plan --json | jq -r '.[].artifact_name'
  putitoutthere plan --graph     # the cascade as a Mermaid graph`,
	"publish": `  putitoutthere publish --dry-run
  putitoutthere publish --preflight-check
  putitoutthere publish --timeout 30m --json`,
	"doctor": `  putitoutthere doctor
  putitoutthere doctor --deep
  putitoutthere doctor --artifacts --json`,
	"preflight": `  putitoutthere preflight
  putitoutthere preflight --all --json`,
	"prepare": `  putitoutthere prepare --package core
  putitoutthere prepare --package core --package core-py --json`,
	"status": `  putitoutthere status
  putitoutthere status --json | jq '.packages[] | select(.drift)'`,
	"rehearse": `  putitoutthere rehearse
  putitoutthere rehearse --trust core=my-org/my-repo:release.yml:release
  putitoutthere rehearse --npm-stage-only --approve`,
	"token": `  putitoutthere token list
  putitoutthere token inspect --registry npm`,
	"token list": `  putitoutthere token list
  putitoutthere token list --secrets --json`,
	"token inspect": `  putitoutthere token inspect
  putitoutthere token inspect --registry pypi
  putitoutthere token inspect --token "$NPM_TOKEN" --json`,
	"auth": `  putitoutthere auth login
  putitoutthere auth status`,
	"auth login":  `  putitoutthere auth login`,
	"auth status": `  putitoutthere auth status --json`,
	"auth logout": `  putitoutthere auth logout`,
	"version": `  putitoutthere version
  putitoutthere --version
  putitoutthere version --json`,
	"completion": `  source <(putitoutthere completion bash)
  putitoutthere completion zsh > "${fpath[1]}/_putitoutthere"
  putitoutthere completion fish > ~/.config/fish/completions/putitoutthere.fish`,
	"man": `  putitoutthere man --dir /usr/local/share/man/man1`,
}

// flagValues are the values a flag takes, for completion.
var flagValues = map[string][]string{
	"cadence":  {config.CadenceImmediate, config.CadenceScheduled},
	"registry": {config.KindCrates, config.KindPyPI, config.KindNPM},
	"runner":   {"github-hosted", "self-hosted"},
	"oidc-sub": {"default", "immutable"},
	"event":    {"push", "workflow_dispatch", "release", "schedule", "workflow_run", "pull_request_target"},
	"timeout":  {"10m", "30m", "1h"},
	"wait":     {"10m", "30m", "1h"},
}

// spacedBackticks finds `text with spaces` in a flag's usage: pflag reads a
// backticked word as the flag's value name, so `needs `auth login“ would
// print as `--secrets auth login`.
var spacedBackticks = regexp.MustCompile("`([^`]* [^`]*)`")

// polish applies examples, usage fixes and completion to every command.
func polish(root *cobra.Command, app *App) {
	root.Example = `  putitoutthere init
  putitoutthere doctor
  putitoutthere plan
  putitoutthere publish --dry-run`
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
		if c.Example == "" {
			c.Example = examples[path]
		}
		fix := func(f *pflag.Flag) {
			f.Usage = spacedBackticks.ReplaceAllString(f.Usage, "'$1'")
		}
		c.LocalFlags().VisitAll(fix)
		c.Flags().VisitAll(fix)
		c.PersistentFlags().VisitAll(fix)
		for name, vals := range flagValues {
			if c.Flags().Lookup(name) != nil && c.Flags().Lookup(name).Shorthand == "" {
				_ = c.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp))
			}
		}
		if c.Flags().Lookup("package") != nil {
			_ = c.RegisterFlagCompletionFunc("package", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
				return packageNames(cmd, app), cobra.ShellCompDirectiveNoFileComp
			})
		}
		if c.Flags().Lookup("trust") != nil {
			_ = c.RegisterFlagCompletionFunc("trust", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
				var out []string
				for _, n := range packageNames(cmd, app) {
					out = append(out, n+"=")
				}
				return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	_ = root.RegisterFlagCompletionFunc("config", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"toml"}, cobra.ShellCompDirectiveFilterFileExt
	})
	_ = root.RegisterFlagCompletionFunc("cwd", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveFilterDirs
	})
	for name, vals := range flagValues {
		if root.PersistentFlags().Lookup(name) != nil {
			_ = root.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp))
		}
	}
}

// packageNames are the package names of the config the command would read
// (completion runs without the command's own setup, so --cwd and --config
// are read here). A config that does not load completes nothing.
func packageNames(cmd *cobra.Command, app *App) []string {
	cwd, _ := cmd.Flags().GetString("cwd")
	if cwd == "" {
		cwd = "."
	}
	abs, err := filepath.Abs(cwd)
	if err != nil {
		return nil
	}
	file := app.ConfigPath
	switch {
	case file == "":
		file = filepath.Join(configRoot(abs), config.FileName)
	case !filepath.IsAbs(file):
		file = filepath.Join(abs, file)
	}
	if _, err := os.Stat(file); err != nil {
		return nil
	}
	cfg, err := config.Load(file)
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range cfg.Packages {
		out = append(out, p.Name)
	}
	return out
}
