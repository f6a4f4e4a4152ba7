package main

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/testbrowser"
)

var metricsAddr = regexp.MustCompile(`msg="metrics listening" addr=(127\.0\.0\.1:\d+)`)

// scrape reads the metrics page as Prometheus would and returns each
// sample line's value by its series ("name{labels}").
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %s", resp.StatusCode, raw)
	}
	samples := map[string]float64{}
	for _, line := range strings.Split(string(raw), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

// sum adds the samples of a metric whose labels include every one given.
func sum(samples map[string]float64, name string, labels ...string) float64 {
	var total float64
	for series, v := range samples {
		if series != name && !strings.HasPrefix(series, name+"{") {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(series, l)
		}
		if all {
			total += v
		}
	}
	return total
}

// With --metrics-addr the server counts what it does on a listener of its
// own: token responses by grant and error, sign-ins, refresh reuse,
// requests by route, store round trips, key age, the build; the public
// port has no /metrics, and nothing names a user, a client or a secret.
func TestMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	srv := startServer(t, dataDir, "--metrics-addr", "127.0.0.1:0", "--metrics-tenant-label", "--refresh-grace", "1s")
	m := metricsAddr.FindStringSubmatch(srv.stderr.String())
	if m == nil {
		t.Fatalf("no metrics listener logged:\n%s", srv.stderr)
	}
	out := srv.stdout.String()
	webID, secret, pw := banner(out, "Application (client) ID")[0], banner(out, "Client secret")[0], banner(out, "Password")[0]
	c := trustingClient(t, dataDir)
	tokenURL := srv.base + "/demo/oauth2/v2.0/token"

	for range 3 {
		if status, body := postForm(t, c, tokenURL, "grant_type=client_credentials&client_id="+webID+"&client_secret="+url.QueryEscape(secret)+"&scope="+webID+"%2f.default"); status != 200 {
			t.Fatalf("client credentials: %d %v", status, body)
		}
	}
	if status, _ := postForm(t, c, tokenURL, "grant_type=client_credentials&client_id="+webID+"&client_secret=wrong&scope="+webID+"%2f.default"); status != 401 {
		t.Fatalf("wrong secret: %d", status)
	}
	postForm(t, c, tokenURL, "grant_type=made-up-grant-"+strings.Repeat("x", 40))

	// A sign-in, a refresh and a reuse of the spent refresh token.
	b := testbrowser.New(t, c)
	authorize := srv.base + "/demo/oauth2/v2.0/authorize?client_id=" + webID + "&response_type=code&redirect_uri=" +
		url.QueryEscape("http://localhost:8080") + "&scope=" + url.QueryEscape("openid offline_access "+webID+"/.default") + "&state=s"
	o := b.SignIn(authorize, "demo", pw)
	status, tokens := postForm(t, c, tokenURL, "grant_type=authorization_code&client_id="+webID+"&client_secret="+url.QueryEscape(secret)+
		"&code="+o.Params.Get("code")+"&redirect_uri="+url.QueryEscape("http://localhost:8080"))
	if status != 200 {
		t.Fatalf("code: %d %v", status, tokens)
	}
	rt := tokens["refresh_token"].(string)
	refresh := "grant_type=refresh_token&client_id=" + webID + "&client_secret=" + url.QueryEscape(secret) + "&refresh_token=" + rt
	if status, body := postForm(t, c, tokenURL, refresh); status != 200 {
		t.Fatalf("refresh: %d %v", status, body)
	}
	// Outside the retry grace, the spent token is a reuse.
	time.Sleep(1500 * time.Millisecond)
	if status, _ := postForm(t, c, tokenURL, refresh); status != 400 {
		t.Fatalf("reuse: %d", status)
	}
	bad := testbrowser.New(t, c)
	if o := bad.Login(bad.Get(authorize), "demo", "not-the-password"); o.Page != "login" {
		t.Fatalf("a wrong password: page %q", o.Page)
	}

	s := scrape(t, m[1])
	checks := []struct {
		name    string
		got     float64
		atLeast float64
	}{
		{"client credentials issued", sum(s, "tessera_token_responses_total", `grant="client_credentials"`, `error="none"`, `tenant="demo"`), 3},
		{"client credentials refused", sum(s, "tessera_token_responses_total", `grant="client_credentials"`, `error="invalid_client"`), 1},
		{"unknown grant bounded", sum(s, "tessera_token_responses_total", `grant="other"`), 1},
		{"code redeemed", sum(s, "tessera_token_responses_total", `grant="authorization_code"`, `error="none"`), 1},
		{"refresh reused", sum(s, "tessera_refresh_token_reuse_total", `tenant="demo"`), 1},
		{"family revoked for reuse", sum(s, "tessera_refresh_families_revoked_total", `reason="reuse"`), 1},
		{"sign-in succeeded", sum(s, "tessera_signins_total", `outcome="success"`), 1},
		{"sign-in failed", sum(s, "tessera_signins_total", `outcome="failure"`), 1},
		{"token route", sum(s, "tessera_http_requests_total", `route="/{tenant}/oauth2/v2.0/token"`, `code="2xx"`), 4},
		{"token route latency", sum(s, "tessera_http_request_duration_seconds_count", `route="/{tenant}/oauth2/v2.0/token"`), 6},
		{"store reads", sum(s, "tessera_store_operation_duration_seconds_count", `engine="sqlite"`), 1},
		{"signing key age", sum(s, "tessera_signing_key_age_seconds_max"), 0.001},
		{"tenant key age", sum(s, "tessera_signing_key_age_seconds", `tenant="demo"`), 0.001},
		{"password check slots", sum(s, "tessera_password_checks_limit"), 1},
		{"build", sum(s, "tessera_build_info"), 1},
	}
	for _, c := range checks {
		if c.got < c.atLeast {
			t.Errorf("%s: %v, want at least %v", c.name, c.got, c.atLeast)
		}
	}
	for series := range s {
		for _, secretish := range []string{webID, secret, pw, rt, "demo@", "made-up"} {
			if strings.Contains(series, secretish) {
				t.Errorf("series %q names %q", series, secretish)
			}
		}
	}
	resp, err := c.Get(srv.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the public port answers /metrics with %d", resp.StatusCode)
	}
}

// Without --metrics-addr nothing listens for metrics.
func TestMetricsOffByDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	srv := startServer(t, filepath.Join(t.TempDir(), "tessera-data"))
	if strings.Contains(srv.stderr.String(), "metrics listening") {
		t.Errorf("metrics listen without --metrics-addr:\n%s", srv.stderr)
	}
}
