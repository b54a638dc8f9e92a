package cli

import (
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
)

func init() {
	// doctor-oidc REPO CALLER_FILE JOB_FILE ENVIRONMENT: start a GitHub OIDC
	// issuer for the rest of the script and set the Actions variables a job
	// with `id-token: write` sees. ENVIRONMENT "-" means no environment.
	scriptCmds["doctor-oidc"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 4 {
			ts.Fatalf("usage: doctor-oidc REPO CALLER_FILE JOB_FILE ENVIRONMENT")
		}
		is, err := oidc.Start()
		ts.Check(err)
		ts.Defer(is.Close)
		id := oidc.DefaultIdentity()
		id.Repository, id.WorkflowFile, id.JobWorkflowFile, id.Environment = args[0], args[1], args[2], args[3]
		if id.Environment == "-" {
			id.Environment = ""
		}
		is.SetIdentity(id)
		for k, v := range is.Env() {
			ts.Setenv(k, v)
		}
	}
}
