// Package bench is a load generator for OAuth 2.0 token endpoints, a
// closed loop or an open one at a fixed rate: Tessera's or any other
// server's, given a client and the endpoints. It reports throughput,
// latency percentiles and errors, and measures in the same run the
// signing floor that bounds a token endpoint, so results read as a
// percentage of what the machine can do.
package bench

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-id/tessera/internal/proccpu"
)

// Scenarios the generator runs.
const (
	ClientCredentials = "client_credentials"
	RefreshToken      = "refresh_token"
	AuthorizationCode = "authorization_code"
	DeviceCodePoll    = "device_code"
	Introspect        = "introspect"
	JWKS              = "jwks"
	Discovery         = "discovery"
	// Login is a whole interactive sign-in: authorize, the sign-in form's
	// POST, the code and its redemption, in a fresh browser session each
	// time. Its floor is the password hash (argon2id), not the signature.
	Login = "login"
)

// Scenarios lists every scenario name.
func Scenarios() []string {
	return []string{ClientCredentials, RefreshToken, AuthorizationCode, Login, LoginTOTP, DeviceCodePoll, Introspect, JWKS, Discovery}
}

// Config is one run.
type Config struct {
	Scenario    string
	Authority   string // discovery base: https://host/{tenant} or an issuer
	Endpoints   Endpoints
	ClientID    string
	Secret      string
	Scope       string
	Concurrency int
	Duration    time.Duration
	Requests    int // stop after this many requests, when > 0

	// For the user scenarios (refresh_token, authorization_code): a
	// public client with a redirect URI, and a user who signs in.
	UserClientID string
	RedirectURI  string
	Username     string
	Password     string
	Families     int // refresh families rotated in turn
	// For login_totp: TOTPUsers accounts named TOTPUsername(TOTPPrefix,
	// i), with the password Password and the secrets TOTPSecret(TOTPKey,
	// username), as `tessera-bench mfa-users` makes them.
	TOTPUsers     int
	TOTPPrefix    string
	TOTPKey       string
	RefreshTokens []string // used instead of signing in, when given

	// ServerDebug is the server's loopback debug listener (serve
	// --pprof-addr); when set, the server's CPU time per request is read
	// from it.
	ServerDebug string
	// Rate is the requests per second of an open loop over all workers
	// (0: a closed loop, as fast as it goes), to measure latency below
	// saturation; see pace.
	Rate float64
	// YieldToServer puts the generator's threads (the whole process's:
	// set it only where the process is the generator) in the batch
	// scheduling policy, so that on the server's own machine its
	// wake-ups do not preempt the server. Latency runs (with a Rate)
	// should leave it off: a batch thread may wait for the running one's
	// time slice before it reads a response, which would count as the
	// server's latency.
	YieldToServer bool

	Alg       string // the tenant's signing algorithm, for the floor
	FloorTime time.Duration
	// FloorCommand runs the floor's samples in a process of its own (this
	// program's FloorWorker), nil in this one. The generator's heap holds
	// its workers' connections and every latency so far; collecting it
	// every few argon2id hashes read the password-hash floor a fifth low.
	FloorCommand []string
	Store        string // what the server stores in, for the record
	HTTP         *http.Client
	// StdHTTP sends the load through net/http's client instead of one
	// raw HTTP/1.1 connection per worker.
	StdHTTP  bool
	Progress io.Writer

	senders []sender // per worker, set by Run
}

// sender returns worker w's way of sending requests.
func (c *Config) sender(w int) sender {
	if w < len(c.senders) {
		return c.senders[w]
	}
	return stdSender{c.HTTP}
}

// setSenders gives each worker its own connection to target's server.
func (c *Config) setSenders(target string) {
	c.senders = make([]sender, c.Concurrency)
	var tlsConf *tls.Config
	if tr, ok := c.HTTP.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
		tlsConf = tr.TLSClientConfig
	} else {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	for w := range c.senders {
		if rc := newRawConn(target, tlsConf, 30*time.Second); rc != nil && !c.StdHTTP {
			c.senders[w] = rc
		} else {
			c.senders[w] = stdSender{c.HTTP}
		}
	}
}

// Endpoints are a server's URLs; empty ones are discovered.
type Endpoints struct {
	Token, Authorize, JWKS, Discovery, Introspect, Device string
}

// Result is what a run measured.
//
// RoundTrips (PostgreSQL statements per request) is in the saved results
// of runs made while the server counted statements for the generator; it
// no longer does, and a run leaves it out. What a token response costs in
// statements is asserted by a test instead (cmd/tessera's
// TestTokenResponseRoundTripsPostgres).
//
// With a Rate, RateAchieved is the rate at which requests were sent, on
// the schedule's time (requests_per_second also counts the time the last
// ones took to answer), and RateShortfall says it fell more than
// rateTolerance short of Rate: the generator could not keep the schedule
// (too few workers, or a saturated server), and the latencies are not
// those of the asked load.
type Result struct {
	Scenario    string         `json:"scenario"`
	Target      string         `json:"target"`
	Store       string         `json:"store,omitempty"`
	Alg         string         `json:"alg"`
	Concurrency int            `json:"concurrency"`
	Requests    int64          `json:"requests"`
	Errors      map[string]int `json:"errors"`
	Seconds     float64        `json:"seconds"`
	PerSecond   float64        `json:"requests_per_second"`
	LatencyMS   Latency        `json:"latency_ms"`
	// SignaturesPerReq is how many floor operations a response takes:
	// signatures, or for the login scenario password hashes.
	SignaturesPerReq int     `json:"signatures_per_response"`
	Floor            *Floor  `json:"floor,omitempty"`
	Rate             float64 `json:"rate_limit,omitempty"`
	RateAchieved     float64 `json:"rate_achieved,omitempty"`                 // with a Rate: see above
	RateShortfall    bool    `json:"rate_shortfall,omitempty"`                // with a Rate: see above
	RoundTrips       float64 `json:"store_round_trips_per_request,omitempty"` // saved results only: see above
	TransportError   string  `json:"transport_error,omitempty"`               // the first, as an example
	ServerCPUus      float64 `json:"server_cpu_us_per_request,omitempty"`
	GeneratorCPUus   float64 `json:"generator_cpu_us_per_request,omitempty"`
	CPUShare         float64 `json:"cpu_busy_percent,omitempty"` // server and generator, of all cores
	PercentOfFloor   float64 `json:"percent_of_floor,omitempty"`
	GeneratorSched   string  `json:"generator_sched,omitempty"` // "batch" when it yielded to the server
	// BySpeed splits the latencies by how fast the machine signed around
	// each slice of the load, when the floor was sampled between slices.
	BySpeed   *SpeedSplit `json:"latency_by_machine_speed,omitempty"`
	Machine   Machine     `json:"machine"`
	StartedAt time.Time   `json:"started_at"`
}

// SpeedSplit holds the latency percentiles of the slices whose floor
// samples, before and after, were both at least the run's mean floor
// (Fast), and of the others (Slow). On a shared machine whose speed moves
// from one second to the next, a fixed request rate is a light load while
// it runs at full speed and a heavy one while it is slowed: the split
// shows which of the two a run's tail latency comes from.
type SpeedSplit struct {
	FastSlices int     `json:"fast_slices"`
	SlowSlices int     `json:"slow_slices"`
	Fast       Latency `json:"fast_ms"`
	Slow       Latency `json:"slow_ms"`
}

// Latency percentiles in milliseconds.
type Latency struct {
	P50, P90, P99, Max float64
}

// MarshalJSON keeps the field names short and lower-case.
func (l Latency) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]float64{"p50": l.P50, "p90": l.P90, "p99": l.P99, "max": l.Max})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (l *Latency) UnmarshalJSON(b []byte) error {
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	l.P50, l.P90, l.P99, l.Max = m["p50"], m["p90"], m["p99"], m["max"]
	return nil
}

// Machine describes where the run happened.
type Machine struct {
	Cores     int    `json:"cores"`
	CPU       string `json:"cpu"`
	GoVersion string `json:"go"`
	OS        string `json:"os"`
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// request is one unit of work of a scenario; it returns the protocol
// error code of a failure ("" on success), or an error for transport
// failures.
type request func(ctx context.Context, worker int) (code string, err error)

const (
	// workersPerCore is the default load: with four per core a closed
	// loop left a fifth of this 2-core machine idle between responses
	// (ES256 client credentials: 8 workers 11.8k/s with the cores 80 %
	// busy, 16 workers 12.9k to 13.9k/s at 88 %).
	workersPerCore = 8

	// The load and the floor alternate: slices of floorSlice (at most
	// maxSlices of them), and floor samples of FloorTime shared among the
	// gaps but never shorter than minFloorSample, enough for a hundred RSA
	// signatures.
	floorSlice     = 500 * time.Millisecond
	maxSlices      = 120
	minFloorSample = 100 * time.Millisecond
	// A password hash takes tens of milliseconds, a hundred times a
	// signature, and the first after a pause up to twice as long (its
	// memory comes fresh from the system): a tenth of a second held only
	// a few, and read 38 or 90 hashes/s by turns where the same hash runs
	// at 98/s without pause. The login scenarios take longer slices and
	// samples, so that what a pause costs weighs little in either.
	argon2Slice     = 2 * time.Second
	minArgon2Sample = 500 * time.Millisecond
	settle          = 25 * time.Millisecond
)

// Run prepares the scenario, drives it closed-loop with Concurrency
// workers until Duration or Requests, and measures the floor.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = runtime.NumCPU() * workersPerCore
	}
	if cfg.Duration <= 0 && cfg.Requests <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.FloorTime <= 0 {
		cfg.FloorTime = 3 * time.Second
	}
	if cfg.HTTP == nil {
		cfg.HTTP = http.DefaultClient
	}
	if err := cfg.discover(ctx); err != nil {
		return nil, err
	}
	target := cfg.Endpoints.Token
	switch cfg.Scenario {
	case JWKS:
		target = cfg.Endpoints.JWKS
	case Discovery:
		target = cfg.Endpoints.Discovery
	case Introspect:
		target = cfg.Endpoints.Introspect
	}
	cfg.setSenders(target)
	work, sigs, err := prepare(ctx, &cfg)
	if err != nil {
		return nil, fmt.Errorf("bench: prepare %s: %w", cfg.Scenario, err)
	}
	// A sign-in's floor is its password hash: one per response, however
	// many signatures the tokens after it take.
	floorAlg := cfg.Alg
	if cfg.Scenario == Login || cfg.Scenario == LoginTOTP {
		floorAlg, sigs = Argon2id, 1
	}
	res := &Result{Scenario: cfg.Scenario, Target: cfg.Authority, Store: cfg.Store, Alg: floorAlg, Concurrency: cfg.Concurrency,
		Errors: map[string]int{}, SignaturesPerReq: sigs, Machine: machine(), StartedAt: time.Now().UTC()}
	// The load runs in short slices with a floor sample before, between
	// and after them, and the floor is the mean of the samples: on a
	// shared machine the speed of a core moves from one second to the
	// next, and only slices shorter than those swings let the load and the
	// floor see the same machine.
	sliceCount := 1
	measureFloor := sigs > 0 && floorAlg != ""
	slice, minSample := floorSlice, minFloorSample
	if floorAlg == Argon2id {
		slice, minSample = argon2Slice, minArgon2Sample
	}
	if measureFloor && cfg.Duration >= 2*slice && cfg.Requests <= 0 {
		sliceCount = min(int(cfg.Duration/slice), maxSlices)
	}
	floorEach := max(cfg.FloorTime/time.Duration(sliceCount+1), minSample)
	var meter floorSampler
	if measureFloor {
		if meter, err = openFloor(ctx, cfg.FloorCommand, floorAlg); err != nil {
			return nil, err
		}
		defer meter.close()
	}
	var samples []float64
	measure := func() error {
		if !measureFloor {
			return nil
		}
		// Let the server finish what the last slice left running (a
		// garbage collection, a commit) so it does not slow the sample.
		time.Sleep(settle)
		rate, err := meter.sample(floorEach)
		if err != nil {
			return err
		}
		samples = append(samples, rate)
		return nil
	}
	if err := measure(); err != nil {
		return nil, err
	}
	t := newTally()
	stopProgress := progress(cfg.Progress, &t.issued, time.Now())
	sliceCfg := cfg
	sliceCfg.Duration = cfg.Duration / time.Duration(sliceCount)
	for i := 0; i < sliceCount; i++ {
		if i > 0 {
			if err := measure(); err != nil {
				stopProgress()
				return nil, err
			}
		}
		// Threads the runtime started since the last slice get the
		// policy too.
		if cfg.YieldToServer {
			if err := yieldToServer(); err != nil {
				stopProgress()
				return nil, err
			}
			res.GeneratorSched = "batch"
		}
		before := readServerStats(ctx, cfg)
		genBefore, genOK := proccpu.Used()
		if err := drive(ctx, sliceCfg, work, t); err != nil {
			stopProgress()
			return nil, err
		}
		genAfter, _ := proccpu.Used()
		after := readServerStats(ctx, cfg)
		if genOK {
			t.generatorCPU += genAfter - genBefore
			t.generatorCPUKnown = true
		}
		if before.CPUSeconds != nil && after.CPUSeconds != nil {
			t.serverCPU += *after.CPUSeconds - *before.CPUSeconds
			t.serverCPUKnown = true
		}
	}
	stopProgress()
	if err := t.result(res); err != nil {
		return nil, err
	}
	// Where the cores went: the server's CPU and the generator's own per
	// response, and the share of all cores the two took together.
	cores := float64(runtime.GOMAXPROCS(0))
	if t.generatorCPUKnown {
		res.GeneratorCPUus = t.generatorCPU.Seconds() * 1e6 / float64(res.Requests)
	}
	if t.serverCPUKnown {
		res.ServerCPUus = t.serverCPU * 1e6 / float64(res.Requests)
		if t.generatorCPUKnown {
			res.CPUShare = 100 * (t.serverCPU + t.generatorCPU.Seconds()) / (t.elapsed.Seconds() * cores)
		}
	}
	res.Rate = cfg.Rate
	if cfg.Rate > 0 && t.paceSpan > 0 {
		res.RateAchieved = float64(t.paced) / t.paceSpan.Seconds()
		res.RateShortfall = res.RateAchieved < (1-rateTolerance)*cfg.Rate
	}
	if err := measure(); err != nil {
		return nil, err
	}
	if len(samples) > 0 {
		res.Floor = summarizeFloor(floorAlg, samples)
		res.PercentOfFloor = 100 * res.PerSecond * float64(sigs) / res.Floor.SignaturesSec
		res.BySpeed = t.splitBySpeed(samples, res.Floor.SignaturesSec)
	}
	return res, nil
}

// serverStats is what the server's debug listener tells of the process:
// its CPU time so far, missing where it cannot be read.
type serverStats struct {
	CPUSeconds *float64 `json:"cpu_seconds"`
}

func readServerStats(ctx context.Context, cfg Config) serverStats {
	var v serverStats
	if cfg.ServerDebug == "" {
		return v
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cfg.ServerDebug, "/")+"/debug/process", nil)
	if err != nil {
		return v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return v
	}
	defer resp.Body.Close()
	if json.NewDecoder(resp.Body).Decode(&v) != nil {
		return serverStats{}
	}
	return v
}

// tally accumulates what the slices of a run measured.
type tally struct {
	issued   atomic.Int64
	perSlice [][]time.Duration // each slice's latencies, in slice order
	errs     map[string]int
	elapsed  time.Duration
	lastErr  error

	// Measured around each slice, so the floor samples between them
	// are left out.
	generatorCPU      time.Duration
	generatorCPUKnown bool
	serverCPU         float64 // seconds
	serverCPUKnown    bool

	// With a rate: the requests the pacer handed out, and the time its
	// schedules covered.
	paced    int64
	paceSpan time.Duration
}

func newTally() *tally {
	return &tally{errs: map[string]int{}}
}

// drive runs the load for one slice, a closed loop or, with a rate, an
// open one, and adds to t.
func drive(ctx context.Context, cfg Config, work request, t *tally) error {
	// The duration bounds when requests start, not the requests: one in
	// flight when the slice ends is finished and counted. Cutting it
	// would throw away server work the elapsed time already includes
	// (with 16 workers and half-second slices, 2 to 4 % of a run) and
	// make a refresh worker present its parent again.
	start := time.Now()
	var end time.Time
	issuing, stopIssuing := context.WithCancel(ctx)
	defer stopIssuing()
	if cfg.Duration > 0 {
		end = start.Add(cfg.Duration)
		issuing, stopIssuing = context.WithDeadline(ctx, end)
		defer stopIssuing()
	}
	var mu sync.Mutex
	var transportErr atomic.Value
	var wg sync.WaitGroup
	// Each worker records its own latencies, merged when the slice ends.
	perWorker := make([][]time.Duration, cfg.Concurrency)
	// With a rate, workers send when pace hands them a ticket: an open
	// loop on a fixed schedule, so latency is measured below saturation.
	var tickets chan struct{}
	var sent int64
	var paced time.Time
	paceDone := make(chan struct{})
	if cfg.Rate > 0 {
		tickets = make(chan struct{})
		go func() {
			defer close(paceDone)
			sent = pace(issuing, tickets, start, end, cfg.Rate, int64(cfg.Requests))
			paced = time.Now()
		}()
	} else {
		close(paceDone)
	}
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1024)
			for {
				if tickets != nil {
					if _, ok := <-tickets; !ok {
						break
					}
				} else if issuing.Err() != nil {
					break
				}
				if cfg.Requests > 0 && t.issued.Add(1) > int64(cfg.Requests) {
					break
				} else if cfg.Requests <= 0 {
					t.issued.Add(1)
				}
				t0 := time.Now()
				code, err := work(ctx, w)
				if ctx.Err() != nil && err != nil {
					break // the run was cancelled; this request did not finish
				}
				lat = append(lat, time.Since(t0))
				if err != nil {
					transportErr.CompareAndSwap(nil, err)
					code = "transport"
				}
				if code != "" {
					mu.Lock()
					t.errs[code]++
					mu.Unlock()
				}
			}
			perWorker[w] = lat
		}(w)
	}
	wg.Wait()
	t.elapsed += time.Since(start)
	// Workers that stopped early (--requests reached, the run
	// cancelled) leave the pacer waiting for a taker.
	stopIssuing()
	<-paceDone
	if cfg.Rate > 0 {
		t.paced += sent
		if end.IsZero() {
			// Bounded by --requests: the schedule ran until its last
			// request, and one interval more for that request's share.
			t.paceSpan += paced.Sub(start) + time.Duration(float64(time.Second)/cfg.Rate)
		} else {
			t.paceSpan += end.Sub(start)
		}
	}
	t.perSlice = append(t.perSlice, slices.Concat(perWorker...))
	if err, _ := transportErr.Load().(error); err != nil && t.lastErr == nil {
		t.lastErr = err
	}
	return nil
}

// result fills in res from what the slices measured.
func (t *tally) result(res *Result) error {
	all := slices.Concat(t.perSlice...)
	if len(all) == 0 {
		if t.lastErr != nil {
			return fmt.Errorf("bench: no request completed: %w", t.lastErr)
		}
		return fmt.Errorf("bench: no request completed")
	}
	res.Requests = int64(len(all))
	res.Errors = t.errs
	if t.lastErr != nil {
		res.TransportError = t.lastErr.Error()
	}
	res.Seconds = t.elapsed.Seconds()
	res.PerSecond = float64(len(all)) / t.elapsed.Seconds()
	res.LatencyMS = percentiles(all)
	return nil
}

// percentiles sorts d and reads its percentiles.
func percentiles(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	pct := func(p float64) float64 {
		return float64(d[int(p*float64(len(d)-1))]) / float64(time.Millisecond)
	}
	return Latency{P50: pct(0.50), P90: pct(0.90), P99: pct(0.99), Max: float64(d[len(d)-1]) / float64(time.Millisecond)}
}

// splitBySpeed divides the slices by the floor samples around them:
// samples[i] came before slice i and samples[i+1] after it.
func (t *tally) splitBySpeed(samples []float64, mean float64) *SpeedSplit {
	if len(t.perSlice) < 2 || len(samples) != len(t.perSlice)+1 {
		return nil
	}
	var split SpeedSplit
	var fast, slow []time.Duration
	for i, lat := range t.perSlice {
		if samples[i] >= mean && samples[i+1] >= mean {
			fast = append(fast, lat...)
			split.FastSlices++
		} else {
			slow = append(slow, lat...)
			split.SlowSlices++
		}
	}
	split.Fast, split.Slow = percentiles(fast), percentiles(slow)
	return &split
}

// progress prints a line a second while the run goes on.
func progress(w io.Writer, issued *atomic.Int64, start time.Time) func() {
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-done:
				fmt.Fprintln(w)
				return
			case <-t.C:
				n := issued.Load()
				fmt.Fprintf(w, "\r%6.0fs  %9d requests  %8d/s ", time.Since(start).Seconds(), n, n-last)
				last = n
			}
		}
	}()
	return func() { close(done); <-finished }
}

// discover fills in missing endpoints from the authority's metadata.
func (c *Config) discover(ctx context.Context) error {
	e := &c.Endpoints
	if c.Authority == "" {
		if e.Token == "" {
			return fmt.Errorf("bench: give --authority or the token endpoint")
		}
		return nil
	}
	base := strings.TrimSuffix(c.Authority, "/")
	var md struct {
		Issuer        string   `json:"issuer"`
		Token         string   `json:"token_endpoint"`
		Authorize     string   `json:"authorization_endpoint"`
		JWKS          string   `json:"jwks_uri"`
		Introspection string   `json:"introspection_endpoint"`
		Device        string   `json:"device_authorization_endpoint"`
		Algs          []string `json:"id_token_signing_alg_values_supported"`
	}
	var found string
	for _, p := range []string{"/v2.0/.well-known/openid-configuration", "/.well-known/openid-configuration"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+p, nil)
		resp, err := c.HTTP.Do(req)
		if err != nil {
			return fmt.Errorf("bench: discovery: %w", err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && json.Unmarshal(body, &md) == nil && md.Token != "" {
			found = base + p
			break
		}
	}
	if found == "" {
		return fmt.Errorf("bench: no OpenID discovery document under %s", base)
	}
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&e.Discovery, found)
	set(&e.Token, md.Token)
	set(&e.Authorize, md.Authorize)
	set(&e.JWKS, md.JWKS)
	set(&e.Introspect, md.Introspection)
	set(&e.Device, md.Device)
	if c.Alg == "" && len(md.Algs) > 0 {
		c.Alg = md.Algs[0]
	}
	return nil
}

// postForm posts a form and returns the status and decoded JSON body.
// Successful answers are not decoded unless want names fields to pick out:
// the generator shares the machine with the server, and every cycle it
// spends decoding tokens it does not need is taken from the server.
func postForm(ctx context.Context, s sender, target string, form url.Values, want ...string) (int, map[string]any, error) {
	status, body, err := s.send(ctx, http.MethodPost, target, "application/x-www-form-urlencoded", []byte(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	if status == http.StatusOK && len(want) > 0 {
		m := make(map[string]any, len(want))
		for _, name := range want {
			if v, ok := stringField(body, name); ok {
				m[name] = v
			}
		}
		return status, m, nil
	}
	var m map[string]any
	if status != http.StatusOK {
		_ = json.Unmarshal(body, &m)
	}
	return status, m, nil
}

// stringField finds "name":"value" in a compact JSON object without
// decoding the rest; values with escapes fall back to a full decode.
func stringField(body []byte, name string) (string, bool) {
	needle := `"` + name + `":"`
	i := strings.Index(string(body), needle)
	if i < 0 {
		return "", false
	}
	rest := body[i+len(needle):]
	j := strings.IndexByte(string(rest), '"')
	if j < 0 {
		return "", false
	}
	v := string(rest[:j])
	if strings.ContainsRune(v, '\\') {
		var m map[string]any
		if json.Unmarshal(body, &m) != nil {
			return "", false
		}
		s, ok := m[name].(string)
		return s, ok
	}
	return v, true
}

// outcome turns a response into an error code for the report.
func outcome(status int, body map[string]any) string {
	if status == http.StatusOK {
		return ""
	}
	if code, _ := body["error"].(string); code != "" {
		return fmt.Sprintf("%d %s", status, code)
	}
	return fmt.Sprintf("%d", status)
}
