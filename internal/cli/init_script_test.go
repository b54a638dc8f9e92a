package cli

import (
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"
)

// Scripts reach the example monorepo through $EXAMPLES.
func init() {
	scriptSetups = append(scriptSetups, func(e *testscript.Env) error {
		dir, err := filepath.Abs(filepath.Join("..", "..", "examples"))
		if err != nil {
			return err
		}
		e.Setenv("EXAMPLES", dir)
		return nil
	})
}
