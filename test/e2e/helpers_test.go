package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the driver tessera's own store uses

	"github.com/tessera-id/tessera/internal/mysqltest"
	"github.com/tessera-id/tessera/test/harness"
)

// oidcScopes is what the test apps ask for: no API, so a new app
// registration needs only the user's consent to OpenID Connect scopes.
const oidcScopes = "openid profile offline_access"

// callback is one request the relying party received.
type callback struct {
	Method string
	Path   string
	Params url.Values // the query of a GET, the form body of a POST
}

// relyingParty is the application end of the flows: a plain HTTP server on
// 127.0.0.1 (an allowed http redirect URI) that records what the browser
// brings it and answers with a small page, so that the browser lands on a
// real page and form_post bodies can be checked.
type relyingParty struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []callback
}

func newRelyingParty(t *testing.T) *relyingParty {
	t.Helper()
	rp := &relyingParty{}
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		_ = r.ParseForm()
		params := r.URL.Query()
		if r.Method == http.MethodPost {
			params = r.PostForm
		}
		rp.mu.Lock()
		rp.got = append(rp.got, callback{Method: r.Method, Path: r.URL.Path, Params: params})
		rp.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><title>Client app</title></head><body><h1>Callback received</h1></body></html>`)
	}))
	t.Cleanup(rp.srv.Close)
	return rp
}

// URL is an address on the relying party, e.g. its redirect URI.
func (rp *relyingParty) URL(path string) string { return rp.srv.URL + path }

// take removes and returns the first request received at path, waiting
// up to timeout for one.
func (rp *relyingParty) take(path string, timeout time.Duration) (callback, bool) {
	deadline := time.Now().Add(timeout)
	for {
		rp.mu.Lock()
		for i, c := range rp.got {
			if c.Path == path {
				rp.got = append(rp.got[:i], rp.got[i+1:]...)
				rp.mu.Unlock()
				return c, true
			}
		}
		rp.mu.Unlock()
		if time.Now().After(deadline) {
			return callback{}, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mustTake is take that fails the test when nothing arrives.
func (rp *relyingParty) mustTake(t *testing.T, b *harness.Browser, path string) callback {
	t.Helper()
	c, ok := rp.take(path, 10*time.Second)
	if !ok {
		t.Fatalf("the relying party never received %s; the browser is at %s:\n%s", path, b.Location(), b.InnerText())
	}
	return c
}

// webApp registers a confidential app whose redirect URI is rp's /cb.
func webApp(t *testing.T, s *harness.Tessera, rp *relyingParty, name string) harness.App {
	t.Helper()
	return s.RegisterApp(t, name, false, rp.URL("/cb"))
}

// authorizeURL is the demo tenant's authorize endpoint with params; the
// response type defaults to code and the scope to oidcScopes.
func authorizeURL(s *harness.Tessera, params url.Values) string {
	if params.Get("response_type") == "" {
		params.Set("response_type", "code")
	}
	if params.Get("scope") == "" {
		params.Set("scope", oidcScopes)
	}
	return s.Authority() + "/oauth2/v2.0/authorize?" + params.Encode()
}

// postForm posts to one of the demo tenant's endpoints and decodes the
// JSON answer.
func postForm(t *testing.T, s *harness.Tessera, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := s.HTTP.PostForm(s.Authority()+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("POST %s: status %d, no JSON: %v", path, resp.StatusCode, err)
	}
	return resp.StatusCode, body
}

// redeem exchanges an authorization code for tokens, failing the test if
// the token endpoint refuses.
func redeem(t *testing.T, s *harness.Tessera, app harness.App, redirectURI, code string) map[string]any {
	t.Helper()
	status, body := postForm(t, s, "/oauth2/v2.0/token", url.Values{
		"grant_type": {"authorization_code"}, "client_id": {app.ClientID}, "client_secret": {app.Secret},
		"code": {code}, "redirect_uri": {redirectURI}, "scope": {oidcScopes},
	})
	if status != http.StatusOK || body["access_token"] == nil {
		t.Fatalf("code redemption: %d %v", status, body)
	}
	return body
}

// signIn drives the browser through an authorize URL, signing in and
// accepting consent when asked, until the relying party receives /cb.
func signIn(t *testing.T, b *harness.Browser, s *harness.Tessera, rp *relyingParty, authorize string) callback {
	t.Helper()
	b.Navigate(authorize)
	for step := 0; step < 3; step++ {
		if c, ok := rp.take("/cb", 300*time.Millisecond); ok {
			return c
		}
		switch {
		case b.Has("#password"):
			b.Login(s.Demo.Username, s.Demo.Password)
		case b.Has(`button[value="accept"]`):
			b.Consent(true)
		}
	}
	return rp.mustTake(t, b, "/cb")
}

// requireCode checks a successful authorization response.
func requireCode(t *testing.T, c callback, state string) string {
	t.Helper()
	if c.Params.Get("error") != "" || c.Params.Get("code") == "" || c.Params.Get("state") != state {
		t.Fatalf("authorization response %s %v: want a code and state %q", c.Method, c.Params, state)
	}
	return c.Params.Get("code")
}

// onPage fails the test unless the browser shows the tenant page (a path
// under /demo, e.g. "/login") with the given selector present.
func onPage(t *testing.T, b *harness.Browser, s *harness.Tessera, path, selector string) {
	t.Helper()
	loc := b.Location()
	u, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, s.Base) || u.Path != "/"+s.Tenant+path {
		t.Fatalf("the browser is at %s, not on %s:\n%s", loc, path, b.InnerText())
	}
	if !b.Has(selector) {
		t.Fatalf("%s has no %s:\n%s", loc, selector, b.InnerText())
	}
}

// requestedPath reports whether the browser requested a page of the
// tenant at path (e.g. "/login") since its requests were last forgotten.
func requestedPath(b *harness.Browser, s *harness.Tessera, path string) bool {
	for _, r := range b.Requests() {
		if u, err := url.Parse(r); err == nil && strings.HasPrefix(r, s.Base) && u.Path == "/"+s.Tenant+path {
			return true
		}
	}
	return false
}

// alertText is the text of the page's role="alert" element, "" if none.
func alertText(b *harness.Browser) string {
	var s string
	// The first alert that says something: a page may hold empty, hidden
	// ones a script fills (the passkey forms' messages).
	b.Eval(`(() => { const e = [...document.querySelectorAll('[role="alert"]')].find(e => !e.hidden && e.textContent.trim()); return e ? e.textContent.trim() : ""; })()`, &s)
	return s
}

// startDevice begins a device authorization for the demo public app.
func startDevice(t *testing.T, s *harness.Tessera) (deviceCode, userCode, verificationURI string) {
	t.Helper()
	status, body := postForm(t, s, "/oauth2/v2.0/devicecode", url.Values{"client_id": {s.Demo.NativeClientID}, "scope": {oidcScopes}})
	if status != http.StatusOK {
		t.Fatalf("device authorization: %d %v", status, body)
	}
	deviceCode, _ = body["device_code"].(string)
	userCode, _ = body["user_code"].(string)
	verificationURI, _ = body["verification_uri"].(string)
	if deviceCode == "" || userCode == "" || verificationURI != s.Authority()+"/device" {
		t.Fatalf("device authorization response %v", body)
	}
	return deviceCode, userCode, verificationURI
}

// pollDevice is the device's token request (RFC 8628 §3.4).
func pollDevice(t *testing.T, s *harness.Tessera, deviceCode string) (int, map[string]any) {
	t.Helper()
	return postForm(t, s, "/oauth2/v2.0/token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {s.Demo.NativeClientID}, "device_code": {deviceCode},
	})
}

// expireDeviceCode moves a device authorization's expiry into the past,
// in the server's database (the server reads it on every request, as it
// does for the admin CLI's changes). It stands in for waiting out the
// 15-minute device code lifetime.
func expireDeviceCode(t *testing.T, s *harness.Tessera, userCode string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code := strings.ReplaceAll(userCode, "-", "")
	var n int64
	switch {
	case s.MySQLURL != "":
		res, err := mysqltest.Open(t, s.MySQLURL).ExecContext(ctx, `UPDATE device_codes SET expires_at = ? WHERE user_code = ?`,
			time.Now().Add(-time.Second).UTC(), code)
		if err != nil {
			t.Fatalf("expire device code: %v", err)
		}
		n, _ = res.RowsAffected()
	case s.PostgresDSN != "":
		conn, err := pgx.Connect(ctx, s.PostgresDSN)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		tag, err := conn.Exec(ctx, `UPDATE `+pgx.Identifier{s.PostgresSchema, "device_codes"}.Sanitize()+` SET expires_at = $1 WHERE user_code = $2`,
			time.Now().Add(-time.Second), code)
		if err != nil {
			t.Fatalf("expire device code: %v", err)
		}
		n = tag.RowsAffected()
	default:
		db, err := sql.Open("sqlite", "file:"+filepath.Join(s.DataDir, "tessera.db")+"?_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		res, err := db.ExecContext(ctx, `UPDATE device_codes SET expires_at = ? WHERE user_code = ?`,
			time.Now().Add(-time.Second).UnixMilli(), code)
		if err != nil {
			t.Fatalf("expire device code: %v", err)
		}
		n, _ = res.RowsAffected()
	}
	if n != 1 {
		t.Fatalf("expire device code %s: %d rows", userCode, n)
	}
}

// auditPage checks basic accessibility of the current page and returns
// the problems found: the document language and title, a non-empty <h1>,
// a <label for> naming every form control by id, buttons with text, and
// role="alert" on error messages.
func auditPage(b *harness.Browser) []string {
	var problems []string
	b.Eval(`(() => {
		const problems = [];
		const short = (e) => e.outerHTML.slice(0, 120);
		const lang = document.documentElement.getAttribute("lang");
		if (!lang || !lang.trim()) problems.push("<html> has no lang");
		if (!document.title.trim()) problems.push("the <title> is empty");
		const h1 = [...document.querySelectorAll("h1")];
		if (h1.length === 0) problems.push("no <h1>");
		for (const h of h1) if (!h.textContent.trim()) problems.push("empty <h1>");
		for (const el of document.querySelectorAll("input, select, textarea")) {
			if (["hidden", "submit", "button", "reset", "image"].includes(el.type)) continue;
			if (!el.id) { problems.push("form control without id: " + short(el)); continue; }
			if (document.querySelectorAll("#" + CSS.escape(el.id)).length !== 1) problems.push("duplicate id " + el.id);
			const labels = [...document.querySelectorAll("label")].filter((l) => l.htmlFor === el.id);
			if (labels.length !== 1) problems.push(labels.length + " <label for=" + el.id + ">");
			else if (!labels[0].textContent.trim()) problems.push("empty <label for=" + el.id + ">");
		}
		for (const l of document.querySelectorAll("label")) {
			if (!l.htmlFor || !document.getElementById(l.htmlFor)) problems.push("label for no control: " + short(l));
		}
		for (const btn of document.querySelectorAll("button, input[type=submit], input[type=button]")) {
			const text = (btn.tagName === "INPUT" ? btn.value : btn.textContent) || btn.getAttribute("aria-label") || "";
			if (!text.trim()) problems.push("button without text: " + short(btn));
		}
		for (const e of document.querySelectorAll(".error")) {
			if (e.getAttribute("role") !== "alert") problems.push("error message without role=alert: " + short(e));
		}
		return problems;
	})()`, &problems)
	return problems
}

// requireAccessible fails the test on any problem auditPage finds.
func requireAccessible(t *testing.T, b *harness.Browser) {
	t.Helper()
	if problems := auditPage(b); len(problems) > 0 {
		t.Errorf("accessibility problems on %s:\n  %s", b.Location(), strings.Join(problems, "\n  "))
	}
}

// requireTabOrder focuses the first selector and checks that each Tab
// press moves keyboard focus to the next one.
func requireTabOrder(t *testing.T, b *harness.Browser, order ...string) {
	t.Helper()
	focused := func(selector string) bool {
		var ok bool
		b.Eval(fmt.Sprintf(`document.activeElement !== null && document.activeElement === document.querySelector(%q)`, selector), &ok)
		return ok
	}
	b.Focus(order[0])
	if !focused(order[0]) {
		t.Fatalf("focus is on %s after focusing %s", b.ActiveElement(), order[0])
	}
	for _, want := range order[1:] {
		b.PressTab()
		if !focused(want) {
			t.Fatalf("Tab moved focus to %s, want %s (order %v)", b.ActiveElement(), want, order)
		}
	}
}
