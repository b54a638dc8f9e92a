package cli

import "github.com/spf13/cobra"

// Each command lives in its own file; these constructors are replaced there as
// each command lands.

func newRehearseCmd(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "rehearse",
		Short: "Run plan and publish against in-process registry emulators; touch nothing real",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return notImplemented("rehearse") },
	}
	c.Flags().StringArray("trust", nil, "register a trusted publisher: package=owner/repo:workflow.yml[:environment]")
	return c
}
