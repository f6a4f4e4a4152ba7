package server_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/testbrowser"
	"github.com/tessera-id/tessera/internal/testserver"
)

// balancer stands in for a load balancer in front of several instances:
// it forwards each request to the instance the test points it at, with
// no stickiness of any kind.
type balancer struct {
	srv *httptest.Server
	to  atomic.Pointer[testserver.Server]
}

// newBalancer returns a balancer, not yet started, whose URL the instances
// are given as their public URL.
func newBalancer(t *testing.T) (*balancer, string) {
	lb := &balancer{srv: httptest.NewUnstartedServer(nil)}
	lb.srv.Config.Handler = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			target, _ := url.Parse(lb.to.Load().HTTP.URL)
			r.SetURL(target)
			r.Out.Host = r.In.Host
		},
		Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			return lb.to.Load().HTTP.Client().Transport.RoundTrip(r)
		}),
	}
	t.Cleanup(lb.srv.Close)
	return lb, "https://" + lb.srv.Listener.Addr().String()
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// portalCookie is the value of the browser's cookie named name for the
// portal at base.
func portalCookie(t *testing.T, b *testbrowser.Browser, base, name string) string {
	t.Helper()
	u, _ := url.Parse(base + "/callback")
	for _, c := range b.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	t.Fatalf("the browser holds no %s cookie", name)
	return ""
}

// plant gives a fresh browser one portal cookie, as a stolen or forged
// one would arrive.
func plant(t *testing.T, client *http.Client, base, name, value string) *testbrowser.Browser {
	b := testbrowser.New(t, client)
	u, _ := url.Parse(base + "/")
	path := "/"
	if name == "tessera_portal_signin" {
		path = u.Path
	}
	b.SetCookie(u, &http.Cookie{Name: name, Value: value, Path: path})
	return b
}

func signedOut(o testbrowser.Outcome) bool { return o.Page == "login" && o.Status == http.StatusOK }

// Two instances on one store behind a balancer that is not sticky: a
// sign-in started on one finishes on the other, the session works on both
// (pages and forms), survives a restart, and signing out on one, or an
// admin revoking the user's sessions, ends it on the other.
func TestPortalAcrossInstances(t *testing.T) {
	lb, public := newBalancer(t)
	e := newEnvWith(t, testserver.Options{PublicURL: public})
	e.globalAdmin()
	a := e.ts
	b := testserver.StartWith(t, testserver.Options{Peer: a, PublicURL: public})
	lb.srv.StartTLS()
	base := lb.srv.URL + "/contoso/portal"
	ctx := t.Context()

	lb.to.Store(a)
	br := testbrowser.New(t, lb.srv.Client())
	o := br.Get(base + "/apps")
	if o.Page != "login" {
		t.Fatalf("the portal did not ask to sign in: %d %q", o.Status, o.Page)
	}
	lb.to.Store(b)
	list := br.Login(o, "alice@contoso.test", e.password)
	if list.Status != http.StatusOK || !strings.Contains(list.Body, "<h1>App registrations</h1>") {
		t.Fatalf("a sign-in started on A and finished on B: %d %q\n%s", list.Status, list.Page, list.Body)
	}
	session := portalCookie(t, br, base, "tessera_portal")
	pending := ""
	for _, c := range br.Cookies(mustURL(t, base+"/callback")) {
		if c.Name == "tessera_portal_signin" {
			pending = c.Value
		}
	}
	if pending != "" {
		t.Error("the pending sign-in cookie outlives the sign-in")
	}
	t.Logf("session cookie: %d bytes", len("tessera_portal=")+len(session))
	if len(session) > 3000 {
		t.Errorf("the session cookie is %d bytes: too close to the 4 KB a browser keeps", len(session))
	}

	lb.to.Store(a)
	form := br.Get(base + "/apps/new")
	if form.Status != http.StatusOK {
		t.Fatalf("the session on A: %d %q", form.Status, form.Page)
	}
	lb.to.Store(b)
	u := &portalUser{browser: &browser{Browser: br, e: e}, e: e, base: base}
	o = u.post(form, "/apps/new", url.Values{"name": {"made on B"}, "audience": {"single"}, "platform": {"web"}})
	if o.Status != http.StatusOK || !strings.Contains(o.Body, "<h1>made on B</h1>") {
		t.Fatalf("a form from A posted with its CSRF token on B: %d\n%s", o.Status, o.Body)
	}

	// A restart: a new instance, which never saw the session, serves it.
	c := testserver.StartWith(t, testserver.Options{Peer: a, PublicURL: public})
	lb.to.Store(c)
	if o := br.Get(base + "/apps"); o.Status != http.StatusOK || !strings.Contains(o.Body, "made on B") {
		t.Fatalf("the session after a restart: %d %q", o.Status, o.Page)
	}

	// Sign out on A; the session cookie, replayed on B, is signed out.
	lb.to.Store(a)
	page := br.Get(base + "/apps")
	if out := u.post(page, "/signout", url.Values{}); out.Page != "login" {
		t.Errorf("signing out led to %d %q", out.Status, out.Page)
	}
	lb.to.Store(b)
	if o := plant(t, lb.srv.Client(), base, "tessera_portal", session).Get(base + "/apps"); !signedOut(o) {
		t.Errorf("after signing out on A the session still works on B: %d %q", o.Status, o.Page)
	}

	// An admin revokes the user's sessions (on A, through the admin core):
	// a new portal session ends on B.
	lb.to.Store(a)
	br2 := testbrowser.New(t, lb.srv.Client())
	if o := br2.Login(br2.Get(base+"/apps"), "alice@contoso.test", e.password); o.Status != http.StatusOK {
		t.Fatalf("signing in again: %d %q", o.Status, o.Page)
	}
	lb.to.Store(b)
	if o := br2.Get(base + "/apps"); o.Status != http.StatusOK || o.Page != "" {
		t.Fatalf("the new session on B: %d %q", o.Status, o.Page)
	}
	if err := e.admin.RevokeSessions(ctx, e.user); err != nil {
		t.Fatal(err)
	}
	if o := br2.Get(base + "/apps"); !signedOut(o) {
		t.Errorf("after the user's sessions were revoked the portal still serves on B: %d %q", o.Status, o.Page)
	}

	// Signing out from a browser that holds the portal's cookie but not
	// its SSO cookie (a copied cookie, or another sign-in since) still
	// ends the portal's own session, everywhere.
	br4 := testbrowser.New(t, lb.srv.Client())
	if o := br4.Login(br4.Get(base+"/apps"), "alice@contoso.test", e.password); o.Status != http.StatusOK {
		t.Fatalf("signing in again: %d %q", o.Status, o.Page)
	}
	copied := portalCookie(t, br4, base, "tessera_portal")
	thief := plant(t, lb.srv.Client(), base, "tessera_portal", copied)
	page = thief.Get(base + "/apps")
	if page.Status != http.StatusOK || page.Page != "" {
		t.Fatalf("the copied cookie before sign-out: %d %q", page.Status, page.Page)
	}
	lb.to.Store(b)
	tu := &portalUser{browser: &browser{Browser: thief, e: e}, e: e, base: base}
	tu.post(page, "/signout", url.Values{})
	lb.to.Store(a)
	if o := br4.Get(base + "/apps"); !signedOut(o) {
		t.Errorf("signing out without the SSO cookie left the portal's session live: %d %q", o.Status, o.Page)
	}

	// And a disabled user's portal session ends.
	br3 := testbrowser.New(t, lb.srv.Client())
	if o := br3.Login(br3.Get(base+"/apps"), "alice@contoso.test", e.password); o.Status != http.StatusOK {
		t.Fatalf("signing in again: %d %q", o.Status, o.Page)
	}
	if _, err := e.admin.SetDisabled(ctx, e.user, true); err != nil {
		t.Fatal(err)
	}
	lb.to.Store(a)
	if o := br3.Get(base + "/apps"); o.Status == http.StatusOK && o.Page == "" {
		t.Errorf("a disabled user's portal session still serves: %d", o.Status)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// A portal cookie that was altered, belongs to another tenant, is of the
// other kind, or has expired signs nobody in and fails nothing: the portal
// asks to sign in, or says the sign-in expired.
func TestPortalRefusesForeignCookies(t *testing.T) {
	e := newEnv(t)
	e.globalAdmin()
	ctx := t.Context()
	if _, err := e.admin.CreateTenant(ctx, "fabrikam", "RS256"); err != nil {
		t.Fatal(err)
	}
	base := e.authority() + "/portal"
	other := e.url("/fabrikam/portal")
	u, list := e.signInToPortal("alice@contoso.test", e.password)
	if list.Status != http.StatusOK {
		t.Fatalf("sign-in: %d", list.Status)
	}
	session := portalCookie(t, u.Browser, base, "tessera_portal")

	// A sign-in started, its pending cookie and state kept, not finished.
	start := func(portal string) (cookie, state string) {
		t.Helper()
		c := *e.srv.Client()
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.Get(portal + "/apps")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || resp.StatusCode != http.StatusFound {
			t.Fatalf("starting a sign-in: %d %v", resp.StatusCode, err)
		}
		for _, ck := range resp.Cookies() {
			if ck.Name == "tessera_portal_signin" {
				return ck.Value, loc.Query().Get("state")
			}
		}
		t.Fatal("no pending sign-in cookie")
		return "", ""
	}
	pending, state := start(base)
	t.Logf("pending sign-in cookie: %d bytes", len("tessera_portal_signin=")+len(pending))
	otherPending, otherState := start(other)

	flip := func(v string) string {
		b := []byte(v)
		i := len(b) / 2
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for _, tc := range []struct{ name, value, to string }{
		{"tampered", flip(session), base},
		{"truncated", session[:len(session)-4], base},
		{"garbage", "%%%not-base64", base},
		{"oversized", strings.Repeat("A", 5000), base},
		{"of another tenant", session, other},
		{"a pending sign-in", pending, base},
	} {
		o := plant(t, e.srv.Client(), tc.to, "tessera_portal", tc.value).Get(tc.to + "/apps")
		if !signedOut(o) {
			t.Errorf("a session cookie %s: %d %q", tc.name, o.Status, o.Page)
		}
	}

	expired := func(o testbrowser.Outcome) bool {
		return o.Status == http.StatusBadRequest && strings.Contains(o.Body, "Sign-in expired")
	}
	for _, tc := range []struct{ name, value, state, to string }{
		{"tampered", flip(pending), state, base},
		{"with another state", pending, otherState, base},
		{"of another tenant", otherPending, otherState, base},
		{"a session", session, state, base},
	} {
		o := plant(t, e.srv.Client(), tc.to, "tessera_portal_signin", tc.value).Get(tc.to + "/callback?code=x&state=" + url.QueryEscape(tc.state))
		if !expired(o) {
			t.Errorf("a pending sign-in cookie %s: %d %q", tc.name, o.Status, o.Page)
		}
	}
	if o := plant(t, e.srv.Client(), base, "tessera_portal_signin", pending).Get(base + "/callback?code=x&state=" + url.QueryEscape(state)); expired(o) {
		t.Errorf("the genuine pending cookie is refused as expired, so the cases above prove nothing")
	}

	// Past their ends: the pending sign-in's ten minutes, the access
	// token's lifetime.
	pending, state = start(base)
	e.clock.Advance(11 * time.Minute)
	if o := plant(t, e.srv.Client(), base, "tessera_portal_signin", pending).Get(base + "/callback?code=x&state=" + url.QueryEscape(state)); !expired(o) {
		t.Errorf("an expired pending sign-in: %d %q", o.Status, o.Page)
	}
	e.clock.Advance(2 * time.Hour)
	if o := plant(t, e.srv.Client(), base, "tessera_portal", session).Get(base + "/apps"); !signedOut(o) {
		t.Errorf("an expired session: %d %q", o.Status, o.Page)
	}
}
