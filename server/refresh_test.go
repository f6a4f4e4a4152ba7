package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/oauth"
)

func (e *env) refresh(rt string, extra url.Values) (int, map[string]any) {
	e.t.Helper()
	v := url.Values{"grant_type": {"refresh_token"}, "client_id": {e.web.ClientID}, "client_secret": {e.secret}, "refresh_token": {rt}}
	for k, vs := range extra {
		v[k] = vs
	}
	status, resp, _ := e.post(e.tokenURL(), v)
	return status, resp
}

func wantDead(t *testing.T, status int, resp map[string]any) {
	t.Helper()
	if status != http.StatusBadRequest || resp["error"] != "invalid_grant" || resp["suberror"] != "bad_token" {
		t.Fatalf("want invalid_grant/bad_token, got %d %v", status, resp)
	}
	if _, ok := resp["access_token"]; ok {
		t.Fatal("an error response carried a token")
	}
}

func TestRefreshRotationGraceAndReuse(t *testing.T) {
	e := newEnv(t)
	rt0 := webTokens(e, "openid offline_access")["refresh_token"].(string)

	status, r1 := e.refresh(rt0, nil)
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, r1)
	}
	rt1 := r1["refresh_token"].(string)

	// A retry of rt0 inside the grace window: the same successor.
	status, retry := e.refresh(rt0, nil)
	if status != http.StatusOK || retry["refresh_token"] != rt1 {
		t.Fatalf("retry in grace: %d %v (want successor %s)", status, retry, rt1)
	}

	// rt1 rotates normally.
	status, r2 := e.refresh(rt1, nil)
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, r2)
	}
	rt2 := r2["refresh_token"].(string)

	// Replaying rt0 after the window revokes the whole family.
	e.clock.Advance(oauth.DefaultConfig().RefreshGrace + time.Second)
	status, resp := e.refresh(rt0, nil)
	wantDead(t, status, resp)
	status, resp = e.refresh(rt2, nil)
	wantDead(t, status, resp)
}

func TestRefreshRetryAfterSuccessorUsedRevokes(t *testing.T) {
	e := newEnv(t)
	rt0 := webTokens(e, "openid offline_access")["refresh_token"].(string)
	_, r1 := e.refresh(rt0, nil)
	_, r2 := e.refresh(r1["refresh_token"].(string), nil)
	// rt0 again, still inside the grace window, but its successor has
	// moved on: a replay, not a retry.
	status, resp := e.refresh(rt0, nil)
	wantDead(t, status, resp)
	status, resp = e.refresh(r2["refresh_token"].(string), nil)
	wantDead(t, status, resp)
}

func TestConcurrentRefreshOneRotation(t *testing.T) {
	e := newEnv(t)
	rt0 := webTokens(e, "openid offline_access")["refresh_token"].(string)
	const n = 20
	results := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v := url.Values{"grant_type": {"refresh_token"}, "client_id": {e.web.ClientID}, "client_secret": {e.secret}, "refresh_token": {rt0}}
			resp, err := e.srv.Client().PostForm(e.tokenURL(), v)
			if err != nil {
				results[i] = "error: " + err.Error()
				return
			}
			defer resp.Body.Close()
			m := decodeJSON(t, resp.Body)
			if resp.StatusCode != http.StatusOK {
				results[i] = fmt.Sprintf("status %d %v", resp.StatusCode, m)
				return
			}
			results[i] = m["refresh_token"].(string)
		}(i)
	}
	wg.Wait()
	for i, r := range results {
		if r != results[0] {
			t.Fatalf("caller %d got %q, caller 0 got %q: concurrent retries must share one successor", i, r, results[0])
		}
	}
	if status, resp := e.refresh(results[0], nil); status != http.StatusOK {
		t.Fatalf("the shared successor does not work: %d %v", status, resp)
	}
}

func TestRefreshEndsWithUserOrConsent(t *testing.T) {
	t.Run("disabled user", func(t *testing.T) {
		e := newEnv(t)
		rt := webTokens(e, "openid offline_access")["refresh_token"].(string)
		if _, err := e.admin.SetDisabled(t.Context(), e.user, true); err != nil {
			t.Fatal(err)
		}
		status, resp := e.refresh(rt, nil)
		wantDead(t, status, resp)
	})
	t.Run("consent removed", func(t *testing.T) {
		e := newEnv(t)
		rt := webTokens(e, "openid offline_access")["refresh_token"].(string)
		if err := e.admin.RevokeConsent(t.Context(), e.web, e.user.ID); err != nil {
			t.Fatal(err)
		}
		status, resp := e.refresh(rt, nil)
		wantDead(t, status, resp)
	})
}

func TestRefreshLifetimes(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		e := newEnv(t)
		rt := webTokens(e, "openid offline_access")["refresh_token"].(string)
		e.clock.Advance(oauth.DefaultConfig().RefreshTokenIdleLifetime + time.Minute)
		status, resp := e.refresh(rt, nil)
		wantDead(t, status, resp)
	})
	t.Run("sliding then absolute", func(t *testing.T) {
		e := newEnv(t)
		idle := 2 * time.Hour
		absolute := 5 * time.Hour
		if _, err := e.admin.Set(t.Context(), e.web, adminLifetimes(absolute, idle)); err != nil {
			t.Fatal(err)
		}
		rt := webTokens(e, "openid offline_access")["refresh_token"].(string)
		for i := 0; i < 4; i++ { // each use slides the idle window
			e.clock.Advance(idle - time.Minute)
			status, resp := e.refresh(rt, nil)
			if i < 2 {
				if status != http.StatusOK {
					t.Fatalf("use %d: %d %v", i, status, resp)
				}
				rt = resp["refresh_token"].(string)
				continue
			}
			// Past the family's absolute lifetime, even a fresh token dies.
			wantDead(t, status, resp)
			return
		}
	})
}

func TestMultiResourceRefreshAndEscalation(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	verifier, challenge := pkcePair()
	scope := "api://files/Files.Read openid profile offline_access"
	code := codeFor(e, b, e.native.ClientID, "http://localhost:1234", scope, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {e.native.ClientID},
		"code": {code}, "redirect_uri": {"http://localhost:1234"}, "code_verifier": {verifier}, "scope": {scope}})
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, resp)
	}
	rt := resp["refresh_token"].(string)
	refresh := func(scope string) (int, map[string]any) {
		status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {e.native.ClientID}, "refresh_token": {rt}, "scope": {scope}})
		if status == http.StatusOK {
			rt = resp["refresh_token"].(string)
		}
		return status, resp
	}
	// Escalation to an unconsented scope of the same resource.
	status, resp = refresh("api://files/Files.Write offline_access")
	if status != http.StatusBadRequest || resp["error"] != "invalid_grant" || resp["suberror"] != "consent_required" {
		t.Fatalf("escalation: %d %v", status, resp)
	}
	// A second consented resource: the web app's API, consented now.
	codeFor(e, b, e.native.ClientID, "http://localhost:1234", "api://"+e.web.ClientID+"/access_as_user", url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	status, resp = refresh("api://" + e.web.ClientID + "/access_as_user openid offline_access")
	if status != http.StatusOK {
		t.Fatalf("multi-resource refresh: %d %v", status, resp)
	}
	if _, claims := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.web.ClientID); claims["scp"] != "access_as_user" {
		t.Errorf("scp = %v", claims["scp"])
	}
	// No scope: the grant of the last redemption.
	status, resp = refresh("")
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, resp)
	}
	if _, ok := resp["id_token"]; !ok {
		t.Error("refresh without scope lost the ID token")
	}
}
