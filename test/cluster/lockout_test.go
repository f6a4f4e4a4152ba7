package cluster

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/testbrowser"
)

// TestSignInLockoutAcrossInstances: wrong passwords spread over the three
// instances behind the balancer are counted in one place, so the tenth
// locks the account on every instance, and the right password then gets
// the lockout message wherever it lands.
func TestSignInLockoutAcrossInstances(t *testing.T) {
	each(t, 3, func(t *testing.T, c *cluster) {
		attempt := func(password string) string {
			t.Helper()
			b := testbrowser.New(t, c.client) // a fresh browser: a new sign-in request every time
			o := b.Get(c.authority() + "/oauth2/v2.0/authorize?" + url.Values{"client_id": {c.demo.WebClientID},
				"response_type": {"code"}, "redirect_uri": {"http://localhost:8080"}, "scope": {"openid"}}.Encode())
			o = b.Login(o, c.demo.Username, password)
			if o.Callback != nil || o.Page != "login" {
				t.Fatalf("page %q, callback %v: want the sign-in form again", o.Page, o.Callback)
			}
			i := strings.Index(o.Body, `role="alert">`)
			j := strings.Index(o.Body[i:], "</p>")
			return o.Body[i+len(`role="alert">`) : i+j]
		}
		before := make([]int64, len(c.instances))
		for i := range c.instances {
			before[i] = c.hits[i].Load()
		}
		for k := 1; k <= 9; k++ {
			if got := attempt("not the password"); got != "Incorrect username or password." {
				t.Fatalf("failure %d: %q", k, got)
			}
		}
		locked := "Your account is temporarily locked to prevent unauthorized use. Try again later."
		if got := attempt("not the password"); got != locked {
			t.Fatalf("failure 10: %q, want the lockout", got)
		}
		for k := range 6 {
			if got := attempt(c.demo.Password); got != locked {
				t.Errorf("the right password, try %d: %q, want the lockout", k+1, got)
			}
		}
		for i := range c.instances {
			if c.hits[i].Load() == before[i] {
				t.Errorf("instance %d served none of the attempts; the test proves nothing about sharing", i)
			}
		}
	})
}

// TestClientAuthLimitAcrossInstances: failed client authentications from
// one address, spread over the instances, reach the limit together; from
// then on every instance refuses that caller, the right secret included,
// while the same client from another address still gets tokens.
func TestClientAuthLimitAcrossInstances(t *testing.T) {
	each(t, 3, func(t *testing.T, c *cluster) {
		form := func(secret string) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {c.demo.WebClientID},
				"client_secret": {secret}, "scope": {c.demo.WebClientID + "/.default"}}
		}
		send := func(i int, client, secret string) (int, map[string]any) {
			t.Helper()
			ctx := onInstance(fromClient(context.Background(), client), i)
			return c.send(ctx, http.MethodPost, "/oauth2/v2.0/token", form(secret), nil)
		}
		// oauth.DefaultClientAuthLimit: 20 failures in a 5-minute window.
		const limit = 20
		startInsideWindow(t, 5*time.Minute)
		for k := range limit {
			status, resp := send(k%len(c.instances), "198.51.100.7", "not-the-secret")
			if status != 401 || strings.Contains(resp["error_description"].(string), "Too many") {
				t.Fatalf("failure %d: %d %v, want the usual invalid_client", k+1, status, resp)
			}
		}
		for i := range c.instances {
			for _, secret := range []string{"not-the-secret", c.demo.WebSecret} {
				status, resp := send(i, "198.51.100.7", secret)
				if status != 401 || !strings.Contains(resp["error_description"].(string), "Too many failed client authentication attempts") {
					t.Errorf("instance %d, after the limit: %d %v, want the caller blocked", i, status, resp)
				}
			}
			if status, resp := send(i, "198.51.100.8", c.demo.WebSecret); status != 200 {
				t.Errorf("instance %d, the client from another address: %d %v", i, status, resp)
			}
		}
	})
}
