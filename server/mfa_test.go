package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/testbrowser"
	"github.com/tessera-id/tessera/store"
)

// Second factors over real HTTP: enrolment at sign-in, the second-factor
// step, amr and acr in every token, step-up, and the hostile cases.

func (e *env) setMFA(p store.MFAPolicy) {
	e.t.Helper()
	t, err := e.admin.Tenant(e.t.Context(), "contoso")
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.admin.SetMFAPolicy(e.t.Context(), t, p); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) totp(secret string) string {
	e.t.Helper()
	c, err := totp.GenerateCode(secret, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// enrolAlice has alice enrol an authenticator app at sign-in (under the
// policy "everyone", which it sets back to optional) in a browser of her
// own, and returns the secret read off the page and her recovery codes.
// The clock then moves past the enrolment's time step.
func enrolAlice(e *env) (string, []string) {
	e.t.Helper()
	return enrolUser(e, "alice@contoso.test")
}

// enrolUser is enrolAlice for any user whose password is e.password.
func enrolUser(e *env, username string) (string, []string) {
	e.t.Helper()
	e.setMFA(store.MFAEveryone)
	defer e.setMFA(store.MFAOptional)
	b := e.browser()
	o := b.Login(b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)), username, e.password)
	secret := testbrowser.EnrolSecret(e.t, o)
	o = b.Submit(o, map[string]string{"code": e.totp(secret)})
	if o.Page != "recovery" {
		e.t.Fatalf("after enrolment: status %d page %q\n%s", o.Status, o.Page, o.Body)
	}
	codes := testbrowser.RecoveryCodes(o)
	if len(codes) != 10 {
		e.t.Fatalf("%d recovery codes on the page", len(codes))
	}
	e.clock.Advance(30 * time.Second)
	return secret, codes
}

// claimsAMR reads amr and acr off a token's claims.
func claimsAMR(c map[string]any) ([]string, any) {
	var amr []string
	list, _ := c["amr"].([]any)
	for _, v := range list {
		amr = append(amr, v.(string))
	}
	return amr, c["acr"]
}

// wantAMR checks the ID token and access token of a token response.
func (e *env) wantAMR(what string, resp map[string]any, amr []string, acr string) {
	e.t.Helper()
	_, id := e.verifyJWT(resp["id_token"].(string), "JWT", idAudience(resp, e))
	if got, gotACR := claimsAMR(id); !slices.Equal(got, amr) || gotACR != acr {
		e.t.Errorf("%s: ID token amr %v acr %v, want %v %s", what, got, gotACR, amr, acr)
	}
	_, at := e.verifyJWT(resp["access_token"].(string), "at+jwt", accessAudience(resp, e))
	if got, gotACR := claimsAMR(at); !slices.Equal(got, amr) || gotACR != acr {
		e.t.Errorf("%s: access token amr %v acr %v, want %v %s", what, got, gotACR, amr, acr)
	}
}

func idAudience(resp map[string]any, e *env) string {
	if strings.Contains(resp["scope"].(string), "Files.Read") {
		return e.native.ClientID
	}
	return e.web.ClientID
}

func accessAudience(resp map[string]any, e *env) string {
	if strings.Contains(resp["scope"].(string), "Files.Read") {
		return e.api.ClientID
	}
	return e.web.ClientID
}

func (e *env) redeemWeb(code string) map[string]any {
	e.t.Helper()
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {e.web.ClientID},
		"client_secret": {e.secret}, "code": {code}, "redirect_uri": {webRedirect}})
	if status != http.StatusOK {
		e.t.Fatalf("code redemption: %d %v", status, resp)
	}
	return resp
}

// TestAMRAndACR: every way of signing in shows in the ID and access
// tokens, and a refresh keeps what the sign-in had.
func TestAMRAndACR(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		method string // "" for the password alone
		amr    []string
		acr    string
	}{
		{"password", "", []string{"pwd"}, "pwd"},
		{"password and authenticator app", "totp", []string{"pwd", "otp", "mfa"}, "mfa"},
		{"password and recovery code", "recovery", []string{"pwd", "otp", "mfa"}, "mfa"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			var secret string
			var codes []string
			if tc.method != "" {
				secret, codes = enrolAlice(e)
			}
			b := e.browser()
			o := b.Login(b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid offline_access", nil)), "alice@contoso.test", e.password)
			switch tc.method {
			case "totp":
				o = b.SecondFactor(o, "totp", e.totp(secret))
			case "recovery":
				o = b.SecondFactor(o, "recovery", codes[0])
			}
			if o.Page == "consent" {
				o = b.Consent(o, "accept")
			}
			if o.Params.Get("code") == "" {
				t.Fatalf("no code: page %q %v\n%s", o.Page, o.Params, o.Body)
			}
			resp := e.redeemWeb(o.Params.Get("code"))
			e.wantAMR("code", resp, tc.amr, tc.acr)
			status, refreshed := e.refresh(resp["refresh_token"].(string), nil)
			if status != http.StatusOK {
				t.Fatalf("refresh: %d %v", status, refreshed)
			}
			e.wantAMR("refresh", refreshed, tc.amr, tc.acr)

			// The device code flow, in the same browser: the session's
			// methods go to the device.
			da := e.deviceAuthorize(e.native.ClientID, "api://files/Files.Read openid offline_access")
			page := b.Get(da["verification_uri"].(string))
			d := b.Submit(page, map[string]string{"user_code": da["user_code"].(string)})
			d = b.Consent(d, "accept")
			if d.Status != http.StatusOK || !strings.Contains(d.Body, "signed in") {
				t.Fatalf("device approval: %d %q\n%s", d.Status, d.Page, d.Body)
			}
			e.clock.Advance(5 * time.Second)
			status, dev := e.pollDevice(deviceGrant, e.native.ClientID, da["device_code"].(string))
			if status != http.StatusOK {
				t.Fatalf("device poll: %d %v", status, dev)
			}
			e.wantAMR("device code", dev, tc.amr, tc.acr)
		})
	}
}

// TestMFAPolicy: under "admins" only users holding a directory role must
// enrol; under "everyone" every user does, and the tokens say mfa.
func TestMFAPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bob, _, err := e.admin.CreateUser(t.Context(), e.tenant, adminUser("bob@contoso.test", e.password))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.AssignRole(t.Context(), bob, admin.RoleUserAdministrator); err != nil {
		t.Fatal(err)
	}
	e.setMFA(store.MFAAdmins)
	start := func(b *browser, who string) testbrowser.Outcome {
		return b.Login(b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)), who, e.password)
	}
	if o := start(e.browser(), "alice@contoso.test"); o.Page != "consent" {
		t.Errorf("admins policy, a user without a role: page %q", o.Page)
	}
	b := e.browser()
	o := start(b, "bob@contoso.test")
	if o.Page != "enrol" {
		t.Fatalf("admins policy, a User Administrator: page %q\n%s", o.Page, o.Body)
	}
	if csp := o.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data:") {
		t.Errorf("enrolment page CSP %q does not allow its data: QR code", csp)
	}
	if !strings.Contains(o.Body, `src="data:image/png;base64,`) {
		t.Error("no QR code on the enrolment page")
	}

	e.setMFA(store.MFAEveryone)
	b = e.browser()
	o = start(b, "alice@contoso.test")
	secret := testbrowser.EnrolSecret(t, o)
	// A wrong code shows the page again with the reason.
	if w := b.Submit(o, map[string]string{"code": "000000"}); w.Page != "enrol" || w.Status != http.StatusUnauthorized || !strings.Contains(w.Body, "not correct") {
		t.Errorf("a wrong enrolment code: %d %q", w.Status, w.Page)
	}
	o = b.Submit(o, map[string]string{"code": e.totp(secret)})
	if o.Page != "recovery" {
		t.Fatalf("after enrolment: page %q", o.Page)
	}
	o = b.Consent(b.Submit(o, nil), "accept")
	resp := e.redeemWeb(o.Params.Get("code"))
	e.wantAMR("enrolled at sign-in", resp, []string{"pwd", "otp", "mfa"}, "mfa")

	// Entries in the audit log: the enrolment, and the sign-in's methods.
	entries, err := e.store.ListAudit(t.Context(), e.tenant.ID, store.AuditQuery{Kind: store.AuditDirectory, Activity: "Register authenticator app"})
	if err != nil || len(entries) != 1 || entries[0].ActorName != "alice@contoso.test" {
		t.Errorf("enrolment audit: %v %+v", err, entries)
	}
	signins, err := e.store.ListAudit(t.Context(), e.tenant.ID, store.AuditQuery{Kind: store.AuditSignIn, Activity: "Sign-in with authenticator app"})
	if err != nil || len(signins) != 1 || len(signins[0].Changes) != 1 || signins[0].Changes[0].New != "pwd otp mfa" {
		t.Errorf("sign-in audit: %v %+v", err, signins)
	}
}

// TestStepUp: acr_values=mfa on a session signed in with the password
// alone asks for the second factor only, and prompt=none refuses.
func TestStepUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	b.signIn(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil))
	secret, _ := enrolAlice(e)

	o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", url.Values{"acr_values": {"mfa"}, "prompt": {"none"}}))
	if o.Params.Get("error") != "interaction_required" {
		t.Errorf("prompt=none with acr_values=mfa on a pwd session: %v", o.Params)
	}
	// The step-up comes a while after the password: it is an
	// authentication of its own, and auth_time (so max_age) moves to it.
	e.clock.Advance(5 * time.Minute)
	o = b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", url.Values{"acr_values": {"mfa"}}))
	if o.Page != "second_factor" || strings.Contains(o.Body, `name="password"`) {
		t.Fatalf("step-up: page %q\n%s", o.Page, o.Body)
	}
	stepped := e.clock.Now().Unix()
	o = b.SecondFactor(o, "totp", e.totp(secret))
	resp := e.redeemWeb(o.Params.Get("code"))
	e.wantAMR("stepped up", resp, []string{"pwd", "otp", "mfa"}, "mfa")
	if _, id := e.verifyJWT(resp["id_token"].(string), "JWT", e.web.ClientID); id["auth_time"] != float64(stepped) {
		t.Errorf("after the step-up: auth_time %v, want the step-up's %d", id["auth_time"], stepped)
	}
	// The session now has mfa, and an authentication a minute old:
	// prompt=none is answered, with max_age too.
	e.clock.Advance(time.Minute)
	o = b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", url.Values{"acr_values": {"mfa"}, "prompt": {"none"}, "max_age": {"120"}}))
	if o.Params.Get("code") == "" {
		t.Errorf("after the step-up, prompt=none with max_age=120: %v", o.Params)
	}

	// Discovery says what acr values there are.
	res, err := e.srv.Client().Get(e.authority() + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	disc := decodeJSON(t, res.Body)
	res.Body.Close()
	acrs, _ := disc["acr_values_supported"].([]any)
	claims, _ := disc["claims_supported"].([]any)
	if len(acrs) != 2 || acrs[0] != "pwd" || acrs[1] != "mfa" || !slices.Contains(claims, any("amr")) || !slices.Contains(claims, any("acr")) {
		t.Errorf("discovery: acr_values_supported %v, claims_supported %v", acrs, claims)
	}
}

// TestMFAHostile: what a second factor must withstand.
func TestMFAHostile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secret, _ := enrolAlice(e)
	toSecondFactor := func(b *browser) testbrowser.Outcome {
		t.Helper()
		o := b.Login(b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)), "alice@contoso.test", e.password)
		if o.Page != "second_factor" {
			t.Fatalf("after the password: page %q", o.Page)
		}
		return o
	}

	t.Run("skipping the second step", func(t *testing.T) {
		b := e.browser()
		o := toSecondFactor(b)
		_, fields := testbrowser.ParseForm(t, o.Body)
		// The consent form posted with the second-factor step's sealed
		// ref and CSRF token: no code, and back to the second factor.
		c := b.PostForm(e.authority()+"/consent", url.Values{"request": {fields.Get("request")}, "csrf": {fields.Get("csrf")}, "consent": {"accept"}})
		if c.Callback != nil || c.Page != "second_factor" {
			t.Errorf("consent posted at the second-factor step: page %q callback %v", c.Page, c.Callback)
		}
		if len(b.Cookies(o.URL)) == 0 {
			t.Fatal("no cookies")
		}
		for _, ck := range b.Cookies(o.URL) {
			if strings.HasPrefix(ck.Name, "tessera_sso_") {
				t.Errorf("a session cookie %s exists before the second factor", ck.Name)
			}
		}
	})
	t.Run("a replayed code", func(t *testing.T) {
		code := e.totp(secret)
		b := e.browser()
		if o := b.SecondFactor(toSecondFactor(b), "totp", code); o.Page != "consent" && o.Callback == nil {
			t.Fatalf("first use: page %q", o.Page)
		}
		nb := e.browser()
		o := nb.SecondFactor(toSecondFactor(nb), "totp", code)
		if o.Page != "second_factor" || o.Status != http.StatusUnauthorized || !strings.Contains(o.Body, "used already") {
			t.Errorf("replay: %d %q\n%s", o.Status, o.Page, o.Body)
		}
		e.clock.Advance(30 * time.Second)
	})
	t.Run("a code of the previous enrolment", func(t *testing.T) {
		alice, err := e.admin.User(t.Context(), e.tenant, "alice@contoso.test")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.admin.ResetAuthenticationMethods(t.Context(), alice); err != nil {
			t.Fatal(err)
		}
		newSecret, _ := enrolAlice(e)
		b := e.browser()
		o := b.SecondFactor(toSecondFactor(b), "totp", e.totp(secret))
		if o.Page != "second_factor" || o.Status != http.StatusUnauthorized {
			t.Errorf("the old secret's code: %d %q", o.Status, o.Page)
		}
		secret = newSecret
	})
	t.Run("enrolment without its CSRF token", func(t *testing.T) {
		e.setMFA(store.MFAEveryone)
		defer e.setMFA(store.MFAOptional)
		bob, _, err := e.admin.CreateUser(t.Context(), e.tenant, adminUser("carol@contoso.test", e.password))
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		o := b.Login(b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)), "carol@contoso.test", e.password)
		sec := testbrowser.EnrolSecret(t, o)
		_, fields := testbrowser.ParseForm(t, o.Body)
		f := b.PostForm(e.authority()+"/enrol", url.Values{"request": {fields.Get("request")}, "code": {e.totp(sec)}})
		if f.Status != http.StatusForbidden {
			t.Errorf("enrolment without CSRF: %d %q", f.Status, f.Page)
		}
		if fs, _ := e.store.ListFactors(t.Context(), e.tenant.ID, bob.ID); len(fs) != 0 {
			t.Errorf("a forged enrolment stored %d factors", len(fs))
		}
	})
	t.Run("guesses are throttled", func(t *testing.T) {
		b := e.browser()
		o := toSecondFactor(b)
		var last testbrowser.Outcome
		for range 5 {
			last = b.SecondFactor(o, "totp", "000000")
		}
		// The request's five tries are used up: the sign-in is over.
		if last.Status != http.StatusTooManyRequests {
			t.Errorf("the fifth wrong code: %d %q", last.Status, last.Page)
		}
		// Over more sign-ins the account's second factor locks, whatever
		// the password.
		for range 2 {
			bb := e.browser()
			o := toSecondFactor(bb)
			for range 4 {
				last = bb.SecondFactor(o, "totp", "000000")
			}
		}
		o = toSecondFactor(b)
		last = b.SecondFactor(o, "totp", e.totp(secret))
		if last.Status != http.StatusTooManyRequests || !strings.Contains(last.Body, "locked") {
			t.Errorf("the right code on a locked account: %d %q\n%s", last.Status, last.Page, last.Body)
		}
	})
}

// TestPortalResetSecondFactors: a user's portal page lists their second
// factors, and Reset second factors removes them, audited.
func TestPortalResetSecondFactors(t *testing.T) {
	e := newEnv(t)
	e.globalAdmin()
	u, _ := e.signInToPortal("alice@contoso.test", e.password)
	carol, _, err := e.admin.CreateUser(t.Context(), e.tenant, adminUser("carol@contoso.test", e.password))
	if err != nil {
		t.Fatal(err)
	}
	enrolUser(e, "carol@contoso.test")
	path := "/users/" + carol.ID
	o := u.Get(u.base + path)
	if !strings.Contains(o.Body, "Authenticator app; 10 recovery codes left") || !strings.Contains(o.Body, `value="reset-mfa"`) {
		t.Fatalf("the user page does not show carol's factor:\n%s", o.Body)
	}
	o = u.post(o, path, url.Values{"action": {"reset-mfa"}})
	if fs, _ := e.store.ListFactors(t.Context(), e.tenant.ID, carol.ID); len(fs) != 0 || !strings.Contains(o.Body, "<dt>Second factors</dt><dd>None</dd>") {
		t.Errorf("after Reset second factors: %d factors\n%s", len(fs), o.Body)
	}
	if audit := u.Get(u.base + "/audit"); !strings.Contains(audit.Body, "Reset user authentication methods") {
		t.Error("the audit log page lacks the reset")
	}
}
