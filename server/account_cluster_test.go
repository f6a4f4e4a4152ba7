package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/testbrowser"
	"github.com/tessera-id/tessera/internal/testserver"
)

// The account page on two instances of one store behind a balancer that
// is not sticky: a sign-in started on one finishes on the other, a form
// shown by one posts to the other, a new instance serves the session, and
// signing out on one ends the session's cookie on the other.
func TestAccountAcrossInstances(t *testing.T) {
	lb, public := newBalancer(t)
	e := newEnvWith(t, testserver.Options{PublicURL: public})
	a := e.ts
	b := testserver.StartWith(t, testserver.Options{Peer: a, PublicURL: public})
	lb.srv.StartTLS()
	base := lb.srv.URL + "/contoso/account"
	rt := refreshFor(e, e.browser())

	lb.to.Store(a)
	br := testbrowser.New(t, lb.srv.Client())
	o := br.Get(base)
	if o.Page != "login" {
		t.Fatalf("the account page did not ask to sign in: %d %q", o.Status, o.Page)
	}
	lb.to.Store(b)
	page := br.Login(o, "alice@contoso.test", e.password)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "<h1>My account</h1>") {
		t.Fatalf("a sign-in started on A and finished on B: %d %q\n%s", page.Status, page.Page, page.Body)
	}
	session := portalCookie(t, br, base, "tessera_account")

	lb.to.Store(a)
	u := &accountUser{browser: &browser{Browser: br, e: e}, e: e, base: base}
	u.reload()
	lb.to.Store(b)
	if o := u.post("/apps/withdraw", url.Values{"client_id": {e.web.ClientID}}); o.Status != http.StatusOK || !strings.Contains(o.Body, "withdrawn") {
		t.Fatalf("a form from A posted on B: %d\n%s", o.Status, o.Body)
	}
	if status, _, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {e.web.ClientID},
		"client_secret": {e.secret}, "refresh_token": {rt}}); status != http.StatusBadRequest {
		t.Errorf("the refresh token after withdrawal on B, redeemed on A: %d", status)
	}

	c := testserver.StartWith(t, testserver.Options{Peer: a, PublicURL: public})
	lb.to.Store(c)
	if o := u.reload(); o.Status != http.StatusOK || !strings.Contains(o.Body, "<h1>My account</h1>") {
		t.Fatalf("the session on a new instance: %d %q", o.Status, o.Page)
	}

	lb.to.Store(a)
	if o := u.post("/signout", url.Values{}); o.Status != http.StatusOK || !strings.Contains(o.Body, "signed out") {
		t.Errorf("signing out on A: %d\n%s", o.Status, o.Body)
	}
	lb.to.Store(b)
	planted := testbrowser.New(t, lb.srv.Client())
	planted.SetCookie(mustURL(t, base), &http.Cookie{Name: "tessera_account", Value: session, Path: "/contoso/account"})
	if o := planted.Get(base); o.Page != "login" {
		t.Errorf("after signing out on A the session cookie still works on B: %d %q", o.Status, o.Page)
	}
}
