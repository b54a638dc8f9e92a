// Command putitoutthere is a release orchestrator for crates.io, PyPI and npm.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/putitoutthere/putitoutthere/internal/cli"
)

func main() {
	// The first SIGINT/SIGTERM cancels the run (in-flight work is wound down
	// and reported); a second one kills the process at once.
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		cancel(&cli.SignalError{Signal: s})
		signal.Reset(os.Interrupt, syscall.SIGTERM)
	}()
	code := cli.Main(ctx, os.Args[1:], cli.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	os.Exit(code)
}
