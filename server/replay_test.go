package server_test

import (
	"net/http"
	"testing"
	"time"
)

// collect runs the expired-row collection the server runs every minute,
// at the test clock's time, until nothing is left to delete.
func (e *env) collect() {
	e.t.Helper()
	for {
		n, err := e.store.DeleteExpired(e.t.Context(), e.clock.Now(), 1000)
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// TestCodeReplayAfterCollectionRevokes: a code replayed after its ten
// minutes, once collection has run, is still recognised as a replay and
// still revokes the refresh family and the access token it issued.
func TestCodeReplayAfterCollectionRevokes(t *testing.T) {
	e := newEnv(t)
	code := codeFor(e, e.browser(), e.web.ClientID, webRedirect, "openid offline_access", nil)
	form := redeemWeb(e, code)
	status, first, _ := e.post(e.tokenURL(), form)
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, first)
	}
	at := first["access_token"].(string)

	e.clock.Advance(20 * time.Minute)
	e.collect()
	if _, in := e.introspectToken(e.web.ClientID, e.secret, at); in["active"] != true {
		t.Fatalf("access token inactive before the replay: %v", in)
	}

	status, again, h := e.post(e.tokenURL(), form)
	assertProtocolError(t, status, again, h, http.StatusBadRequest, "invalid_grant")
	if codes, _ := again["error_codes"].([]any); len(codes) != 1 || codes[0] != float64(54005) {
		t.Errorf("replay answered %v, want the 'already redeemed' code 54005", again)
	}
	status, resp := e.refresh(first["refresh_token"].(string), nil)
	wantDead(t, status, resp)
	if _, in := e.introspectToken(e.web.ClientID, e.secret, at); in["active"] != false {
		t.Errorf("the access token issued from the replayed code is still active: %v", in)
	}
}

// TestRefreshReuseAfterCollectionRevokesFamily: a rotated refresh token
// reused after its own idle lifetime has passed, once collection has run,
// is still a reuse and revokes the family, whose newest token dies with it.
func TestRefreshReuseAfterCollectionRevokesFamily(t *testing.T) {
	e := newEnv(t)
	if _, err := e.admin.Set(t.Context(), e.web, adminLifetimes(48*time.Hour, 24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	rt0 := webTokens(e, "openid offline_access")["refresh_token"].(string)
	status, r1 := e.refresh(rt0, nil)
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, r1)
	}
	e.clock.Advance(20 * time.Hour)
	status, r2 := e.refresh(r1["refresh_token"].(string), nil)
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, r2)
	}
	rt2 := r2["refresh_token"].(string)

	// rt0 would have died of inactivity an hour ago.
	e.clock.Advance(5 * time.Hour)
	e.collect()
	status, resp := e.refresh(rt0, nil)
	wantDead(t, status, resp)
	if codes, _ := resp["error_codes"].([]any); len(codes) != 1 || codes[0] != float64(700084) {
		t.Errorf("late reuse answered %v, want the 'revoked' code 700084", resp)
	}
	status, resp = e.refresh(rt2, nil)
	wantDead(t, status, resp)
}

// TestDeviceCodePolledAfterCollectionIsExpired: a device that polls after
// its code expired and was collected is told expired_token, as it is in
// the minute before collection, rather than invalid_grant.
func TestDeviceCodePolledAfterCollectionIsExpired(t *testing.T) {
	e := newEnv(t)
	da := e.deviceAuthorize(e.native.ClientID, "openid")
	e.clock.Advance(16 * time.Minute)
	e.collect()
	status, resp := e.pollDevice(deviceGrant, e.native.ClientID, da["device_code"].(string))
	assertPollError(t, status, resp, "expired_token")

	// An unknown code is still invalid_grant, with or without a suffix
	// that has not passed.
	for _, code := range []string{"no-such-code", "no-such-code.99999999999"} {
		status, resp = e.pollDevice(deviceGrant, e.native.ClientID, code)
		assertPollError(t, status, resp, "invalid_grant")
	}
}
