package oauth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/store"
)

// setScope says d of the files API's Files.Read.
func (f *fx) setScope(d store.ScopeDetail) {
	f.t.Helper()
	ctx := context.Background()
	api, err := f.store.GetAppByIdentifier(ctx, f.ep.Tenant.ID, "api://files")
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.admin.ExposeScope(ctx, api, "Files.Read", d); err != nil {
		f.t.Fatal(err)
	}
}

const readFiles = "api://files/Files.Read openid"

// The consent page shows a scope's user consent display name and
// description, and the generic text for a scope without them.
func TestConsentShowsScopeTexts(t *testing.T) {
	f := newFx(t)
	f.setScope(store.ScopeDetail{UserConsentDisplayName: "Read your files", UserConsentDescription: "Lets the app open the files you own."})
	a := newAgent()
	st := f.expect(f.authorize(a, oauth.Params{"scope": readFiles}), oauth.StateLogin, oauth.PageLogin)
	st = f.expect(f.login(a, st, "alice@contoso.test", alicePW), oauth.StateConsent, oauth.PageConsent)
	view := f.consentPage(a, st).Consent
	if view.NeedsAdmin || len(view.Permissions) != 2 {
		t.Fatalf("consent view %+v", view)
	}
	if p := view.Permissions[0]; p.Scope != "Files.Read" || p.Description != "Read your files" || p.Detail != "Lets the app open the files you own." || p.AdminOnly {
		t.Errorf("the scope's line: %+v", p)
	}
	if p := view.Permissions[1]; p.Description != "Sign you in" || p.Detail != "" {
		t.Errorf("openid's line: %+v", p)
	}
}

// A scope only an admin may consent to: the user is told an admin must
// approve and cannot consent, by the page or by posting the form; the
// client learns why; prompt=none, .default and the device flow alike.
// Once an admin granted it tenant-wide, nobody is asked.
func TestAdminOnlyScopeNeedsAdminConsent(t *testing.T) {
	admins := store.ScopeDetail{Type: store.ConsentByAdmin, AdminConsentDisplayName: "Read all files", UserConsentDisplayName: "Read your files"}
	needsAdmin := func(t *testing.T, st oauth.Step, code string) {
		t.Helper()
		if st.Response == nil || st.Response.Params.Get("error") != code ||
			!strings.Contains(st.Response.Params.Get("error_description"), "administrator must grant consent") ||
			st.Response.RedirectURI != webRedirect {
			t.Fatalf("response %+v (err %v), want %s saying an administrator must grant consent", st.Response, st.Err, code)
		}
	}
	atAdminPage := func(t *testing.T, f *fx, a *agent, extra oauth.Params) oauth.Step {
		t.Helper()
		st := f.expect(f.authorize(a, extra), oauth.StateLogin, oauth.PageLogin)
		st = f.expect(f.login(a, st, "alice@contoso.test", alicePW), oauth.StateConsent, oauth.PageConsent)
		if view := f.consentPage(a, st).Consent; !view.NeedsAdmin || !view.Permissions[0].AdminOnly {
			t.Fatalf("consent view %+v, want the admin approval page", view)
		}
		return st
	}

	for _, answer := range []string{"back", "accept"} {
		t.Run(answer, func(t *testing.T) {
			f := newFx(t)
			f.setScope(admins)
			a := newAgent()
			st := atAdminPage(t, f, a, oauth.Params{"scope": readFiles})
			needsAdmin(t, f.consent(a, st, answer), "access_denied")
			consents, err := f.store.ListConsents(context.Background(), f.ep.Tenant.ID, f.web.ClientID, f.alice.ID)
			if err != nil || len(consents) != 0 {
				t.Errorf("consents written: %v %v", consents, err)
			}
			// Signed in now, prompt=none is told the same, as consent_required.
			needsAdmin(t, f.authorize(a, oauth.Params{"scope": readFiles, "prompt": "none"}), "consent_required")
		})
	}

	t.Run(".default", func(t *testing.T) {
		f := newFx(t)
		f.setScope(admins)
		a := newAgent()
		params := oauth.Params{"client_id": f.native.ClientID, "redirect_uri": "http://localhost", "scope": "api://files/.default",
			"code_challenge": strings.Repeat("a", 43), "code_challenge_method": "S256"}
		st := atAdminPage(t, f, a, params)
		if next := f.consent(a, st, "accept"); next.Response == nil || next.Response.Params.Get("error") != "access_denied" {
			t.Fatalf("accepting .default: %+v", next.Response)
		}

		// An admin's consent for everyone: no page at all.
		if _, err := f.admin.GrantAdminConsent(context.Background(), f.native); err != nil {
			t.Fatal(err)
		}
		if next := f.authorize(a, params); next.Interaction.State != oauth.StateDone || next.Response.Params.Get("code") == "" {
			t.Errorf("after admin consent: state %q, response %+v, err %v", next.Interaction.State, next.Response, next.Err)
		}
	})

	t.Run("device", func(t *testing.T) {
		f := newFx(t)
		f.setScope(admins)
		a, d := newAgent(), &device{}
		st := atDeviceConsent(f, a, d)
		if view := f.consentPage(a, st).Consent; !view.NeedsAdmin {
			t.Fatalf("device consent view %+v", view)
		}
		next := f.consent(a, st, "accept")
		if next.Result != oauth.DeviceFailed || next.Err == nil || !strings.Contains(next.Err.Description, "administrator must grant consent") {
			t.Fatalf("device step %+v", next)
		}
		if _, e := f.poll(d.code); e == nil || e.Code != "access_denied" {
			t.Errorf("the device's poll: %v, want access_denied", e)
		}
	})
}

// A user's own consent, given while users could consent, stops counting
// when the scope becomes admins-only: refreshing for it is
// consent_required, until an admin grants it for everyone.
func TestUserConsentDoesNotStandInForAdmin(t *testing.T) {
	f := newFx(t)
	a, d := newAgent(), &device{}
	approvedOnce(f, a, d)
	resp, e := f.poll(d.code)
	if e != nil || resp.RefreshToken == "" {
		t.Fatalf("poll: %v %+v", e, resp)
	}
	f.setScope(store.ScopeDetail{Type: store.ConsentByAdmin})
	refresh := func(rt, scope string) (*oauth.TokenResponse, *oauth.Error) {
		return f.p.Token(context.Background(), f.ep, oauth.TokenRequest{Params: oauth.Params{
			"grant_type": oauth.GrantRefreshToken, "client_id": f.native.ClientID, "refresh_token": rt, "scope": scope}, Address: "192.0.2.99"})
	}
	for _, scope := range []string{"api://files/Files.Read", "api://files/.default"} {
		if _, e := refresh(resp.RefreshToken, scope); e == nil || e.SubError != oauth.SubConsentRequired {
			t.Errorf("refresh for %s: %v, want consent_required", scope, e)
		}
	}
	if _, err := f.admin.GrantAdminConsent(context.Background(), f.native); err != nil {
		t.Fatal(err)
	}
	if got, e := refresh(resp.RefreshToken, "api://files/Files.Read"); e != nil || !strings.Contains(got.Scope, "Files.Read") {
		t.Errorf("refresh after admin consent: %v %+v", e, got)
	}
}
