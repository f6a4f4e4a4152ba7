package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/testserver"
)

// Failed client authentications are limited per client id and address:
// after twenty in five minutes the caller is refused before its secret is
// even looked at (401 invalid_client, Retry-After), while the same client
// from another address, and another client from the same address, still
// get tokens; and the block ends.
func TestClientAuthFailuresLimited(t *testing.T) {
	e := newEnvWith(t, testserver.Options{TrustedProxies: "127.0.0.1, ::1"})
	token := func(clientID, secret, from string) (int, map[string]any, http.Header) {
		t.Helper()
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
			"scope": {"api://files/.default"}}
		return e.postRaw(e.tokenURL(), "application/x-www-form-urlencoded", form.Encode(),
			http.Header{"X-Forwarded-For": {from}})
	}
	const attacker, other = "198.51.100.7", "203.0.113.9"
	for i := 1; i <= 20; i++ {
		status, resp, _ := token(e.daemon.ClientID, "not-the-secret", attacker)
		if status != 401 || resp["error"] != "invalid_client" || strings.Contains(fmt.Sprint(resp["error_description"]), "Too many") {
			t.Fatalf("failure %d: %d %v, want the usual invalid_client", i, status, resp)
		}
	}
	// Blocked: even the right secret is refused, without a look at it.
	for _, secret := range []string{"not-the-secret", e.daemonPW} {
		status, resp, h := token(e.daemon.ClientID, secret, attacker)
		if status != 401 || resp["error"] != "invalid_client" || !strings.Contains(fmt.Sprint(resp["error_description"]), "Too many failed client authentication attempts") {
			t.Fatalf("blocked caller: %d %v", status, resp)
		}
		if h.Get("Retry-After") != "300" || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("blocked caller: Retry-After %q, WWW-Authenticate %q", h.Get("Retry-After"), h.Get("WWW-Authenticate"))
		}
	}
	if status, resp, _ := token(e.daemon.ClientID, e.daemonPW, other); status != 200 {
		t.Errorf("the same client from another address: %d %v", status, resp)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.web.ClientID}, "client_secret": {e.secret},
		"scope": {e.web.ClientID + "/.default"}}
	if status, resp, _ := e.postRaw(e.tokenURL(), "application/x-www-form-urlencoded", form.Encode(),
		http.Header{"X-Forwarded-For": {attacker}}); status != 200 {
		t.Errorf("another client from the blocked address: %d %v", status, resp)
	}
	e.clock.Advance(5 * time.Minute)
	if status, resp, _ := token(e.daemon.ClientID, e.daemonPW, attacker); status != 200 {
		t.Errorf("after the block: %d %v", status, resp)
	}
}

// TestClientAuthFailuresLimitedPerAddress: an address that names a new
// client id with every failure never reaches one client's limit, but is
// blocked as an address, and stops costing a counter row per id; other
// addresses are not.
func TestClientAuthFailuresLimitedPerAddress(t *testing.T) {
	e := newEnvWith(t, testserver.Options{TrustedProxies: "127.0.0.1, ::1"})
	token := func(clientID, secret, from string) (int, map[string]any) {
		t.Helper()
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
			"scope": {"api://files/.default"}}
		status, resp, _ := e.postRaw(e.tokenURL(), "application/x-www-form-urlencoded", form.Encode(),
			http.Header{"X-Forwarded-For": {from}})
		return status, resp
	}
	const sprayer, other = "198.51.100.8", "203.0.113.10"
	for i := 1; i <= 101; i++ {
		status, resp := token(fmt.Sprintf("00000000-0000-4000-8000-%012d", i), "guess", sprayer)
		blocked := strings.Contains(fmt.Sprint(resp["error_description"]), "Too many")
		if status != 401 || resp["error"] != "invalid_client" || blocked != (i == 101) {
			t.Fatalf("failure %d: %d %v", i, status, resp)
		}
	}
	if status, resp := token(e.daemon.ClientID, e.daemonPW, sprayer); status != 401 || !strings.Contains(fmt.Sprint(resp["error_description"]), "Too many") {
		t.Fatalf("a real client from the blocked address: %d %v", status, resp)
	}
	if status, resp := token(e.daemon.ClientID, e.daemonPW, other); status != 200 {
		t.Fatalf("another address: %d %v", status, resp)
	}
	e.clock.Advance(5 * time.Minute)
	if status, resp := token(e.daemon.ClientID, e.daemonPW, sprayer); status != 200 {
		t.Fatalf("after the block: %d %v", status, resp)
	}
}
