package cli

import (
	"os/exec"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// envgit NAME ARGS...: run git ARGS in the script's directory and set NAME to
// its trimmed output, so a script can match output naming a commit by hash.
func init() {
	scriptCmds["envgit"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 2 {
			ts.Fatalf("usage: envgit NAME git-args...")
		}
		cmd := exec.Command("git", args[1:]...)
		cmd.Dir = ts.MkAbs(".")
		for _, k := range []string{"HOME", "GIT_CONFIG_NOSYSTEM", "PATH"} {
			cmd.Env = append(cmd.Env, k+"="+ts.Getenv(k))
		}
		out, err := cmd.Output()
		ts.Check(err)
		ts.Setenv(args[0], strings.TrimSpace(string(out)))
	}
}
