package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/bench"
)

// streams are the command's output streams, injectable for tests.
type streams struct {
	out, err io.Writer
}

// newRootCommand is the load run itself, with report as a subcommand: the
// flags and the JSON are those `tessera bench` had, so scripts and saved
// results carry over.
func newRootCommand(s streams) *cobra.Command {
	var c bench.Config
	var secretEnv, passwordEnv, totpKeyEnv, caFile, tokensFile, sched, output string
	var asJSON bool
	var compareWith, labelA, labelB string
	cmd := &cobra.Command{
		Use:   "tessera-bench",
		Short: "Load-test a token endpoint (Tessera's or any OAuth server's) and compare it with the signing floor",
		Long: `Load-test a token endpoint with a closed loop of workers (or an open loop at
--rate), and measure on the same machine the signing floor: how many
signatures of the tenant's algorithm all cores make per second. Scenarios: ` + strings.Join(bench.Scenarios(), ", ") + `.`,
		Args:          unknownSubcommand,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetOut(s.out)
	cmd.SetErr(s.err)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if output != "text" && output != "json" {
			return fmt.Errorf("--output %q: use text or json", output)
		}
		if secretEnv != "" {
			c.Secret = os.Getenv(secretEnv)
			if c.Secret == "" && c.ClientID != "" {
				return fmt.Errorf("--client-secret-env: %s is not set", secretEnv)
			}
		}
		if passwordEnv != "" {
			c.Password = os.Getenv(passwordEnv)
		}
		if totpKeyEnv != "" {
			c.TOTPKey = os.Getenv(totpKeyEnv)
		}
		if tokensFile != "" {
			b, err := os.ReadFile(tokensFile)
			if err != nil {
				return fmt.Errorf("--refresh-tokens-file: %w", err)
			}
			c.RefreshTokens = strings.Fields(string(b))
		}
		switch sched {
		case "auto":
			c.YieldToServer = c.Rate == 0 && runtime.GOOS == "linux"
		case "batch":
			c.YieldToServer = true
		case "normal":
		default:
			return fmt.Errorf("--sched: want auto, batch or normal, not %q", sched)
		}
		hc, err := newHTTPClient(caFile, c.Concurrency)
		if err != nil {
			return err
		}
		c.HTTP = hc
		if !asJSON {
			c.Progress = s.err
		}
		if compareWith != "" {
			cmp, err := bench.Compare(cmd.Context(), c, compareWith)
			if err != nil {
				return err
			}
			cmp.LabelA, cmp.LabelB = labelA, labelB
			if asJSON || output == "json" {
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(cmp)
			}
			bench.CompareSummary(s.out, cmp)
			return nil
		}
		// The floor is sampled in a process of its own: this program's
		// floor-worker, beside a heap that holds nothing else.
		if exe, err := os.Executable(); err == nil {
			c.FloorCommand = []string{exe, "floor-worker"}
		}
		res, err := bench.Run(cmd.Context(), c)
		if err != nil {
			return err
		}
		if asJSON || output == "json" {
			enc := json.NewEncoder(s.out)
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		}
		bench.Summary(s.out, res)
		return nil
	}
	f := cmd.Flags()
	f.StringVar(&c.Scenario, "scenario", bench.ClientCredentials, "what to load: "+strings.Join(bench.Scenarios(), ", "))
	f.StringVar(&c.Authority, "authority", "", "authority or issuer URL to discover endpoints from, e.g. https://localhost:8443/demo")
	f.StringVar(&c.Endpoints.Token, "token-url", "", "token endpoint (instead of discovery)")
	f.StringVar(&c.ClientID, "client-id", "", "confidential client id")
	f.StringVar(&secretEnv, "client-secret-env", "TESSERA_BENCH_SECRET", "variable holding the client secret")
	f.StringVar(&c.Scope, "scope", "", "scope to ask for (default {client_id}/.default, or openid offline_access for user flows)")
	f.IntVar(&c.Concurrency, "concurrency", 0, "closed-loop workers (default 8 per core)")
	f.DurationVar(&c.Duration, "duration", 10*time.Second, "how long to run")
	f.IntVar(&c.Requests, "requests", 0, "stop after this many requests instead")
	f.StringVar(&c.UserClientID, "user-client-id", "", "public client for the user scenarios (refresh_token, authorization_code, login, device_code)")
	f.StringVar(&c.RedirectURI, "redirect-uri", "", "registered redirect URI of the user client, e.g. http://localhost:3000/redirect")
	f.StringVar(&c.Username, "username", "", "user who signs in for the user scenarios")
	f.StringVar(&passwordEnv, "password-env", "TESSERA_BENCH_PASSWORD", "variable holding that user's password")
	f.IntVar(&c.TOTPUsers, "totp-users", 0, "login_totp: accounts to sign in with, as mfa-users made them (three sign-ins each per 30 s)")
	f.StringVar(&c.TOTPPrefix, "totp-prefix", "mfa-user-", "login_totp: the accounts' username prefix, as mfa-users --prefix")
	f.StringVar(&totpKeyEnv, "totp-key-env", "TESSERA_BENCH_TOTP_KEY", "login_totp: variable holding the key the accounts' TOTP secrets derive from")
	f.IntVar(&c.Families, "families", 0, "refresh token families rotated in turn (default: one per worker)")
	f.StringVar(&tokensFile, "refresh-tokens-file", "", "file of refresh tokens (one per line) instead of signing in: for servers without Tessera's pages")
	f.StringVar(&c.Alg, "alg", "", "signing algorithm for the floor (default: the first the server advertises)")
	f.DurationVar(&c.FloorTime, "floor-time", 3*time.Second, "time spent measuring the signing floor, in samples before, between and after slices of the load")
	f.BoolVar(&c.StdHTTP, "std-http", false, "send the load through Go's net/http client instead of one raw HTTP/1.1 connection per worker")
	f.StringVar(&c.Store, "store", "", "label for the server's store in the results (sqlite, postgres)")
	f.StringVar(&caFile, "ca-file", "", "CA certificate to trust (PEM), e.g. tessera-data/ca.pem")
	f.StringVar(&c.ServerDebug, "server-debug", "", "the server's --pprof-addr as a URL (http://127.0.0.1:6060), to report the server's CPU time per request")
	f.Float64Var(&c.Rate, "rate", 0, "send this many requests per second (open loop), to measure latency below saturation; the result says if the generator fell more than 2 % short")
	f.StringVar(&sched, "sched", "auto", "the generator's scheduling: batch (Linux: its wake-ups do not preempt a server on the same cores), normal, or auto (batch at full load, normal with --rate)")
	f.StringVar(&compareWith, "compare-authority", "", "a second server (same credentials: a copy of the first's data directory) to run the scenario against side by side, alternating one-second slices; prints both and B's share of A's throughput")
	f.StringVar(&labelA, "label-a", "A", "with --compare-authority: what --authority is, for the result")
	f.StringVar(&labelB, "label-b", "B", "with --compare-authority: what --compare-authority is, for the result")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json (as --json)")
	cmd.AddCommand(newReportCommand(s), newCompareReportCommand(s), newSeedCommand(s), newMFAUsersCommand(s), newFloorWorkerCommand(s), newStartupCommand(s))
	return cmd
}

func newReportCommand(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "report FILE...",
		Short: "Render --json results as the Markdown table of docs/benchmarks.md",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var results []bench.Result
			for _, name := range args {
				b, err := os.ReadFile(name)
				if err != nil {
					return err
				}
				var r bench.Result
				if err := json.Unmarshal(b, &r); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				results = append(results, r)
			}
			bench.Report(s.out, results)
			return nil
		},
	}
}

func newCompareReportCommand(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "compare-report FILE...",
		Short: "Render --compare-authority --json results as a Markdown table",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var cs []bench.Comparison
			for _, name := range args {
				b, err := os.ReadFile(name)
				if err != nil {
					return err
				}
				var c bench.Comparison
				if err := json.Unmarshal(b, &c); err != nil || c.A == nil || c.B == nil {
					return fmt.Errorf("%s: not a comparison: %v", name, err)
				}
				cs = append(cs, c)
			}
			bench.CompareReport(s.out, cs)
			return nil
		},
	}
}

// newHTTPClient keeps one connection per worker alive, as a real client
// fleet would, and trusts the given CA.
func newHTTPClient(caFile string, workers int) (*http.Client, error) {
	if workers <= 0 {
		workers = 64
	}
	tr := &http.Transport{MaxIdleConns: workers * 2, MaxIdleConnsPerHost: workers * 2, IdleConnTimeout: time.Minute, ForceAttemptHTTP2: false,
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("--ca-file holds no certificate")
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// unknownSubcommand refuses arguments with cobra's suggestions: the root
// runs the load, so cobra would otherwise not check for a mistyped
// subcommand (`tessera-bench reprot`) at all.
func unknownSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2
	}
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return fmt.Errorf("%s\n\nRun '%s --help' for usage", msg, c.CommandPath())
}

// newFloorWorkerCommand is the process a run samples its floor in (see
// bench.FloorWorker); runs start it themselves.
func newFloorWorkerCommand(s streams) *cobra.Command {
	return &cobra.Command{
		Use:    "floor-worker",
		Short:  "Answer floor samples on standard input (started by a run)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return bench.FloorWorker(cmd.InOrStdin(), s.out)
		},
	}
}
