// Command tessera-bench is Tessera's load generator: it drives a token
// endpoint (Tessera's or any OAuth server's) and measures on the same
// machine the signing floor that bounds it, and renders the results as the
// tables of docs/benchmarks.md.
//
// It is a binary of its own so that the server binary, cmd/tessera, links
// no load-generation code: an operator deploying `tessera` gets nothing
// that can flood an endpoint, and the generator can grow (seeding, new
// scenarios) without growing the server.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand(streams{out: os.Stdout, err: os.Stderr}).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tessera-bench:", err)
		os.Exit(1)
	}
}
