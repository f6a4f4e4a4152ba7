package bench

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The schedule is complete whatever the timers' precision: at 10,000/s,
// a request every 100 µs, well below the millisecond Go's timers may
// oversleep by, 300 ms of it hands out exactly 3,000 tickets.
func TestPaceHandsOutTheWholeSchedule(t *testing.T) {
	tickets := make(chan struct{})
	var taken atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range tickets {
				taken.Add(1)
			}
		}()
	}
	start := time.Now()
	sent := pace(t.Context(), tickets, start, start.Add(300*time.Millisecond), 10000, 0)
	wg.Wait()
	if sent != 3000 || taken.Load() != 3000 {
		t.Errorf("sent %d, taken %d tickets; want 3000", sent, taken.Load())
	}
	if late := time.Since(start) - 300*time.Millisecond; late > time.Second {
		t.Errorf("the schedule ended %v after its end", late)
	}
}

// pacedRun runs the jwks scenario against handler at rate for d.
func pacedRun(t *testing.T, handler http.HandlerFunc, workers int, rate float64, d time.Duration) *Result {
	t.Helper()
	srv := httptest.NewServer(handler)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := Run(ctx, Config{Scenario: JWKS, Endpoints: Endpoints{Token: srv.URL + "/token", JWKS: srv.URL + "/keys"},
		Concurrency: workers, Duration: d, Rate: rate, HTTP: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 0 || res.TransportError != "" {
		t.Fatalf("errors %v %s", res.Errors, res.TransportError)
	}
	return res
}

// Against a server that keeps up, the generator sends at the asked rate
// within rateTolerance, and the server counts as many requests.
func TestRateHeldWhenTheServerKeepsUp(t *testing.T) {
	var served atomic.Int64
	res := pacedRun(t, func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}, 8, 2000, time.Second)
	t.Logf("asked 2000/s for 1 s: sent at %.1f/s, %d requests served, %.1f/s answered", res.RateAchieved, served.Load(), res.PerSecond)
	if math.Abs(res.RateAchieved-2000) > 2000*rateTolerance || res.RateShortfall {
		t.Errorf("sent at %.1f/s (shortfall %v), want 2000/s within %.0f %%", res.RateAchieved, res.RateShortfall, 100*rateTolerance)
	}
	if n := served.Load(); math.Abs(float64(n)-2000) > 2000*rateTolerance || n != res.Requests {
		t.Errorf("the server answered %d requests, the result counts %d; want 2000 within %.0f %%", n, res.Requests, 100*rateTolerance)
	}
	var summary bytes.Buffer
	Summary(&summary, res)
	if strings.Contains(summary.String(), "WARNING") {
		t.Errorf("a warning for a rate that was held:\n%s", summary.String())
	}
}

// Against a server too slow for the workers to keep the schedule, the
// result says the rate was not held, and by how much, and so does the
// printed summary.
func TestRateShortfallReported(t *testing.T) {
	// Two workers and 20 ms a response: at most 100/s of the 1,000 asked.
	res := pacedRun(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}, 2, 1000, 500*time.Millisecond)
	t.Logf("asked 1000/s of a server that takes 20 ms with 2 workers: sent at %.1f/s", res.RateAchieved)
	if !res.RateShortfall || res.RateAchieved <= 0 || res.RateAchieved > 110 {
		t.Errorf("sent at %.1f/s, shortfall %v; want at most 100/s, and the shortfall reported", res.RateAchieved, res.RateShortfall)
	}
	var summary bytes.Buffer
	Summary(&summary, res)
	if !strings.Contains(summary.String(), "WARNING") || !strings.Contains(summary.String(), "short of the 1000 asked") {
		t.Errorf("no warning in the summary:\n%s", summary.String())
	}
	var table bytes.Buffer
	Report(&table, []Result{*res})
	if !strings.Contains(table.String(), "1000/s (sent ") {
		t.Errorf("the report's rate column does not show the shortfall:\n%s", table.String())
	}
}
