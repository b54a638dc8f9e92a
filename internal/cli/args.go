package cli

import (
	"github.com/spf13/cobra"

	"github.com/putitoutthere/putitoutthere/internal/diag"
)

// noArgs is cobra.NoArgs as a usage error (exit 2, PIOT_USAGE, a hint)
// instead of cobra's bare "unknown command" error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return diag.Usage(diag.CodeUsage, "`%s` takes no arguments, got %q", cmd.CommandPath(), args[0]).
		WithHint("run `%s --help` for its flags", cmd.CommandPath())
}

// groupRunE makes a command group (token, auth) refuse an unknown
// subcommand with a usage error; with none it prints the group's help.
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	return diag.Usage(diag.CodeUsage, "unknown command %q for `%s`", args[0], cmd.CommandPath()).
		WithHint("run `%s --help` to list its commands", cmd.CommandPath())
}
