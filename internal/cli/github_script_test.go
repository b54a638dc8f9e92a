package cli

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	emu "github.com/putitoutthere/putitoutthere/internal/emulator/github"
)

type ghEmuKey struct{}

// instantClock never waits: the emulator answers the first poll (scripts
// run it with AutoApprove), so the device flow needs no real sleep.
type instantClock struct{}

func (instantClock) Now() time.Time                                   { return time.Now() }
func (instantClock) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func init() {
	// The script binary re-executes this package's test binary, so these
	// also apply to the CLI the scripts run.
	ghClock = instantClock{}
	ghRetrySleep = func(context.Context, time.Duration) error { return nil }

	// Every script gets a GitHub emulator whose device codes are approved for
	// octocat at once. Scripts opt in by pointing the CLI at it:
	//   env GITHUB_API_URL=$GITHUB_EMULATOR_URL GITHUB_SERVER_URL=$GITHUB_EMULATOR_URL
	scriptSetups = append(scriptSetups, func(e *testscript.Env) error {
		s, err := emu.Start(emu.Options{AutoApprove: "octocat"})
		if err != nil {
			return err
		}
		e.Defer(s.Close)
		e.Values[ghEmuKey{}] = s
		e.Setenv("GITHUB_EMULATOR_URL", s.URL())
		e.Setenv("PUTITOUTTHERE_CREDENTIAL_STORE", "file")
		return nil
	})

	// ghemu drives the emulator from a script:
	//   ghemu secret OWNER/REPO NAME...        add repository secrets
	//   ghemu envsecret OWNER/REPO ENV NAME... add an environment with secrets
	//   ghemu revoke LOGIN                     revoke the login's tokens
	//   ghemu fail PATH STATUS COUNT           answer the next COUNT requests under PATH with STATUS
	//   ghemu perm FILE MODE                   assert a file's permission bits (octal)
	scriptCmds["ghemu"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg {
			ts.Fatalf("ghemu does not support !")
		}
		if len(args) == 0 {
			ts.Fatalf("usage: ghemu secret|envsecret|revoke|fail|perm ...")
		}
		s, _ := ts.Value(ghEmuKey{}).(*emu.Server)
		if s == nil {
			ts.Fatalf("no GitHub emulator")
		}
		switch args[0] {
		case "secret":
			for _, n := range args[2:] {
				s.AddSecret(args[1], n)
			}
		case "envsecret":
			if len(args) < 3 {
				ts.Fatalf("usage: ghemu envsecret OWNER/REPO ENV NAME...")
			}
			s.AddEnvironment(args[1], args[2], args[3:]...)
		case "revoke":
			s.RevokeUser(args[1])
		case "fail":
			if len(args) != 4 {
				ts.Fatalf("usage: ghemu fail PATH STATUS COUNT")
			}
			st, err1 := strconv.Atoi(args[2])
			n, err2 := strconv.Atoi(args[3])
			if err1 != nil || err2 != nil {
				ts.Fatalf("ghemu fail: bad number")
			}
			s.Faults.Add(fault.Rule{PathPrefix: args[1], Status: st, Count: n})
		case "perm":
			fi, err := os.Stat(ts.MkAbs(args[1]))
			ts.Check(err)
			if got := fmt.Sprintf("%04o", fi.Mode().Perm()); got != args[2] {
				ts.Fatalf("%s: mode %s, want %s", args[1], got, args[2])
			}
		default:
			ts.Fatalf("ghemu: unknown subcommand %q", args[0])
		}
	}
}
