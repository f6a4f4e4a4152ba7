package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/testserver"
	"github.com/tessera-id/tessera/oauth"
)

// typeCode submits a user code on tenant's verification page, without
// cookies when b is nil (every request is then a browser never seen
// before), and returns the status and page.
func (e *env) typeCode(b *browser, tenant, code string) (int, string) {
	e.t.Helper()
	if b != nil {
		o := b.Submit(b.Get(e.url("/"+tenant+"/device")), map[string]string{"user_code": code})
		return o.Status, o.Body
	}
	return e.typeCodeFrom("", tenant, code)
}

// typeCodeFrom submits a user code without cookies, as forwarded for addr
// by a trusted proxy when addr is not "".
func (e *env) typeCodeFrom(addr, tenant, code string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url("/"+tenant+"/device"), strings.NewReader(url.Values{"user_code": {code}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	if addr != "" {
		req.Header.Set("X-Forwarded-For", addr)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func userCodeLimits(address, browser, tenant int) envOption {
	return func(c *oauth.Config) {
		c.UserCodeLimits = oauth.UserCodeLimits{PerAddress: address, PerBrowser: browser, PerTenant: tenant}
	}
}

// wantLimited checks the verification page's refusal of the limit named
// by message.
func wantLimited(t *testing.T, status int, body, message string) {
	t.Helper()
	if status != http.StatusTooManyRequests || !strings.Contains(body, message) {
		t.Fatalf("want 429 %q, got %d:\n%s", message, status, body)
	}
}

// TestUserCodeLimitsFireOnTheirOwn: each limit on typing user codes stops
// guessing by itself, with the other two far away.
func TestUserCodeLimitsFireOnTheirOwn(t *testing.T) {
	const wrong = "BCDF-GHJK"

	t.Run("per address, against a client without cookies", func(t *testing.T) {
		e := newEnv(t, userCodeLimits(3, 100, 100))
		for i := range 3 {
			if status, _ := e.typeCode(nil, "contoso", wrong); status != http.StatusBadRequest {
				t.Fatalf("attempt %d: %d", i+1, status)
			}
		}
		status, body := e.typeCode(nil, "contoso", wrong)
		wantLimited(t, status, body, "tried from here")
	})

	t.Run("per browser", func(t *testing.T) {
		e := newEnv(t, userCodeLimits(100, 3, 100))
		b := e.browser()
		for i := range 3 {
			if status, _ := e.typeCode(b, "contoso", wrong); status != http.StatusBadRequest {
				t.Fatalf("attempt %d: %d", i+1, status)
			}
		}
		status, body := e.typeCode(b, "contoso", wrong)
		wantLimited(t, status, body, "tried from this browser")
		// Another browser at the same address is not limited.
		if status, body := e.typeCode(e.browser(), "contoso", wrong); status != http.StatusBadRequest {
			t.Errorf("another browser: %d\n%s", status, body)
		}
	})

	t.Run("per tenant, against guesses from everywhere", func(t *testing.T) {
		e := newEnv(t, userCodeLimits(100, 100, 3))
		for i := range 3 {
			if status, _ := e.typeCode(e.browser(), "contoso", wrong); status != http.StatusBadRequest {
				t.Fatalf("attempt %d: %d", i+1, status)
			}
		}
		status, body := e.typeCode(e.browser(), "contoso", wrong)
		wantLimited(t, status, body, "tried on this page")
		// While limited, even the right code is not looked up.
		da := e.deviceAuthorize(e.native.ClientID, "openid")
		status, body = e.typeCode(e.browser(), "contoso", da["user_code"].(string))
		wantLimited(t, status, body, "tried on this page")
		// Other tenants keep their own count.
		if _, err := e.admin.CreateTenant(t.Context(), "fabrikam", "RS256"); err != nil {
			t.Fatal(err)
		}
		if status, body := e.typeCode(e.browser(), "fabrikam", wrong); status != http.StatusBadRequest {
			t.Errorf("another tenant: %d\n%s", status, body)
		}
	})
}

// Guesses from every address of one IPv6 /64, which one subscriber
// commonly holds whole, count as guesses from one address; another /64
// keeps its own count.
func TestUserCodeLimitPerAddressGroupsIPv6Subnets(t *testing.T) {
	const wrong = "BCDF-GHJK"
	e := newEnvWith(t, testserver.Options{TrustedProxies: "127.0.0.1, ::1", Config: userCodeLimits(3, 100, 100)})
	from := func(addr string) (int, string) { t.Helper(); return e.typeCodeFrom(addr, "contoso", wrong) }
	for i := 1; i <= 3; i++ {
		if status, body := from(fmt.Sprintf("2001:db8:1:2::%x", i)); status != http.StatusBadRequest {
			t.Fatalf("guess %d: %d\n%s", i, status, body)
		}
	}
	status, body := from("2001:db8:1:2:ffff::1")
	wantLimited(t, status, body, "tried from here")
	if status, body := from("2001:db8:1:3::1"); status != http.StatusBadRequest {
		t.Errorf("another /64: %d\n%s", status, body)
	}
}

func TestDeviceUserCodeGuessingIsLimited(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	page := b.Get(e.authority() + "/device")
	var last int
	for i := 0; i < 25; i++ {
		o := b.Submit(page, map[string]string{"user_code": "BCDF-GHJK"})
		last = o.Status
		if i < 20 && o.Status != http.StatusBadRequest {
			t.Fatalf("attempt %d: status %d", i, o.Status)
		}
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("after 25 wrong codes: status %d, want 429", last)
	}
	// Even the right code is refused while limited.
	da := e.deviceAuthorize(e.native.ClientID, "openid")
	if o := b.Submit(page, map[string]string{"user_code": da["user_code"].(string)}); o.Status != http.StatusTooManyRequests {
		t.Errorf("right code while limited: %d", o.Status)
	}
}
