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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
