package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/putitoutthere/putitoutthere/internal/diag"
)

// newManCmd writes a man page per command, generated from the command tree
// (so they never drift from --help): putitoutthere.1, putitoutthere-plan.1, …
func newManCmd(app *App) *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "man",
		Short: "Write the man pages (section 1), generated from the command tree",
		Long: `man writes one page per command into --dir: putitoutthere.1,
putitoutthere-plan.1, putitoutthere-token-list.1, … Read them with
man -l DIR/putitoutthere-plan.1, or install them into a man path.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return diag.Usage(diag.CodeUsage, "--dir %s: %v", dir, err)
			}
			root := cmd.Root()
			header := &doc.GenManHeader{Title: "PUTITOUTTHERE", Section: "1", Source: "putitoutthere " + VersionString(), Manual: "putitoutthere manual"}
			root.DisableAutoGenTag = true
			if err := doc.GenManTree(root, header, dir); err != nil {
				return diag.New("PIOT_MAN_WRITE", "writing man pages into %s", dir).Wrap(err).
					WithHint("check that --dir is a writable directory")
			}
			n, _ := filepath.Glob(filepath.Join(dir, "*.1"))
			if app.JSON {
				return app.PrintJSON(map[string]any{"dir": dir, "pages": len(n)})
			}
			fmt.Fprintf(app.Out, "wrote %d man pages to %s\n", len(n), dir)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", ".", "directory to write the pages into")
	return c
}
