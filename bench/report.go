package bench

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// Report writes results as the Markdown table docs/benchmarks.md shows,
// so the document is regenerated from --json output, never typed.
func Report(w io.Writer, results []Result) {
	sort.SliceStable(results, func(i, j int) bool {
		if results[i].Store != results[j].Store {
			return results[i].Store < results[j].Store
		}
		return results[i].Scenario < results[j].Scenario
	})
	if len(results) > 0 {
		m := results[0].Machine
		fmt.Fprintf(w, "Machine: %d cores, %s, %s, %s.\n\n", m.Cores, m.CPU, m.OS, m.GoVersion)
	}
	// Store round trips are only in results saved while the server
	// counted them (see Result): their column shows only for those.
	withTrips := slices.ContainsFunc(results, func(r Result) bool { return r.RoundTrips > 0 })
	tripsHead, tripsRule := "", ""
	if withTrips {
		tripsHead, tripsRule = " store round trips/request |", "---:|"
	}
	fmt.Fprintln(w, "| scenario | store | alg | workers (generator policy) | rate cap | requests/s | signatures/response | floor sig/s (spread) | % of floor | p50 ms | p90 ms | p99 ms | max ms |"+tripsHead+" CPU µs/request: signatures at the floor / server / generator | cores busy | errors |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"+tripsRule+"---:|---:|---|")
	for _, r := range results {
		floor, pct := "–", "–"
		if r.Floor != nil {
			floor = fmt.Sprintf("%.0f", r.Floor.SignaturesSec)
			if r.Floor.Samples > 1 {
				floor += fmt.Sprintf(" (%.0f–%.0f)", r.Floor.Min, r.Floor.Max)
			}
			pct = fmt.Sprintf("%.1f %%", r.PercentOfFloor)
		}
		var errs []string
		for code, n := range r.Errors {
			errs = append(errs, fmt.Sprintf("%s ×%d", code, n))
		}
		sort.Strings(errs)
		if len(errs) == 0 {
			errs = []string{"none"}
		}
		rate, trips := "–", ""
		if r.Rate > 0 {
			rate = fmt.Sprintf("%.0f/s", r.Rate)
			switch {
			case r.RateShortfall:
				rate += fmt.Sprintf(" (sent %.0f/s: short)", r.RateAchieved)
			case r.RateAchieved == 0 && r.PerSecond < (1-rateTolerance)*r.Rate:
				// Saved before the generator measured what it sent:
				// the answered rate is the nearest sign of a shortfall.
				rate += fmt.Sprintf(" (answered %.0f/s)", r.PerSecond)
			}
		}
		if withTrips {
			trips = " – |"
			if r.RoundTrips > 0 {
				trips = fmt.Sprintf(" %.2f |", r.RoundTrips)
			}
		}
		workers := fmt.Sprint(r.Concurrency)
		if r.GeneratorSched != "" {
			workers += " (" + r.GeneratorSched + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.0f | %d | %s | %s | %.2f | %.2f | %.2f | %.2f |%s %s | %s | %s |\n",
			r.Scenario, orDash(r.Store), orDash(r.Alg), workers, rate, r.PerSecond, r.SignaturesPerReq, floor, pct,
			r.LatencyMS.P50, r.LatencyMS.P90, r.LatencyMS.P99, r.LatencyMS.Max, trips, cpuSplit(&r), busy(&r), strings.Join(errs, ", "))
	}
}

// signatureCPU is the core time the response's signatures take at the
// floor's speed, in microseconds.
func signatureCPU(r *Result) float64 {
	if r.Floor == nil || r.Floor.SignaturesSec <= 0 {
		return 0
	}
	return float64(r.SignaturesPerReq) * float64(r.Floor.Cores) * 1e6 / r.Floor.SignaturesSec
}

func cpuSplit(r *Result) string {
	if r.ServerCPUus == 0 && r.GeneratorCPUus == 0 {
		return "–"
	}
	sig := "–"
	if v := signatureCPU(r); v > 0 {
		sig = fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%s / %.0f / %.0f", sig, r.ServerCPUus, r.GeneratorCPUus)
}

func busy(r *Result) string {
	if r.CPUShare == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f %%", r.CPUShare)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// Summary is the human-readable report of one run.
func Summary(w io.Writer, r *Result) {
	fmt.Fprintf(w, "scenario     %s against %s\n", r.Scenario, r.Target)
	fmt.Fprintf(w, "requests     %d in %.1fs with %d workers: %.0f/s\n", r.Requests, r.Seconds, r.Concurrency, r.PerSecond)
	fmt.Fprintf(w, "latency ms   p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", r.LatencyMS.P50, r.LatencyMS.P90, r.LatencyMS.P99, r.LatencyMS.Max)
	if r.Rate > 0 {
		fmt.Fprintf(w, "rate cap     %.0f requests/s, sent at %.0f/s\n", r.Rate, r.RateAchieved)
		if r.RateShortfall {
			fmt.Fprintf(w, "WARNING      the generator sent %.0f requests/s, %.1f %% short of the %.0f asked: requests fell due with all %d workers busy.\n"+
				"             Raise --concurrency, or the server cannot keep this rate; the latencies above are not those of the asked load.\n",
				r.RateAchieved, 100*(1-r.RateAchieved/r.Rate), r.Rate, r.Concurrency)
		}
	}
	if r.RoundTrips > 0 {
		fmt.Fprintf(w, "store        %.2f round trips per request\n", r.RoundTrips)
	}
	if r.GeneratorCPUus > 0 {
		fmt.Fprintf(w, "cpu          generator %.0f µs per request", r.GeneratorCPUus)
		if r.GeneratorSched != "" {
			fmt.Fprintf(w, " (%s scheduling)", r.GeneratorSched)
		}
		if r.ServerCPUus > 0 {
			fmt.Fprintf(w, ", server %.0f µs; the two kept %.0f %% of the cores busy", r.ServerCPUus, r.CPUShare)
		}
		fmt.Fprintln(w)
	}
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "errors       none")
	} else {
		for code, n := range r.Errors {
			fmt.Fprintf(w, "errors       %s: %d\n", code, n)
		}
	}
	if r.Floor != nil {
		fmt.Fprintf(w, "floor        %.0f %s signatures/s on %d cores; %d per response → %.0f responses/s\n",
			r.Floor.SignaturesSec, r.Floor.Alg, r.Floor.Cores, r.SignaturesPerReq, r.Floor.SignaturesSec/float64(r.SignaturesPerReq))
		if r.Floor.Samples > 1 {
			fmt.Fprintf(w, "             mean of %d samples between slices of the load, %.0f to %.0f\n", r.Floor.Samples, r.Floor.Min, r.Floor.Max)
		}
		fmt.Fprintf(w, "achieved     %.1f %% of the floor\n", r.PercentOfFloor)
	}
}
