package cli

import (
	"strconv"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	npmemu "github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	pypiemu "github.com/putitoutthere/putitoutthere/internal/emulator/pypi"
	sigstoreemu "github.com/putitoutthere/putitoutthere/internal/emulator/sigstore"
	"github.com/putitoutthere/putitoutthere/internal/pydist/pydisttest"
)

// pubEmus are the registry emulators a publish_/status_ script started.
type pubEmus struct {
	is     *oidc.Issuer
	crates *crates.Server
	pypi   *pypiemu.Server
	npm    *npmemu.Server
}

var pubEmusByScript sync.Map // *testscript.TestScript → *pubEmus

func init() {
	// pubemu drives registry emulators from publish_* and status_* scripts:
	//   pubemu start                         start OIDC, crates.io, PyPI and npm emulators; point the CLI at them
	//   pubemu oidc                          export the Actions OIDC variables (octo-org/octo-repo, release.yml)
	//   pubemu pypi-publisher PROJECT WORKFLOW   register a (pending) PyPI trusted publisher for octo-org/octo-repo
	//   pubemu pypi-dist DIR NAME VERSION    write a wheel and an sdist into DIR
	//   pubemu pypi-files PROJECT VERSION N  assert PyPI holds N files of PROJECT VERSION
	scriptCmds["pubemu"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) == 0 {
			ts.Fatalf("usage: pubemu start|oidc|pypi-publisher|pypi-dist|pypi-files ...")
		}
		if args[0] == "start" {
			e := &pubEmus{}
			var err error
			if e.is, err = oidc.Start(); err != nil {
				ts.Fatalf("oidc: %v", err)
			}
			ts.Defer(e.is.Close)
			if e.crates, err = crates.Start(crates.Options{Verifier: e.is}); err != nil {
				ts.Fatalf("crates: %v", err)
			}
			ts.Defer(e.crates.Close)
			sig, err := sigstoreemu.Start(sigstoreemu.Options{Verifier: e.is})
			if err != nil {
				ts.Fatalf("sigstore: %v", err)
			}
			ts.Defer(sig.Close)
			if e.pypi, err = pypiemu.Start(pypiemu.Options{Verifier: e.is, Sigstore: sig.TrustedRoot(), SigstoreEnv: sig.Env()}); err != nil {
				ts.Fatalf("pypi: %v", err)
			}
			ts.Defer(e.pypi.Close)
			if e.npm, err = npmemu.Start(npmemu.Options{Verifier: e.is}); err != nil {
				ts.Fatalf("npm: %v", err)
			}
			ts.Defer(e.npm.Close)
			pubEmusByScript.Store(ts, e)
			ts.Defer(func() { pubEmusByScript.Delete(ts) })
			ts.Setenv("PUTITOUTTHERE_CRATES_IO_URL", e.crates.URL())
			for k, v := range e.pypi.Env() {
				ts.Setenv(k, v)
			}
			ts.Setenv("PUTITOUTTHERE_NPM_REGISTRY", e.npm.URL())
			return
		}
		v, ok := pubEmusByScript.Load(ts)
		if !ok {
			ts.Fatalf("run `pubemu start` first")
		}
		e := v.(*pubEmus)
		switch args[0] {
		case "oidc":
			for k, v := range e.is.Env() {
				ts.Setenv(k, v)
			}
		case "pypi-publisher":
			if len(args) != 3 {
				ts.Fatalf("usage: pubemu pypi-publisher PROJECT WORKFLOW")
			}
			ts.Check(e.pypi.AddPendingPublisher(args[1], pypiemu.Publisher{Owner: "octo-org", Repo: "octo-repo", OwnerID: "65", Workflow: args[2]}))
		case "pypi-dist":
			if len(args) != 4 {
				ts.Fatalf("usage: pubemu pypi-dist DIR NAME VERSION")
			}
			_, _, err := pydisttest.WriteBoth(ts.MkAbs(args[1]), pydisttest.Spec{Name: args[2], Version: args[3]})
			ts.Check(err)
		case "pypi-files":
			if len(args) != 4 {
				ts.Fatalf("usage: pubemu pypi-files PROJECT VERSION N")
			}
			n, _ := strconv.Atoi(args[3])
			got := e.pypi.Files(args[1], args[2])
			if (len(got) == n) == neg {
				ts.Fatalf("PyPI has %d files of %s %s (%v), want %d", len(got), args[1], args[2], got, n)
			}
		default:
			ts.Fatalf("unknown pubemu command %q", args[0])
		}
	}
}
