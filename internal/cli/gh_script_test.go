package cli

import (
	"github.com/rogpeppe/go-internal/testscript"

	emu "github.com/putitoutthere/putitoutthere/internal/emulator/github"
)

func init() {
	// ghtoken OWNER/REPO sets GITHUB_TOKEN to a token of the GitHub emulator
	// that may create releases in OWNER/REPO (like Actions' github.token),
	// and points the CLI's GitHub API at the emulator.
	scriptCmds["ghtoken"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: ghtoken OWNER/REPO")
		}
		s, _ := ts.Value(ghEmuKey{}).(*emu.Server)
		if s == nil {
			ts.Fatalf("no GitHub emulator")
		}
		ts.Setenv("GITHUB_TOKEN", s.IssueInstallationToken(args[0]))
		ts.Setenv("GITHUB_API_URL", s.URL())
		ts.Setenv("GITHUB_REPOSITORY", args[0])
	}
}
