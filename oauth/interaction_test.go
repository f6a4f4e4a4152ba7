package oauth_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/internal/testserver"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// The sign-in interaction as a table: each row drives a fresh provider (a
// real store, real crypto, no HTTP) into a state, gives it one input, and
// says what must come out: the next state and what the server is told to
// do (render a page, go to a page, answer the client), with the messages
// users see. Everything reaches the provider through the entry points
// package server calls, with cookies carried as a browser carries them.

const (
	webRedirect = "https://web.example/cb"
	alicePW     = "correct horse battery"
	bobPW       = "tr0ub4dor&3 but longer"
)

// fx is a provider with one tenant: a confidential web app that needs
// nothing configured (so consent is asked for what it asks), a public
// native app that needs Files.Read on the files API, and two users.
type fx struct {
	t      *testing.T
	p      *oauth.Provider
	store  store.Store
	admin  *admin.Admin
	clock  *testserver.Clock
	ep     oauth.Endpoint
	web    store.App
	native store.App
	alice  store.User
	bob    store.User
}

func newFx(t *testing.T) *fx {
	t.Helper()
	ctx := context.Background()
	st := testserver.OpenStore(t)
	c := testserver.NewClock(time.Now().UTC().Truncate(time.Second))
	mk := token.NewMasterKey()
	cheap := password.Params{Memory: 64, Time: 1, Threads: 1}
	adm := admin.New(st, mk, c.Now, cheap)
	f := &fx{t: t, store: st, admin: adm, clock: c}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ten, err := adm.CreateTenant(ctx, "contoso", token.RS256)
	must(err)
	dummy, err := password.Hash("dummy-password", cheap)
	must(err)
	f.p = oauth.New(oauth.DefaultConfig(), oauth.Deps{Store: st, Keys: token.NewKeyring(st, mk, c.Now),
		Successor: token.NewSuccessors(mk).Derive, State: token.NewStateSealer(mk), Factors: token.NewFactorSealer(mk), Now: c.Now,
		DummyPasswordHash: dummy, Logger: slog.New(slog.DiscardHandler)})
	f.web, err = adm.RegisterApp(ctx, ten, admin.RegisterOptions{Name: "Web App", RedirectURIs: []string{webRedirect}})
	must(err)
	api, err := adm.RegisterApp(ctx, ten, admin.RegisterOptions{Name: "Files API"})
	must(err)
	_, err = adm.Expose(ctx, api, "api://files", []string{"Files.Read"}, nil)
	must(err)
	f.native, err = adm.RegisterApp(ctx, ten, admin.RegisterOptions{Name: "Native App", Public: true, RedirectURIs: []string{"http://localhost"}})
	must(err)
	f.native, err = adm.AddPermission(ctx, f.native, api.ClientID, []string{"Files.Read"}, nil)
	must(err)
	f.alice, _, err = adm.CreateUser(ctx, ten, admin.UserOptions{Username: "alice@contoso.test", Password: alicePW})
	must(err)
	f.bob, _, err = adm.CreateUser(ctx, ten, admin.UserOptions{Username: "bob@contoso.test", Password: bobPW})
	must(err)
	f.resolve()
	return f
}

// resolve reads the tenant again, as each request does, after a setting
// changed.
func (f *fx) resolve() {
	f.t.Helper()
	ep, e := f.p.Endpoint(context.Background(), "https://login.example", "contoso")
	if e != nil {
		f.t.Fatal(e)
	}
	f.ep = ep
}

// agent is a browser: its cookies, set as steps say, and its address.
type agent struct {
	binding, session, address string
	// secret is the TOTP secret (or a recovery code) the user holds.
	secret string
}

func newAgent() *agent { return &agent{address: "192.0.2.10"} }

func (a *agent) browser() oauth.Browser {
	return oauth.Browser{Binding: a.binding, Session: a.session, Address: a.address}
}

func (a *agent) take(st oauth.Step) oauth.Step {
	if st.SetBinding != "" {
		a.binding = st.SetBinding
	}
	if st.SetSession != "" {
		a.session = st.SetSession
	}
	return st
}

// authorize asks for openid profile for the web app, plus extra.
func (f *fx) authorize(a *agent, extra oauth.Params) oauth.Step {
	params := oauth.Params{"client_id": f.web.ClientID, "redirect_uri": webRedirect, "response_type": "code",
		"scope": "openid profile", "state": "s1"}
	for k, v := range extra {
		if v == "" {
			delete(params, k)
			continue
		}
		params[k] = v
	}
	return a.take(f.p.BeginAuthorize(context.Background(), f.ep, params, a.browser()))
}

func (f *fx) loginPage(a *agent, at oauth.Step) oauth.Step {
	return a.take(f.p.LoginPage(context.Background(), f.ep, at.Interaction.Ref, a.browser()))
}

func (f *fx) login(a *agent, at oauth.Step, username, pw string) oauth.Step {
	return a.take(f.p.SubmitLogin(context.Background(), f.ep,
		oauth.LoginForm{Ref: at.Interaction.Ref, CSRF: at.Interaction.CSRF, Username: username, Password: pw}, a.browser()))
}

func (f *fx) consentPage(a *agent, at oauth.Step) oauth.Step {
	return a.take(f.p.ConsentPage(context.Background(), f.ep, at.Interaction.Ref, a.browser()))
}

func (f *fx) consent(a *agent, at oauth.Step, answer string) oauth.Step {
	return a.take(f.p.SubmitConsent(context.Background(), f.ep,
		oauth.ConsentForm{Ref: at.Interaction.Ref, CSRF: at.Interaction.CSRF, Answer: answer}, a.browser()))
}

func (f *fx) typeCode(a *agent, code string) oauth.Step {
	return a.take(f.p.SubmitUserCode(context.Background(), f.ep, code, a.browser()))
}

// expect fails the test unless st is in state with goTo as its next page.
func (f *fx) expect(st oauth.Step, state oauth.InteractionState, goTo oauth.Page) oauth.Step {
	f.t.Helper()
	if st.Interaction.State != state || st.Goto != goTo {
		f.t.Fatalf("setup: state %q goto %q (page %q, err %v), want %q goto %q", st.Interaction.State, st.Goto, st.Page, st.Err, state, goTo)
	}
	return st
}

// Starting points of the rows.

// atLogin is a new authorization request of a browser without a session.
func atLogin(f *fx, a *agent) oauth.Step {
	return f.expect(f.authorize(a, nil), oauth.StateLogin, oauth.PageLogin)
}

// atConsent is alice signed in on the sign-in page, asked to consent.
func atConsent(f *fx, a *agent) oauth.Step {
	return f.expect(f.login(a, atLogin(f, a), "alice@contoso.test", alicePW), oauth.StateConsent, oauth.PageConsent)
}

// signedIn leaves a with alice's session, her consent to the web app
// given.
func signedIn(f *fx, a *agent) oauth.Step {
	st := f.consent(a, atConsent(f, a), "accept")
	return f.expect(st, oauth.StateDone, "")
}

// deviceCode starts a device authorization of the native app.
func (f *fx) deviceCode() (userCode, deviceCode string) {
	f.t.Helper()
	da, e := f.p.DeviceAuthorize(context.Background(), f.ep, oauth.TokenRequest{
		Params: oauth.Params{"client_id": f.native.ClientID, "scope": "api://files/Files.Read openid offline_access"}, Address: "192.0.2.99"})
	if e != nil {
		f.t.Fatal(e)
	}
	return da.UserCode, da.DeviceCode
}

// poll is the device asking the token endpoint.
func (f *fx) poll(deviceCode string) (*oauth.TokenResponse, *oauth.Error) {
	return f.p.Token(context.Background(), f.ep, oauth.TokenRequest{Params: oauth.Params{
		"grant_type": oauth.GrantDeviceCode, "client_id": f.native.ClientID, "device_code": deviceCode}, Address: "192.0.2.99"})
}

// device is the device's code as the row's input needs it.
type device struct{ user, code string }

// atDeviceLogin is a user code typed in a browser without a session.
func atDeviceLogin(f *fx, a *agent, d *device) oauth.Step {
	d.user, d.code = f.deviceCode()
	return f.expect(f.typeCode(a, d.user), oauth.StateLogin, oauth.PageLogin)
}

// atDeviceConsent is alice signed in for a device, asked to consent.
func atDeviceConsent(f *fx, a *agent, d *device) oauth.Step {
	return f.expect(f.login(a, atDeviceLogin(f, a, d), "alice@contoso.test", alicePW), oauth.StateConsent, oauth.PageConsent)
}

// approvedOnce is alice's approval of one device of the native app, in
// a: she has a session, and has consented to what the app asks.
func approvedOnce(f *fx, a *agent, d *device) oauth.Step {
	return f.expect(f.consent(a, atDeviceConsent(f, a, d), "accept"), oauth.StateDone, "")
}

// want is what a row's input must come to. Zero fields are checked too
// (no page, no redirect, no error) except where noted.
type want struct {
	state    oauth.InteractionState
	kind     oauth.InteractionKind // "": authorize; unopened: none known
	page     oauth.Page
	goTo     oauth.Page
	status   int    // of the page; 0 for the error page, whose status is Err's
	response string // "code", or the error code sent to the client; "" for none
	err      string // Step.Err's code, "" for none
	errState int    // Step.Err's HTTP status, when set
	text     string // the message shown: Login.Error, Device.Error, or Err.Description
	result   oauth.DeviceResult
	username string // prefilled on the sign-in or user code page; typedCode: the device's
	session  bool   // an SSO session cookie was set
	binding  bool   // a browser-binding cookie was set
}

const (
	msgBadCredentials = "Incorrect username or password."
	msgAccountLocked  = "Your account is temporarily locked to prevent unauthorized use. Try again later."
	msgAddressLocked  = "Too many failed sign-ins came from your network. Try again later."
	msgStopped        = "The sign-in was stopped after too many attempts. Go back to the application and sign in again."
	msgGone           = "This sign-in request has expired or was started in another browser. Go back to the application and sign in again."
	msgForged         = "The form could not be verified. Reload the page and try again."
	msgDeclined       = "The user declined to consent to the requested permissions."
	msgBadCode        = "That code is not valid or has expired. Check the code shown on your device."
	msgCodeUsed       = "The code expired or was already used. Start the sign-in on your device again."
)

// unopened is the kind of an interaction that could not be opened (gone,
// forged, another browser's): none is known, and none is told.
const unopened oauth.InteractionKind = "(unopened)"

// typedCode stands for the user code of the row's device.
const typedCode = "(the device's user code)"

type row struct {
	name string
	// from drives a fresh fixture into the starting state (nil: none, the
	// input starts the interaction) and returns the step that got there.
	from func(f *fx, a *agent, d *device) oauth.Step
	// fromState is the state from must reach, checked.
	fromState oauth.InteractionState
	input     func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step
	want      want
	// then checks what the step left behind (tokens, consents, the
	// device), when it matters.
	then func(t *testing.T, f *fx, a *agent, d *device, st oauth.Step)
}

func TestInteraction(t *testing.T) {
	none := func(extra oauth.Params) func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
		return func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step { return f.authorize(a, extra) }
	}
	withSession := func(f *fx, a *agent, d *device) oauth.Step { return signedIn(f, a) }
	submit := func(username, pw string) func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
		return func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step { return f.login(a, at, username, pw) }
	}
	answer := func(s string) func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
		return func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step { return f.consent(a, at, s) }
	}
	loginPage := func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step { return f.loginPage(a, at) }
	consentPage := func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step { return f.consentPage(a, at) }
	fromLogin := func(f *fx, a *agent, d *device) oauth.Step { return atLogin(f, a) }
	fromConsent := func(f *fx, a *agent, d *device) oauth.Step { return atConsent(f, a) }
	// wrongTimes submits n wrong passwords for alice on at's form.
	wrongTimes := func(f *fx, a *agent, at oauth.Step, n int) {
		for range n {
			if st := f.login(a, at, "alice@contoso.test", "wrong password"); st.Page != oauth.PageLogin {
				f.t.Fatalf("setup: a wrong password gave page %q, err %v", st.Page, st.Err)
			}
		}
	}
	// failAlice fails n times on alice's account, four to a sign-in (the
	// fifth would stop it).
	failAlice := func(f *fx, a *agent, n int) {
		for ; n > 0; n -= 4 {
			wrongTimes(f, a, atLogin(f, a), min(n, 4))
		}
	}
	// lockAddress lowers the tenant's address threshold to three and has
	// a's address fail on three accounts.
	lockAddress := func(f *fx, a *agent) {
		f.t.Helper()
		three := 3
		if _, err := f.admin.SetLockout(context.Background(), f.ep.Tenant, admin.LockoutOptions{AddressThreshold: &three}); err != nil {
			f.t.Fatal(err)
		}
		f.resolve()
		for _, name := range []string{"x@contoso.test", "y@contoso.test", "z@contoso.test"} {
			f.login(a, atLogin(f, a), name, "guess")
		}
	}
	// reauth is a browser with alice's session that extra sends to sign
	// in again.
	reauth := func(extra oauth.Params) func(f *fx, a *agent, d *device) oauth.Step {
		return func(f *fx, a *agent, d *device) oauth.Step {
			signedIn(f, a)
			return f.expect(f.authorize(a, extra), oauth.StateLogin, oauth.PageLogin)
		}
	}
	// consentedElsewhere is a browser without a session asking for what
	// alice consented to in another.
	consentedElsewhere := func(extra oauth.Params) func(f *fx, a *agent, d *device) oauth.Step {
		return func(f *fx, a *agent, d *device) oauth.Step {
			signedIn(f, newAgent())
			return f.expect(f.authorize(a, extra), oauth.StateLogin, oauth.PageLogin)
		}
	}
	disable := func(f *fx, u store.User) {
		f.t.Helper()
		if _, err := f.admin.SetDisabled(context.Background(), u, true); err != nil {
			f.t.Fatal(err)
		}
	}
	consentGiven := func(t *testing.T, f *fx, a *agent, d *device, st oauth.Step) {
		// A second request of the same browser is answered at once.
		if next := f.authorize(a, nil); next.Interaction.State != oauth.StateDone || next.Response == nil || next.Response.Params.Get("code") == "" {
			t.Errorf("after consent, a new request: state %q goto %q", next.Interaction.State, next.Goto)
		}
	}

	rows := []row{
		// The authorization request: where it goes from the browser's session.
		{name: "no session: sign in", input: none(nil),
			want: want{state: oauth.StateLogin, goTo: oauth.PageLogin, binding: true}},
		{name: "the binding cookie is kept once set", from: fromLogin, fromState: oauth.StateLogin, input: none(nil),
			want: want{state: oauth.StateLogin, goTo: oauth.PageLogin}},
		{name: "prompt=none without session", input: none(oauth.Params{"prompt": "none"}),
			want: want{state: oauth.StateFailed, response: "login_required", err: "login_required"}},
		{name: "prompt=none with login", input: none(oauth.Params{"prompt": "none login"}),
			want: want{state: oauth.StateFailed, response: "invalid_request", err: "invalid_request", text: "prompt=none cannot be combined with other prompt values."}},
		{name: "SSO with consent given: answered", from: withSession, fromState: oauth.StateDone, input: none(nil),
			want: want{state: oauth.StateDone, response: "code"}},
		{name: "SSO, prompt=none, consent given: answered", from: withSession, fromState: oauth.StateDone, input: none(oauth.Params{"prompt": "none"}),
			want: want{state: oauth.StateDone, response: "code"}},
		{name: "SSO, a scope not consented: consent", from: withSession, fromState: oauth.StateDone, input: none(oauth.Params{"scope": "openid email"}),
			want: want{state: oauth.StateConsent, goTo: oauth.PageConsent}},
		{name: "SSO, prompt=none, a scope not consented", from: withSession, fromState: oauth.StateDone,
			input: none(oauth.Params{"scope": "openid email", "prompt": "none"}),
			want:  want{state: oauth.StateFailed, response: "consent_required", err: "consent_required"}},
		{name: "SSO, prompt=consent: consent again", from: withSession, fromState: oauth.StateDone, input: none(oauth.Params{"prompt": "consent"}),
			want: want{state: oauth.StateConsent, goTo: oauth.PageConsent}},
		{name: "SSO, prompt=login: sign in again", from: withSession, fromState: oauth.StateDone, input: none(oauth.Params{"prompt": "login"}),
			want: want{state: oauth.StateLogin, goTo: oauth.PageLogin}},
		{name: "SSO, prompt=select_account: sign in again", from: withSession, fromState: oauth.StateDone, input: none(oauth.Params{"prompt": "select_account"}),
			want: want{state: oauth.StateLogin, goTo: oauth.PageLogin}},
		{name: "SSO within max_age: answered", from: withSession, fromState: oauth.StateDone, input: none(oauth.Params{"max_age": "3600"}),
			want: want{state: oauth.StateDone, response: "code"}},
		{name: "SSO past max_age: sign in again", from: withSession, fromState: oauth.StateDone,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				f.clock.Advance(time.Hour)
				return f.authorize(a, oauth.Params{"max_age": "3600"})
			},
			want: want{state: oauth.StateLogin, goTo: oauth.PageLogin}},
		{name: "SSO past its lifetime: sign in", from: withSession, fromState: oauth.StateDone,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				f.clock.Advance(12*time.Hour + time.Second)
				return f.authorize(a, nil)
			},
			want: want{state: oauth.StateLogin, goTo: oauth.PageLogin}},
		{name: "SSO of a disabled user: sign in", from: withSession, fromState: oauth.StateDone,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				disable(f, f.alice)
				return f.authorize(a, nil)
			},
			want: want{state: oauth.StateLogin, goTo: oauth.PageLogin}},
		{name: "SSO of a disabled user, prompt=none", from: withSession, fromState: oauth.StateDone,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				disable(f, f.alice)
				return f.authorize(a, oauth.Params{"prompt": "none"})
			},
			want: want{state: oauth.StateFailed, response: "login_required", err: "login_required"}},
		// Errors before the client and redirect URI are known good are
		// shown, never sent anywhere; after, they go to the client.
		{name: "unknown client: error page", input: none(oauth.Params{"client_id": "00000000-0000-4000-8000-000000000000"}),
			want: want{state: oauth.StateFailed, page: oauth.PageError, err: "unauthorized_client", errState: http.StatusBadRequest}},
		{name: "unregistered redirect URI: error page", input: none(oauth.Params{"redirect_uri": "https://attacker.example/cb"}),
			want: want{state: oauth.StateFailed, page: oauth.PageError, err: "invalid_request", errState: http.StatusBadRequest}},
		{name: "unsupported response type: to the client", input: none(oauth.Params{"response_type": "token"}),
			want: want{state: oauth.StateFailed, response: "unsupported_response_type", err: "unsupported_response_type"}},
		{name: "request object: to the client", input: none(oauth.Params{"request": "eyJhbGciOiJub25lIn0.e30."}),
			want: want{state: oauth.StateFailed, response: "request_not_supported", err: "request_not_supported"}},

		// Login: the sign-in page.
		{name: "sign-in page", from: fromLogin, fromState: oauth.StateLogin, input: loginPage,
			want: want{state: oauth.StateLogin, page: oauth.PageLogin, status: http.StatusOK}},
		{name: "sign-in page prefilled with login_hint", fromState: oauth.StateLogin,
			from: func(f *fx, a *agent, d *device) oauth.Step {
				return f.expect(f.authorize(a, oauth.Params{"login_hint": "alice@contoso.test"}), oauth.StateLogin, oauth.PageLogin)
			},
			input: loginPage,
			want:  want{state: oauth.StateLogin, page: oauth.PageLogin, status: http.StatusOK, username: "alice@contoso.test"}},
		{name: "sign-in page in another browser", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				other := newAgent()
				other.binding = strings.Repeat("b", 43)
				return f.loginPage(other, at)
			},
			want: want{state: oauth.StateFailed, kind: unopened, page: oauth.PageError, err: "invalid_request", errState: http.StatusBadRequest, text: msgGone}},
		{name: "sign-in page without the binding cookie", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step { return f.loginPage(newAgent(), at) },
			want:  want{state: oauth.StateFailed, kind: unopened, page: oauth.PageError, err: "invalid_request", errState: http.StatusBadRequest, text: msgGone}},
		{name: "sign-in page after the request expired", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				f.clock.Advance(30 * time.Minute)
				return f.loginPage(a, at)
			},
			want: want{state: oauth.StateFailed, kind: unopened, page: oauth.PageError, err: "invalid_request", errState: http.StatusBadRequest, text: msgGone}},
		{name: "sign-in page just before the request expires", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				f.clock.Advance(30*time.Minute - time.Second)
				return f.loginPage(a, at)
			},
			want: want{state: oauth.StateLogin, page: oauth.PageLogin, status: http.StatusOK}},
		{name: "sign-in page with a tampered request", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				at.Interaction.Ref = tamper(at.Interaction.Ref)
				return f.loginPage(a, at)
			},
			want: want{state: oauth.StateFailed, kind: unopened, page: oauth.PageError, err: "invalid_request", errState: http.StatusBadRequest, text: msgGone}},
		{name: "sign-in page of another tenant's request", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				other, err := f.admin.CreateTenant(context.Background(), "fabrikam", token.ES256)
				if err != nil {
					f.t.Fatal(err)
				}
				ep, e := f.p.Endpoint(context.Background(), "https://login.example", other.Name)
				if e != nil {
					f.t.Fatal(e)
				}
				return f.p.LoginPage(context.Background(), ep, at.Interaction.Ref, a.browser())
			},
			want: want{state: oauth.StateFailed, kind: unopened, page: oauth.PageError, err: "invalid_request", errState: http.StatusBadRequest, text: msgGone}},
		{name: "sign-in page of a sign-in stopped after five tries", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				wrongTimes(f, a, at, 4)
				if st := f.login(a, at, "alice@contoso.test", "wrong password"); st.Page != oauth.PageError {
					f.t.Fatalf("setup: the fifth try gave page %q", st.Page)
				}
				return f.loginPage(a, at)
			},
			want: want{state: oauth.StateFailed, page: oauth.PageError, err: "access_denied", errState: http.StatusTooManyRequests, text: msgStopped}},

		// Login: the sign-in form submitted.
		{name: "right password, consent missing: consent", from: fromLogin, fromState: oauth.StateLogin,
			input: submit("alice@contoso.test", alicePW),
			want:  want{state: oauth.StateConsent, goTo: oauth.PageConsent, session: true}},
		{name: "right password, any spelling of the username", from: fromLogin, fromState: oauth.StateLogin,
			input: submit("ＡＬＩＣＥ@Contoso.Test", alicePW),
			want:  want{state: oauth.StateConsent, goTo: oauth.PageConsent, session: true}},
		{name: "right password, consent given: answered", fromState: oauth.StateLogin, from: consentedElsewhere(nil),
			input: submit("alice@contoso.test", alicePW),
			want:  want{state: oauth.StateDone, response: "code", session: true}},
		{name: "signing in satisfies prompt=login", fromState: oauth.StateLogin, from: reauth(oauth.Params{"prompt": "login"}),
			input: submit("alice@contoso.test", alicePW),
			want:  want{state: oauth.StateDone, response: "code", session: true}},
		{name: "signing in satisfies max_age=0", fromState: oauth.StateLogin, from: reauth(oauth.Params{"max_age": "0"}),
			input: submit("alice@contoso.test", alicePW),
			want:  want{state: oauth.StateDone, response: "code", session: true}},
		{name: "signing in still asks the consent prompt=consent wants", fromState: oauth.StateLogin,
			from:  consentedElsewhere(oauth.Params{"prompt": "consent"}),
			input: submit("alice@contoso.test", alicePW),
			want:  want{state: oauth.StateConsent, goTo: oauth.PageConsent, session: true}},
		{name: "wrong password: the form again", from: fromLogin, fromState: oauth.StateLogin,
			input: submit("alice@contoso.test", "wrong password"),
			want:  want{state: oauth.StateLogin, page: oauth.PageLogin, status: http.StatusOK, text: msgBadCredentials, username: "alice@contoso.test"}},
		{name: "unknown user: the same answer", from: fromLogin, fromState: oauth.StateLogin,
			input: submit("mallory@contoso.test", alicePW),
			want:  want{state: oauth.StateLogin, page: oauth.PageLogin, status: http.StatusOK, text: msgBadCredentials, username: "mallory@contoso.test"}},
		{name: "disabled user: the same answer", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				disable(f, f.alice)
				return f.login(a, at, "alice@contoso.test", alicePW)
			},
			want: want{state: oauth.StateLogin, page: oauth.PageLogin, status: http.StatusOK, text: msgBadCredentials, username: "alice@contoso.test"}},
		{name: "empty password", from: fromLogin, fromState: oauth.StateLogin,
			input: submit("alice@contoso.test", ""),
			want:  want{state: oauth.StateLogin, page: oauth.PageLogin, status: http.StatusOK, text: msgBadCredentials, username: "alice@contoso.test"}},
		{name: "forged CSRF token", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				at.Interaction.CSRF = "forged"
				return f.login(a, at, "alice@contoso.test", alicePW)
			},
			want: want{state: oauth.StateFailed, kind: unopened, page: oauth.PageError, err: "invalid_request", errState: http.StatusForbidden, text: msgForged}},
		{name: "the form posted from another browser", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				other := newAgent()
				other.binding = strings.Repeat("b", 43)
				return f.login(other, at, "alice@contoso.test", alicePW)
			},
			want: want{state: oauth.StateFailed, kind: unopened, page: oauth.PageError, err: "invalid_request", errState: http.StatusBadRequest, text: msgGone}},
		{name: "the form posted after the request expired", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				f.clock.Advance(31 * time.Minute)
				return f.login(a, at, "alice@contoso.test", alicePW)
			},
			want: want{state: oauth.StateFailed, kind: unopened, page: oauth.PageError, err: "invalid_request", errState: http.StatusBadRequest, text: msgGone}},
		{name: "the fifth wrong try stops the sign-in", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				wrongTimes(f, a, at, 4)
				return f.login(a, at, "alice@contoso.test", "wrong password")
			},
			want: want{state: oauth.StateFailed, page: oauth.PageError, err: "access_denied", errState: http.StatusTooManyRequests, text: msgStopped}},
		{name: "a stopped sign-in refuses the right password", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				wrongTimes(f, a, at, 4)
				f.login(a, at, "alice@contoso.test", "wrong password")
				return f.login(a, at, "alice@contoso.test", alicePW)
			},
			want: want{state: oauth.StateFailed, page: oauth.PageError, err: "access_denied", errState: http.StatusTooManyRequests, text: msgStopped}},
		{name: "the tenth failure locks the account", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				failAlice(f, a, 9)
				return f.login(a, at, "alice@contoso.test", "wrong password")
			},
			want: want{state: oauth.StateLogin, page: oauth.PageLogin, status: http.StatusOK, text: msgAccountLocked, username: "alice@contoso.test"}},
		{name: "a locked account refuses the right password", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				failAlice(f, a, 10)
				return f.login(a, at, "alice@contoso.test", alicePW)
			},
			want: want{state: oauth.StateLogin, page: oauth.PageLogin, status: http.StatusOK, text: msgAccountLocked, username: "alice@contoso.test"}},
		{name: "the lockout ends", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				failAlice(f, a, 10)
				f.clock.Advance(time.Minute)
				return f.login(a, at, "alice@contoso.test", alicePW)
			},
			want: want{state: oauth.StateConsent, goTo: oauth.PageConsent, session: true}},
		{name: "a locked address refuses every account", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				lockAddress(f, a)
				return f.login(a, at, "bob@contoso.test", bobPW)
			},
			want: want{state: oauth.StateLogin, page: oauth.PageLogin, status: http.StatusOK, text: msgAddressLocked, username: "bob@contoso.test"}},
		{name: "another address is not locked with it", from: fromLogin, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				lockAddress(f, a)
				a.address = "198.51.100.7"
				return f.login(a, at, "bob@contoso.test", bobPW)
			},
			want: want{state: oauth.StateConsent, goTo: oauth.PageConsent, session: true}},

		// Consent.
		{name: "consent page", from: fromConsent, fromState: oauth.StateConsent, input: consentPage,
			want: want{state: oauth.StateConsent, page: oauth.PageConsent, status: http.StatusOK},
			then: func(t *testing.T, f *fx, a *agent, d *device, st oauth.Step) {
				c := st.Consent
				if c.ClientName != "Web App" || c.Username != "alice@contoso.test" || len(c.Permissions) != 2 ||
					c.Permissions[0].Scope != "openid" || c.Permissions[1].Description != "View your basic profile (name and username)" {
					t.Errorf("consent view %+v", c)
				}
			}},
		{name: "consent page before signing in: sign in", from: fromLogin, fromState: oauth.StateLogin, input: consentPage,
			want: want{state: oauth.StateLogin, goTo: oauth.PageLogin}},
		{name: "consent page without the session: sign in", from: fromConsent, fromState: oauth.StateConsent,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				a.session = ""
				return f.consentPage(a, at)
			},
			want: want{state: oauth.StateLogin, goTo: oauth.PageLogin}},
		{name: "consent page with another user's session: sign in", from: fromConsent, fromState: oauth.StateConsent,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				b := newAgent()
				f.expect(f.login(b, atLogin(f, b), "bob@contoso.test", bobPW), oauth.StateConsent, oauth.PageConsent)
				a.session = b.session
				return f.consentPage(a, at)
			},
			want: want{state: oauth.StateLogin, goTo: oauth.PageLogin}},
		{name: "consent page in another browser", from: fromConsent, fromState: oauth.StateConsent,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				other := newAgent()
				other.binding, other.session = strings.Repeat("b", 43), a.session
				return f.consentPage(other, at)
			},
			want: want{state: oauth.StateFailed, kind: unopened, page: oauth.PageError, err: "invalid_request", errState: http.StatusBadRequest, text: msgGone}},
		{name: "sign-in page while at consent: sign in again", from: fromConsent, fromState: oauth.StateConsent, input: loginPage,
			want: want{state: oauth.StateLogin, page: oauth.PageLogin, status: http.StatusOK}},
		{name: "accept: answered", from: fromConsent, fromState: oauth.StateConsent, input: answer("accept"),
			want: want{state: oauth.StateDone, response: "code"}, then: consentGiven},
		{name: "accept, consent already given elsewhere meanwhile", from: fromConsent, fromState: oauth.StateConsent,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				signedIn(f, newAgent())
				return f.consent(a, at, "accept")
			},
			want: want{state: oauth.StateDone, response: "code"}},
		{name: "cancel: access_denied to the client", from: fromConsent, fromState: oauth.StateConsent, input: answer("cancel"),
			want: want{state: oauth.StateFailed, response: "access_denied", err: "access_denied", text: msgDeclined},
			then: func(t *testing.T, f *fx, a *agent, d *device, st oauth.Step) {
				if next := f.authorize(a, nil); next.Interaction.State != oauth.StateConsent {
					t.Errorf("after a cancel, a new request: state %q, want consent asked again", next.Interaction.State)
				}
			}},
		{name: "neither accept nor cancel", from: fromConsent, fromState: oauth.StateConsent, input: answer("maybe"),
			want: want{state: oauth.StateFailed, page: oauth.PageError, err: "invalid_request", errState: http.StatusBadRequest,
				text: "The consent form must be answered with 'accept', 'cancel' or 'back'."}},
		{name: "accept with a forged CSRF token", from: fromConsent, fromState: oauth.StateConsent,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				at.Interaction.CSRF = at.Interaction.CSRF[1:]
				return f.consent(a, at, "accept")
			},
			want: want{state: oauth.StateFailed, kind: unopened, page: oauth.PageError, err: "invalid_request", errState: http.StatusForbidden, text: msgForged}},
		{name: "accept before signing in: sign in", from: fromLogin, fromState: oauth.StateLogin, input: answer("accept"),
			want: want{state: oauth.StateLogin, goTo: oauth.PageLogin}},
		{name: "accept after the user was disabled", from: fromConsent, fromState: oauth.StateConsent,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				disable(f, f.alice)
				return f.consent(a, at, "accept")
			},
			want: want{state: oauth.StateFailed, response: "access_denied", err: "access_denied", text: msgBadCredentials}},
		{name: "accept after the request expired", from: fromConsent, fromState: oauth.StateConsent,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				f.clock.Advance(30 * time.Minute)
				return f.consent(a, at, "accept")
			},
			want: want{state: oauth.StateFailed, kind: unopened, page: oauth.PageError, err: "invalid_request", errState: http.StatusBadRequest, text: msgGone}},

		// Device approval.
		{name: "device page prefilled from the link", fromState: "",
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step { return f.p.DevicePage("BCDF-GHJK") },
			want:  want{state: oauth.StateUserCode, kind: oauth.KindDeviceApproval, page: oauth.PageDevice, status: http.StatusOK, username: "BCDF-GHJK"}},
		{name: "device page with a link too long to be a code",
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				return f.p.DevicePage(strings.Repeat("B", 33))
			},
			want: want{state: oauth.StateUserCode, kind: oauth.KindDeviceApproval, page: oauth.PageDevice, status: http.StatusOK}},
		{name: "a live code, no session: sign in",
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				d.user, d.code = f.deviceCode()
				return f.typeCode(a, strings.ToLower(d.user))
			},
			want: want{state: oauth.StateLogin, kind: oauth.KindDeviceApproval, goTo: oauth.PageLogin, binding: true}},
		{name: "a live code with a session: consent, even when given", from: approvedOnce, fromState: oauth.StateDone,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				d.user, d.code = f.deviceCode()
				return f.typeCode(a, d.user)
			},
			want: want{state: oauth.StateConsent, kind: oauth.KindDeviceApproval, goTo: oauth.PageConsent}},
		{name: "a wrong code: the form again",
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step { return f.typeCode(a, "BCDF-GHJK") },
			want: want{state: oauth.StateUserCode, kind: oauth.KindDeviceApproval, page: oauth.PageDevice, status: http.StatusBadRequest,
				text: msgBadCode, username: "BCDF-GHJK", binding: true}},
		{name: "not a code at all",
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step { return f.typeCode(a, "hello, world") },
			want: want{state: oauth.StateUserCode, kind: oauth.KindDeviceApproval, page: oauth.PageDevice, status: http.StatusBadRequest,
				text: msgBadCode, username: "hello, world", binding: true}},
		{name: "an expired code",
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				d.user, d.code = f.deviceCode()
				f.clock.Advance(15 * time.Minute)
				return f.typeCode(a, d.user)
			},
			want: want{state: oauth.StateUserCode, kind: oauth.KindDeviceApproval, page: oauth.PageDevice, status: http.StatusBadRequest,
				text: msgBadCode, username: typedCode, binding: true}},
		{name: "codes typed too often from one address",
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				for range 20 {
					f.typeCode(a, "BCDF-GHJK")
				}
				d.user, d.code = f.deviceCode()
				return f.typeCode(a, d.user)
			},
			want: want{state: oauth.StateUserCode, kind: oauth.KindDeviceApproval, page: oauth.PageDevice, status: http.StatusTooManyRequests,
				text: "Too many codes were tried from here. Wait a few minutes and try again.", username: typedCode}},
		{name: "device sign-in: consent, even when given", fromState: oauth.StateLogin,
			from: func(f *fx, a *agent, d *device) oauth.Step {
				approvedOnce(f, newAgent(), &device{})
				return atDeviceLogin(f, a, d)
			},
			input: submit("alice@contoso.test", alicePW),
			want:  want{state: oauth.StateConsent, kind: oauth.KindDeviceApproval, goTo: oauth.PageConsent, session: true}},
		{name: "device consent page", from: atDeviceConsent, fromState: oauth.StateConsent, input: consentPage,
			want: want{state: oauth.StateConsent, kind: oauth.KindDeviceApproval, page: oauth.PageConsent, status: http.StatusOK},
			then: func(t *testing.T, f *fx, a *agent, d *device, st oauth.Step) {
				if c := st.Consent; c.ClientName != "Native App" || len(c.Permissions) != 3 || c.Permissions[0].Description != "Access Files API as you (Files.Read)" {
					t.Errorf("consent view %+v", c)
				}
			}},
		{name: "device approved", from: atDeviceConsent, fromState: oauth.StateConsent, input: answer("accept"),
			want: want{state: oauth.StateDone, kind: oauth.KindDeviceApproval, page: oauth.PageDeviceResult, status: http.StatusOK, result: oauth.DeviceApproved},
			then: func(t *testing.T, f *fx, a *agent, d *device, st oauth.Step) {
				resp, e := f.poll(d.code)
				if e != nil || resp.AccessToken == "" || resp.RefreshToken == "" {
					t.Errorf("the device's poll: %v %+v", e, resp)
				}
			}},
		{name: "device denied", from: atDeviceConsent, fromState: oauth.StateConsent, input: answer("cancel"),
			want: want{state: oauth.StateFailed, kind: oauth.KindDeviceApproval, page: oauth.PageDeviceResult, status: http.StatusOK,
				result: oauth.DeviceDenied, err: "access_denied", text: msgDeclined},
			then: func(t *testing.T, f *fx, a *agent, d *device, st oauth.Step) {
				if _, e := f.poll(d.code); e == nil || e.Code != "access_denied" {
					t.Errorf("the device's poll: %v, want access_denied", e)
				}
			}},
		{name: "device code expired during consent", from: atDeviceConsent, fromState: oauth.StateConsent,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				f.clock.Advance(15 * time.Minute)
				return f.consent(a, at, "accept")
			},
			want: want{state: oauth.StateFailed, kind: oauth.KindDeviceApproval, page: oauth.PageDeviceResult, status: http.StatusBadRequest,
				result: oauth.DeviceFailed, err: "expired_token", text: msgCodeUsed}},
		{name: "device approved twice", from: atDeviceConsent, fromState: oauth.StateConsent,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				f.expect(f.consent(a, at, "accept"), oauth.StateDone, "")
				return f.consent(a, at, "accept")
			},
			want: want{state: oauth.StateFailed, kind: oauth.KindDeviceApproval, page: oauth.PageDeviceResult, status: http.StatusBadRequest,
				result: oauth.DeviceFailed, err: "expired_token", text: msgCodeUsed}},
		{name: "device approval by a user disabled meanwhile", from: atDeviceConsent, fromState: oauth.StateConsent,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				disable(f, f.alice)
				return f.consent(a, at, "accept")
			},
			want: want{state: oauth.StateFailed, kind: oauth.KindDeviceApproval, page: oauth.PageDeviceResult, status: http.StatusBadRequest,
				result: oauth.DeviceFailed, err: "access_denied", text: msgBadCredentials},
			then: func(t *testing.T, f *fx, a *agent, d *device, st oauth.Step) {
				if _, e := f.poll(d.code); e == nil || e.Code != "authorization_pending" {
					t.Errorf("the device's poll: %v, want authorization_pending", e)
				}
			}},
	}

	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFx(t)
			a, d := newAgent(), &device{}
			var at oauth.Step
			if tc.from != nil {
				at = tc.from(f, a, d)
				if at.Interaction.State != tc.fromState {
					t.Fatalf("setup reached state %q, want %q", at.Interaction.State, tc.fromState)
				}
			}
			st := tc.input(f, a, d, at)
			if tc.want.username == typedCode {
				tc.want.username = d.user
			}
			check(t, f, tc.want, st)
			if tc.then != nil && !t.Failed() {
				tc.then(t, f, a, d, st)
			}
		})
	}
}

// check compares a step with what the row wants.
func check(t *testing.T, f *fx, w want, st oauth.Step) {
	t.Helper()
	kind := w.kind
	switch kind {
	case "":
		kind = oauth.KindAuthorize
	case unopened:
		kind = ""
	}
	if st.Interaction.State != w.state || st.Interaction.Kind != kind || st.Page != w.page || st.Goto != w.goTo {
		t.Errorf("step: %s %s, page %q, goto %q (err %v); want %s %s, page %q, goto %q",
			st.Interaction.Kind, st.Interaction.State, st.Page, st.Goto, st.Err, kind, w.state, w.page, w.goTo)
	}
	if st.Page != "" && st.Page != oauth.PageError && st.Status != w.status {
		t.Errorf("status %d, want %d", st.Status, w.status)
	}
	if (st.Goto != "" || st.Page == oauth.PageLogin || st.Page == oauth.PageConsent) && (st.Interaction.Ref == "" || st.Interaction.CSRF == "") {
		t.Errorf("a waiting step without its sealed interaction: ref %q csrf %q", st.Interaction.Ref, st.Interaction.CSRF)
	}

	switch {
	case w.err == "" && st.Err != nil:
		t.Errorf("err %v, want none", st.Err)
	case w.err != "" && (st.Err == nil || st.Err.Code != w.err):
		t.Errorf("err %v, want %s", st.Err, w.err)
	case w.errState != 0 && st.Err.Status != w.errState:
		t.Errorf("err status %d, want %d", st.Err.Status, w.errState)
	}

	switch {
	case w.response == "" && st.Response != nil:
		t.Errorf("a response to the client: %v", st.Response.Params)
	case w.response != "" && st.Response == nil:
		t.Errorf("no response to the client, want %s", w.response)
	case w.response != "":
		r := st.Response
		// Every response, success or error, goes to the registered
		// redirect URI with the state and this tenant's issuer (RFC 9207).
		if r.RedirectURI != webRedirect || r.Mode != oauth.ModeQuery || r.Params.Get("iss") != f.ep.Issuer || r.Params.Get("state") != "s1" {
			t.Errorf("response to %s (%s): %v", r.RedirectURI, r.Mode, r.Params)
		}
		if w.response == "code" {
			if r.Params.Get("code") == "" || r.Params.Get("error") != "" {
				t.Errorf("response %v, want a code", r.Params)
			}
		} else if r.Params.Get("error") != w.response || r.Params.Get("code") != "" || (w.text != "" && r.Params.Get("error_description") != w.text) {
			t.Errorf("response %v, want error %s", r.Params, w.response)
		}
	}

	var shown, prefilled string
	switch st.Page {
	case oauth.PageLogin:
		shown, prefilled = st.Login.Error, st.Login.Username
		if st.Login.ClientName != "Web App" && st.Login.ClientName != "Native App" {
			t.Errorf("sign-in page names the client %q", st.Login.ClientName)
		}
	case oauth.PageDevice:
		shown, prefilled = st.Device.Error, st.Device.UserCode
	case oauth.PageSecondFactor:
		shown = st.SecondFactor.Error
	case oauth.PageEnrol:
		shown = st.Enrol.Error
	case oauth.PageError, oauth.PageDeviceResult:
		if st.Err != nil {
			shown = st.Err.Description
		}
	}
	if st.Page == oauth.PageError && w.text == "" {
		shown = "" // the row does not say which error message
	}
	if st.Page != "" && (shown != w.text || prefilled != w.username) {
		t.Errorf("page shows %q, prefilled %q; want %q, %q", shown, prefilled, w.text, w.username)
	}
	if st.Result != w.result {
		t.Errorf("device result %q, want %q", st.Result, w.result)
	}
	if (st.SetSession != "") != w.session || (st.SetBinding != "") != w.binding {
		t.Errorf("cookies set: session %v, binding %v; want %v, %v", st.SetSession != "", st.SetBinding != "", w.session, w.binding)
	}
	if st.SetSession != "" && st.SessionMaxAge != oauth.DefaultConfig().SessionLifetime {
		t.Errorf("session cookie lives %v", st.SessionMaxAge)
	}
}

// tamper flips one character of a sealed reference.
func tamper(ref string) string {
	b := []byte(ref)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
