// Package testbrowser is a cookie-keeping HTTP client that walks Tessera's
// sign-in pages the way a user agent does: it follows the server's own
// redirects, fills and submits its forms, and stops when it is sent back
// to the client's redirect URI. Tests of the server and of the binary share
// it; a real browser (Chromium) drives the same pages in the e2e suite.
package testbrowser

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Browser is one user agent with its own cookies.
type Browser struct {
	t testing.TB
	c *http.Client
	// Header is sent with every request, e.g. an X-Forwarded-For with
	// which a test poses as a client behind a trusted proxy.
	Header http.Header
}

// New returns a browser using base's transport (for its TLS trust).
func New(t testing.TB, base *http.Client) *Browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *base // a copy: callers often share one client, each browser needs its own cookies
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Browser{t: t, c: &c}
}

// Cookies returns the cookies the browser would send to u.
func (b *Browser) Cookies(u *url.URL) []*http.Cookie { return b.c.Jar.Cookies(u) }

// SetCookie plants a cookie for u, as another site or an attacker might.
func (b *Browser) SetCookie(u *url.URL, c *http.Cookie) { b.c.Jar.SetCookies(u, []*http.Cookie{c}) }

// Outcome is where a browser step ended: on a server page, or sent back to
// the client with parameters.
type Outcome struct {
	Status   int
	Body     string
	URL      *url.URL    // the page's own URL
	Header   http.Header // the page's response headers
	Page     string      // "login", "second_factor", "enrol", "recovery", "consent", "logout", "error", "form_post", or ""
	Callback *url.URL    // set when the browser was sent to the client
	Params   url.Values  // the callback's parameters (query, fragment or posted form)
}

// Get opens a URL.
func (b *Browser) Get(target string) Outcome {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// PostForm submits a form.
func (b *Browser) PostForm(target string, form url.Values) Outcome {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *Browser) do(req *http.Request) Outcome {
	b.t.Helper()
	for hops := 0; hops < 10; hops++ {
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		for k, vs := range b.Header {
			req.Header[k] = vs
		}
		resp, err := b.c.Do(req)
		if err != nil {
			b.t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			loc, err := req.URL.Parse(resp.Header.Get("Location"))
			if err != nil {
				b.t.Fatal(err)
			}
			if loc.Host != req.URL.Host {
				params := loc.Query()
				if loc.Fragment != "" {
					params, _ = url.ParseQuery(loc.EscapedFragment())
				}
				return Outcome{Status: resp.StatusCode, Callback: loc, Params: params}
			}
			if req, err = http.NewRequest(http.MethodGet, loc.String(), nil); err != nil {
				b.t.Fatal(err)
			}
			continue
		}
		body := string(raw)
		o := Outcome{Status: resp.StatusCode, Body: body, URL: req.URL, Header: resp.Header}
		switch {
		case strings.Contains(body, `name="password"`):
			o.Page = "login"
		case strings.Contains(body, `name="consent"`):
			o.Page = "consent"
		case strings.Contains(body, `id="totp-secret"`):
			o.Page = "enrol"
		case strings.Contains(body, `name="method"`):
			o.Page = "second_factor"
		case strings.Contains(body, `class="codes"`):
			o.Page = "recovery"
		case strings.Contains(body, "document.forms[0].submit()"):
			o.Page = "form_post"
			action, fields := ParseForm(b.t, body)
			o.Callback, _ = url.Parse(action)
			o.Params = fields
		case strings.Contains(body, `name="logout"`):
			o.Page = "logout"
		case strings.Contains(body, "couldn't sign you in"), strings.Contains(body, "couldn't sign you out"):
			o.Page = "error"
		}
		return o
	}
	b.t.Fatal("too many redirects")
	return Outcome{}
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)"[^>]*>`)
	inputTag   = regexp.MustCompile(`<input ([^>]*)>`)
	attribute  = regexp.MustCompile(`([a-z_-]+)="([^"]*)"`)
)

// ParseForm reads a page's form action and the values its inputs carry
// (hidden fields and prefilled text), as a browser would submit them.
func ParseForm(t testing.TB, body string) (string, url.Values) {
	t.Helper()
	m := formAction.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form on page:\n%s", body)
	}
	fields := url.Values{}
	for _, tag := range inputTag.FindAllStringSubmatch(body, -1) {
		attrs := map[string]string{}
		for _, a := range attribute.FindAllStringSubmatch(tag[1], -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		if attrs["name"] == "" || attrs["type"] == "password" {
			continue
		}
		fields.Set(attrs["name"], attrs["value"])
	}
	return html.UnescapeString(m[1]), fields
}

// Submit fills the page's form with values and posts it.
func (b *Browser) Submit(o Outcome, values map[string]string) Outcome {
	b.t.Helper()
	action, fields := ParseForm(b.t, o.Body)
	for k, v := range values {
		fields.Set(k, v)
	}
	target, err := o.URL.Parse(action)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.PostForm(target.String(), fields)
}

// Login fills in the sign-in page.
func (b *Browser) Login(o Outcome, username, password string) Outcome {
	b.t.Helper()
	if o.Page != "login" {
		b.t.Fatalf("expected the login page, got status %d page %q callback %v\n%s", o.Status, o.Page, o.Callback, o.Body)
	}
	return b.Submit(o, map[string]string{"username": username, "password": password})
}

// Consent answers the consent page with "accept" or "cancel".
func (b *Browser) Consent(o Outcome, answer string) Outcome {
	b.t.Helper()
	if o.Page != "consent" {
		b.t.Fatalf("expected the consent page, got status %d page %q callback %v\n%s", o.Status, o.Page, o.Callback, o.Body)
	}
	return b.Submit(o, map[string]string{"consent": answer})
}

// SecondFactor answers the second-factor page with a code of method
// ("totp" or "recovery"), opening that method's form first when the page
// shows another.
func (b *Browser) SecondFactor(o Outcome, method, code string) Outcome {
	b.t.Helper()
	if o.Page != "second_factor" {
		b.t.Fatalf("expected the second-factor page, got status %d page %q callback %v\n%s", o.Status, o.Page, o.Callback, o.Body)
	}
	if _, fields := ParseForm(b.t, o.Body); fields.Get("method") != method {
		q := o.URL.Query()
		q.Set("method", method)
		u := *o.URL
		u.RawQuery = q.Encode()
		o = b.Get(u.String())
	}
	return b.Submit(o, map[string]string{"code": code})
}

// EnrolSecret is the TOTP secret the enrolment page shows as text.
func EnrolSecret(t testing.TB, o Outcome) string {
	t.Helper()
	m := enrolSecret.FindStringSubmatch(o.Body)
	if o.Page != "enrol" || m == nil {
		t.Fatalf("expected the enrolment page with a secret, got status %d page %q\n%s", o.Status, o.Page, o.Body)
	}
	return strings.ReplaceAll(m[1], " ", "")
}

var enrolSecret = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)<`)

// RecoveryCodes are the codes the recovery codes page shows.
func RecoveryCodes(o Outcome) []string {
	var out []string
	for _, m := range recoveryCode.FindAllStringSubmatch(o.Body, -1) {
		out = append(out, m[1])
	}
	return out
}

var recoveryCode = regexp.MustCompile(`<li><code>([a-z0-9-]+)</code></li>`)

// SignIn runs an authorize URL through login and consent (when shown) and
// returns the callback.
func (b *Browser) SignIn(authorizeURL, username, password string) Outcome {
	b.t.Helper()
	o := b.Get(authorizeURL)
	if o.Page == "login" {
		o = b.Login(o, username, password)
	}
	if o.Page == "consent" {
		o = b.Consent(o, "accept")
	}
	if o.Callback == nil {
		b.t.Fatalf("sign-in did not return to the client: status %d page %q\n%s", o.Status, o.Page, o.Body)
	}
	return o
}
