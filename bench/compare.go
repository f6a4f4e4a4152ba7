package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"time"
)

// Comparison is one scenario run against two servers side by side: the
// load alternates between them in short slices (A B B A …), so both see
// the same machine, the same neighbours and the same time of day, and a
// difference of a few percent means something.
type Comparison struct {
	Scenario string  `json:"scenario"`
	Slices   int     `json:"slices_each"`
	A        *Result `json:"a"`
	B        *Result `json:"b"`
	// BOverA is B's throughput as a share of A's (1.0: the same).
	BOverA float64 `json:"b_over_a"`
	// LabelA and LabelB say what each side was (e.g. "metrics off").
	LabelA string `json:"label_a,omitempty"`
	LabelB string `json:"label_b,omitempty"`
}

// compareSlice is how long each side runs before the load moves to the
// other: long enough for the connections and caches of a side to warm
// up again, short enough that a run has many pairs.
const compareSlice = time.Second

// Compare runs cfg's scenario against a (cfg.Authority) and b (the same
// configuration at authority b), alternating slices, for cfg.Duration in
// all on each side. Each side prepares its own work (signs in, gets its
// refresh tokens) from the same credentials: two servers on copies of one
// data directory.
func Compare(ctx context.Context, cfg Config, b string) (*Comparison, error) {
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Rate > 0 || cfg.Requests > 0 {
		return nil, fmt.Errorf("bench: a comparison runs a closed loop for a duration; --rate and --requests do not apply")
	}
	sides := [2]Config{cfg, cfg}
	sides[1].Authority, sides[1].Endpoints = b, Endpoints{}
	var work [2]request
	var tallies [2]*tally
	for i := range sides {
		prepared, err := prepareSide(ctx, &sides[i])
		if err != nil {
			return nil, err
		}
		work[i], tallies[i] = prepared, newTally()
	}
	slices := max(int(cfg.Duration/compareSlice), 2)
	per := cfg.Duration / time.Duration(slices)
	for s := range slices {
		// A B, then B A: each side goes first as often as second, so
		// what a slice leaves behind (a commit, a collection) weighs on
		// both alike.
		order := [2]int{0, 1}
		if s%2 == 1 {
			order = [2]int{1, 0}
		}
		for _, i := range order {
			slice := sides[i]
			slice.Duration = per
			time.Sleep(settle)
			if err := drive(ctx, slice, work[i], tallies[i]); err != nil {
				return nil, err
			}
		}
	}
	c := &Comparison{Scenario: cfg.Scenario, Slices: slices}
	results := [2]*Result{}
	for i := range sides {
		results[i] = &Result{Scenario: cfg.Scenario, Target: sides[i].Authority, Store: cfg.Store, Alg: sides[i].Alg,
			Concurrency: sides[i].Concurrency, Errors: map[string]int{}, Machine: machine(), StartedAt: time.Now().UTC()}
		if err := tallies[i].result(results[i]); err != nil {
			return nil, err
		}
	}
	c.A, c.B = results[0], results[1]
	c.BOverA = c.B.PerSecond / c.A.PerSecond
	return c, nil
}

// prepareSide discovers a side's endpoints, opens its connections and
// prepares its requests, as Run does for one server.
func prepareSide(ctx context.Context, cfg *Config) (request, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = runtime.NumCPU() * workersPerCore
	}
	if cfg.HTTP == nil {
		cfg.HTTP = http.DefaultClient
	}
	if err := cfg.discover(ctx); err != nil {
		return nil, err
	}
	cfg.setSenders(cfg.Endpoints.Token)
	work, _, err := prepare(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("bench: prepare %s at %s: %w", cfg.Scenario, cfg.Authority, err)
	}
	return work, nil
}

// CompareSummary prints a comparison for a terminal.
func CompareSummary(w io.Writer, c *Comparison) {
	fmt.Fprintf(w, "scenario     %s, %d alternating slices on each side\n", c.Scenario, c.Slices)
	for _, side := range []struct {
		label string
		r     *Result
	}{{c.LabelA, c.A}, {c.LabelB, c.B}} {
		errs := 0
		for _, n := range side.r.Errors {
			errs += n
		}
		fmt.Fprintf(w, "%-12s %.0f/s  p50 %.2f  p99 %.2f ms  (%d requests, %d errors) at %s\n", side.label,
			side.r.PerSecond, side.r.LatencyMS.P50, side.r.LatencyMS.P99, side.r.Requests, errs, side.r.Target)
	}
	fmt.Fprintf(w, "%s / %s   %.1f %% of the throughput\n", c.LabelB, c.LabelA, 100*c.BOverA)
}

// CompareReport renders comparisons as the Markdown table of
// docs/benchmarks.md.
func CompareReport(w io.Writer, cs []Comparison) {
	fmt.Fprintln(w, "| scenario | side | requests/s | p50 ms | p99 ms | errors | share of A |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|")
	for _, c := range cs {
		for i, r := range []*Result{c.A, c.B} {
			label, share := c.LabelA, "100 %"
			if i == 1 {
				label, share = c.LabelB, fmt.Sprintf("%.1f %%", 100*c.BOverA)
			}
			errs := 0
			for _, n := range r.Errors {
				errs += n
			}
			fmt.Fprintf(w, "| %s | %s | %.0f | %.2f | %.2f | %d | %s |\n", c.Scenario, label, r.PerSecond, r.LatencyMS.P50, r.LatencyMS.P99, errs, share)
		}
	}
}
