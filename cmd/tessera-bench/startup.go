package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// newStartupCommand times a server's start-up from inside the generator.
// The shell's meter (curl in a loop) carries its own cost in every
// reading: on a 2-core VM a refused curl takes 12 ms and an answered one
// 20 to 25 ms, as much as a tenth of the 150 ms the start-up target
// allows. Here a poll is a fresh connection from a process already
// running, every millisecond.
func newStartupCommand(s streams) *cobra.Command {
	var url, caFile string
	var runs int
	var poll, timeout time.Duration
	cmd := &cobra.Command{
		Use:   "startup --url URL [flags] -- COMMAND [ARG...]",
		Short: "Time a server's start-up: exec to the first answered request, several times over",
		Long: `Start COMMAND --runs times, one after the other. Each time, poll --url every
--poll over a new connection (TLS trusting --ca-file) until it answers 200,
then stop the command with an interrupt and wait for it to exit. Prints the
time from exec to the first answer of each start, in whole milliseconds on
one line, as bench/run.sh and bench/scale.sh keep them. The command's
standard output is discarded and its standard error passed on.`,
		Args: cobra.MinimumNArgs(1),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if url == "" {
			return errors.New("--url: the address to poll is required")
		}
		if runs < 1 {
			return errors.New("--runs: at least one")
		}
		client, err := pollingClient(caFile)
		if err != nil {
			return err
		}
		var times []string
		for range runs {
			took, err := timeStart(cmd.Context(), client, url, poll, timeout, args, s.err)
			if err != nil {
				return err
			}
			times = append(times, fmt.Sprint(int(math.Round(float64(took)/float64(time.Millisecond)))))
		}
		fmt.Fprintln(s.out, strings.Join(times, " "))
		return nil
	}
	f := cmd.Flags()
	f.StringVar(&url, "url", "", "the address that answers 200 once the server is up, e.g. https://localhost:8443/healthz")
	f.StringVar(&caFile, "ca-file", "", "CA certificate to trust (PEM), e.g. tessera-data/ca.pem")
	f.IntVar(&runs, "runs", 5, "starts to time")
	f.DurationVar(&poll, "poll", time.Millisecond, "time between polls")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "how long a start may take before it counts as failed")
	return cmd
}

// pollingClient is the load's client (newHTTPClient) with a new
// connection for every request, as a client arriving at a starting server
// would open.
func pollingClient(caFile string) (*http.Client, error) {
	client, err := newHTTPClient(caFile, 1)
	if err != nil {
		return nil, err
	}
	client.Transport.(*http.Transport).DisableKeepAlives = true
	client.Timeout = 5 * time.Second
	return client, nil
}

// timeStart starts args, polls url until it answers 200, and stops the
// process again; it returns the time from exec to that answer.
func timeStart(ctx context.Context, client *http.Client, url string, poll, timeout time.Duration, args []string, stderr io.Writer) (time.Duration, error) {
	proc := exec.Command(args[0], args[1:]...)
	proc.Stdout, proc.Stderr = io.Discard, stderr
	start := time.Now()
	if err := proc.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", args[0], err)
	}
	exited := make(chan error, 1)
	go func() { exited <- proc.Wait() }()
	stop := func() error {
		_ = proc.Process.Signal(os.Interrupt)
		select {
		case <-exited:
			return nil
		case <-time.After(time.Minute):
			_ = proc.Process.Kill()
			<-exited
			return errors.New("did not exit within a minute of an interrupt")
		}
	}
	for {
		if answered(ctx, client, url) {
			took := time.Since(start)
			if err := stop(); err != nil {
				return 0, fmt.Errorf("%s: %w", args[0], err)
			}
			return took, nil
		}
		select {
		case err := <-exited:
			return 0, fmt.Errorf("%s exited before answering: %v", args[0], err)
		case <-ctx.Done():
			return 0, errors.Join(ctx.Err(), stop())
		case <-time.After(poll):
		}
		if time.Since(start) > timeout {
			return 0, errors.Join(fmt.Errorf("%s: no answer from %s within %v", args[0], url, timeout), stop())
		}
	}
}

func answered(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
