package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/testbrowser"
	"github.com/tessera-id/tessera/internal/testserver"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/passkey/passkeytest"
	"github.com/tessera-id/tessera/store"
)

// Passkeys over real HTTP, with a software authenticator: passwordless
// from the sign-in page, as the second factor after the password, what
// the tokens say, and the answers a browser would never send.

// passkeyHost is the name the tests reach the server by: passkeys are
// scoped to a domain name, never to an IP address.
const passkeyHost = "example.com"

// passkeyEnv is an env whose browsers reach the server as
// https://example.com:PORT (the test certificate's name), dialling its
// loopback listener.
type passkeyEnv struct {
	*env
	client    *http.Client
	origin    string
	authority string
}

func newPasskeyEnv(t *testing.T) *passkeyEnv {
	e := newEnvWith(t, testserver.Options{PublicHost: passkeyHost})
	tr := e.srv.Client().Transport.(*http.Transport).Clone()
	addr := e.srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	tr.TLSClientConfig.ServerName = passkeyHost
	_, port, _ := net.SplitHostPort(addr)
	origin := "https://" + passkeyHost + ":" + port
	return &passkeyEnv{env: e, client: &http.Client{Transport: tr}, origin: origin, authority: origin + "/contoso"}
}

func (p *passkeyEnv) browser() *testbrowser.Browser { return testbrowser.New(p.t, p.client) }

func (p *passkeyEnv) authorize(extra url.Values) string {
	v := url.Values{"client_id": {p.web.ClientID}, "response_type": {"code"}, "redirect_uri": {webRedirect},
		"scope": {"openid"}, "state": {"xyz"}}
	for k, vs := range extra {
		v[k] = vs
	}
	return p.authority + "/oauth2/v2.0/authorize?" + v.Encode()
}

func (p *passkeyEnv) authenticator() *passkeytest.Authenticator {
	return &passkeytest.Authenticator{Origin: p.origin, Verified: true}
}

// register gives alice a passkey held by a, as her account page would.
func (p *passkeyEnv) register(a *passkeytest.Authenticator, user store.User) {
	p.t.Helper()
	ctx := p.t.Context()
	ep, e := p.ts.Provider.Endpoint(ctx, p.origin, "contoso")
	if e != nil {
		p.t.Fatal(e)
	}
	ch, err := p.ts.Provider.BeginPasskeyRegistration(ctx, ep, user, "test-page")
	if err != nil {
		p.t.Fatal(err)
	}
	answer, err := a.Create(ch.Options)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, _, err := p.ts.Provider.FinishPasskeyRegistration(ctx, ep, user, "test-page", ch.State, string(answer), "Security key", "192.0.2.1"); err != nil {
		p.t.Fatalf("registration: %v", err)
	}
}

var passkeyForm = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)" data-passkey="get"[^>]* data-options="([^"]+)">(.*?)</form>`)
var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// answerPasskey answers the page's passkey form with a's credential c (nil:
// the one the options allow) and posts it, as passkey.js does.
func answerPasskey(t *testing.T, b *testbrowser.Browser, o testbrowser.Outcome, a *passkeytest.Authenticator, c *passkeytest.Credential) (testbrowser.Outcome, []byte, url.Values) {
	t.Helper()
	m := passkeyForm.FindStringSubmatch(o.Body)
	if m == nil {
		t.Fatalf("no passkey form on the %q page:\n%s", o.Page, o.Body)
	}
	answer, err := a.Get([]byte(html.UnescapeString(m[2])), c)
	if err != nil {
		t.Fatal(err)
	}
	fields := url.Values{}
	for _, in := range hiddenInput.FindAllStringSubmatch(m[3], -1) {
		fields.Set(in[1], html.UnescapeString(in[2]))
	}
	fields.Set("credential", string(answer))
	target, _ := o.URL.Parse(html.UnescapeString(m[1]))
	return b.PostForm(target.String(), fields), answer, fields
}

// claims decodes a JWT's payload; the signature is another test's.
func claims(t testing.TB, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (p *passkeyEnv) redeem(code string) map[string]any {
	p.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {p.web.ClientID}, "client_secret": {p.secret},
		"code": {code}, "redirect_uri": {webRedirect}}
	resp, err := p.client.PostForm(p.authority+"/oauth2/v2.0/token", form)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusOK {
		p.t.Fatalf("redeem: %d %v", resp.StatusCode, body)
	}
	return body
}

func (p *passkeyEnv) wantAMR(what string, tokens map[string]any, amr []string, acr string) {
	p.t.Helper()
	for _, name := range []string{"id_token", "access_token"} {
		got, gotACR := claimsAMR(claims(p.t, tokens[name].(string)))
		if !slices.Equal(got, amr) || gotACR != acr {
			p.t.Errorf("%s: %s amr %v acr %v, want %v %s", what, name, got, gotACR, amr, acr)
		}
	}
}

// consentThrough answers a consent page, when one comes.
func consentThrough(b *testbrowser.Browser, o testbrowser.Outcome) testbrowser.Outcome {
	if o.Page == "consent" {
		return b.Consent(o, "accept")
	}
	return o
}

func TestPasskeyPasswordless(t *testing.T) {
	t.Parallel()
	p := newPasskeyEnv(t)
	a := p.authenticator()
	p.register(a, p.user)

	b := p.browser()
	o := b.Get(p.authorize(nil))
	if o.Page != "login" || !strings.Contains(o.Body, "Sign in with a passkey") || !strings.Contains(o.Body, `autocomplete="username webauthn"`) {
		t.Fatalf("the sign-in page offers no passkey:\n%s", o.Body)
	}
	if csp := o.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("sign-in page CSP %q does not let passkey.js run", csp)
	}
	o, _, _ = answerPasskey(t, b, o, a, nil)
	o = consentThrough(b, o)
	if o.Params.Get("code") == "" {
		t.Fatalf("passwordless sign-in: status %d page %q\n%s", o.Status, o.Page, o.Body)
	}
	p.wantAMR("passkey alone", p.redeem(o.Params.Get("code")), []string{"hwk", "user", "mfa"}, "mfa")

	// The session it started satisfies a request for mfa without asking.
	o = b.Get(p.authorize(url.Values{"acr_values": {"mfa"}}))
	if o.Params.Get("code") == "" {
		t.Fatalf("acr_values=mfa on a passkey session: page %q", o.Page)
	}

	// Under the policy "everyone" a passkey alone is enough.
	p.setMFA(store.MFAEveryone)
	b = p.browser()
	o, _, _ = answerPasskey(t, b, b.Get(p.authorize(nil)), a, nil)
	if o = consentThrough(b, o); o.Params.Get("code") == "" {
		t.Fatalf("passwordless under the policy everyone: page %q\n%s", o.Page, o.Body)
	}

	// A disabled user's passkey signs nobody in.
	u := p.user
	u.Disabled = true
	if err := p.store.UpdateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	b = p.browser()
	o, _, _ = answerPasskey(t, b, b.Get(p.authorize(nil)), a, nil)
	if o.Page != "login" || !strings.Contains(o.Body, "could not be used") {
		t.Errorf("a disabled user's passkey: page %q\n%s", o.Page, o.Body)
	}
}

func TestPasskeySecondFactor(t *testing.T) {
	t.Parallel()
	p := newPasskeyEnv(t)
	a := p.authenticator()
	a.Verified = false // a security key touched, no PIN
	p.register(a, p.user)

	b := p.browser()
	o := b.Login(b.Get(p.authorize(nil)), "alice@contoso.test", p.password)
	if o.Page != "second_factor" || !strings.Contains(o.Body, "Use a passkey") {
		t.Fatalf("after the password: page %q\n%s", o.Page, o.Body)
	}
	o, _, _ = answerPasskey(t, b, o, a, nil)
	if o = consentThrough(b, o); o.Params.Get("code") == "" {
		t.Fatalf("passkey as second factor: page %q\n%s", o.Page, o.Body)
	}
	p.wantAMR("password and passkey", p.redeem(o.Params.Get("code")), []string{"pwd", "hwk", "mfa"}, "mfa")

	// Without user verification the key is one factor: not enough to
	// sign in alone.
	b = p.browser()
	o, _, _ = answerPasskey(t, b, b.Get(p.authorize(nil)), a, nil)
	if o.Page != "login" || !strings.Contains(o.Body, "could not be used") {
		t.Errorf("passwordless without user verification: page %q", o.Page)
	}
}

func TestPasskeyHostile(t *testing.T) {
	t.Parallel()
	p := newPasskeyEnv(t)
	alices := p.authenticator()
	p.register(alices, p.user)
	bob, _, err := p.admin.CreateUser(t.Context(), p.tenant, adminUser("bob@contoso.test", "another correct horse battery"))
	if err != nil {
		t.Fatal(err)
	}
	bobs := p.authenticator()
	p.register(bobs, bob)

	// Bob's passkey answering Alice's second-factor challenge.
	b := p.browser()
	o := b.Login(b.Get(p.authorize(nil)), "alice@contoso.test", p.password)
	if o.Page != "second_factor" {
		t.Fatalf("page %q", o.Page)
	}
	o2, _, _ := answerPasskey(t, b, o, bobs, bobs.Credentials()[0])
	if o2.Page != "second_factor" || !strings.Contains(o2.Body, "could not be used") {
		t.Errorf("another user's passkey as Alice's second factor: page %q\n%s", o2.Page, o2.Body)
	}

	// An answer signed for another relying party (a phishing site's).
	b = p.browser()
	o = b.Get(p.authorize(nil))
	phished := *alices
	phished.RPID = "login.example.net"
	if o2, _, _ = answerPasskey(t, b, o, &phished, alices.Credentials()[0]); o2.Page != "login" || o2.Params.Get("code") != "" {
		t.Errorf("an answer for another relying party: page %q", o2.Page)
	}

	// A good answer replayed: the second post of the same answer fails.
	b = p.browser()
	o = b.Get(p.authorize(nil))
	first, _, fields := answerPasskey(t, b, o, alices, nil)
	if consentThrough(b, first).Params.Get("code") == "" {
		t.Fatalf("the first answer: page %q", first.Page)
	}
	target, _ := o.URL.Parse("/contoso/login/passkey")
	replay := b.PostForm(target.String(), fields)
	if replay.Params.Get("code") != "" || replay.Page != "login" {
		t.Errorf("a replayed passkey answer: page %q callback %v", replay.Page, replay.Callback)
	}

	// The answer to one sign-in's challenge posted in another's.
	b = p.browser()
	o = b.Get(p.authorize(nil))
	m := passkeyForm.FindStringSubmatch(o.Body)
	answer, err := alices.Get([]byte(html.UnescapeString(m[2])), nil)
	if err != nil {
		t.Fatal(err)
	}
	other := b.Get(p.authorize(url.Values{"state": {"other"}}))
	_, otherFields := testbrowser.ParseForm(t, other.Body)
	otherFields.Set("credential", string(answer))
	otherFields.Set("passkey_state", hiddenInput.FindAllStringSubmatch(m[3], -1)[2][2])
	if o2 := b.PostForm(target.String(), otherFields); o2.Params.Get("code") != "" {
		t.Errorf("a challenge of one sign-in answered in another signed in")
	}

	// Without the CSRF token, garbage, oversized.
	b = p.browser()
	o = b.Get(p.authorize(nil))
	_, fields = testbrowser.ParseForm(t, o.Body)
	for name, change := range map[string]func(v url.Values){
		"no CSRF":   func(v url.Values) { v.Del("csrf"); v.Set("credential", "{}") },
		"garbage":   func(v url.Values) { v.Set("credential", "{not json") },
		"oversized": func(v url.Values) { v.Set("credential", strings.Repeat("A", 300<<10)) },
	} {
		v := url.Values{}
		for k, vs := range fields {
			v[k] = slices.Clone(vs)
		}
		change(v)
		o2 := b.PostForm(target.String(), v)
		if o2.Status >= 500 || o2.Params.Get("code") != "" {
			t.Errorf("%s: status %d page %q", name, o2.Status, o2.Page)
		}
	}

	// Only the passkey method may carry an answer on the second-factor page.
	b = p.browser()
	o = b.Login(b.Get(p.authorize(nil)), "alice@contoso.test", p.password)
	_, fields = testbrowser.ParseForm(t, o.Body)
	fields.Set("method", string(oauth.MethodTOTP))
	fields.Set("code", "000000")
	sf, _ := o.URL.Parse("/contoso/second_factor")
	if o2 := b.PostForm(sf.String(), fields); o2.Params.Get("code") != "" {
		t.Errorf("a method the user does not have signed in")
	}
}
