package server_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/store"
)

// The consent page shows a scope's user consent display name and
// description, escaped, instead of the generic line.
func TestConsentPageShowsScopeTexts(t *testing.T) {
	e := newEnv(t)
	var err error
	if e.api, err = e.admin.ExposeScope(t.Context(), e.api, "Files.Read", store.ScopeDetail{
		UserConsentDisplayName: "Read your <files>", UserConsentDescription: `Lets the app open "your" files & folders.`}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	o := b.Login(b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "api://files/Files.Read openid", nil)), "alice@contoso.test", e.password)
	if o.Page != "consent" {
		t.Fatalf("no consent page: %d %q", o.Status, o.Page)
	}
	for _, want := range []string{"Read your &lt;files&gt;", "Lets the app open &#34;your&#34; files &amp; folders.", "<code>Files.Read</code>", "Sign you in"} {
		if !strings.Contains(o.Body, want) {
			t.Errorf("the consent page lacks %s:\n%s", want, o.Body)
		}
	}
	if strings.Contains(o.Body, "Access Files API as you (Files.Read)") || strings.Contains(o.Body, "<files>") {
		t.Errorf("the consent page shows the generic line or raw markup:\n%s", o.Body)
	}
}

// A scope only admins may grant: the user gets Entra's "Need admin
// approval" page without Accept, and its way back sends the browser to
// the client's redirect URI with access_denied saying an administrator
// must consent. On-behalf-of honours only an admin's consent to it too.
func TestAdminOnlyScopeOverHTTP(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	var err error
	if e.api, err = e.admin.ExposeScope(ctx, e.api, "Files.Write", store.ScopeDetail{Type: store.ConsentByAdmin,
		AdminConsentDisplayName: "Write all files", UserConsentDisplayName: "Write your files"}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	o := b.Login(b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "api://files/Files.Write openid", url.Values{"state": {"s-1"}})), "alice@contoso.test", e.password)
	if o.Page != "consent" || !strings.Contains(o.Body, "Need admin approval") || strings.Contains(o.Body, `value="accept"`) ||
		!strings.Contains(o.Body, "only an admin can grant") {
		t.Fatalf("the admin approval page: %d %q\n%s", o.Status, o.Page, o.Body)
	}
	back := b.Consent(o, "back")
	if back.Callback == nil || back.Callback.String()[:len(webRedirect)] != webRedirect || back.Params.Get("error") != "access_denied" ||
		!strings.Contains(back.Params.Get("error_description"), "administrator must grant consent") || back.Params.Get("state") != "s-1" {
		t.Fatalf("back to the app: %v %v", back.Callback, back.Params)
	}
	// Posting accept anyway grants nothing.
	o = b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "api://files/Files.Write openid", nil))
	if accepted := b.Consent(o, "accept"); accepted.Params.Get("error") != "access_denied" {
		t.Errorf("accept on the admin approval page: %v", accepted.Params)
	}
	if cs, err := e.store.ListConsents(ctx, e.tenant.ID, e.web.ClientID, e.user.ID); err != nil || len(cs) != 0 {
		t.Errorf("consents written: %v %v", cs, err)
	}

	// On-behalf-of: the middle tier's user consent to Files.Read counts
	// while users may consent to it, and not once only admins may.
	a, secret := e.middleTier(false)
	tokenA := e.userTokenFor("api://middle/user_impersonation openid profile offline_access")
	if err := e.store.AddConsents(ctx, []store.Consent{{TenantID: e.tenant.ID, ClientID: a.ClientID, PrincipalID: e.user.ID,
		ResourceID: e.api.ClientID, Kind: store.KindScope, Value: "Files.Read", CreatedAt: e.clock.Now()}}); err != nil {
		t.Fatal(err)
	}
	if status, resp := obo(e, a, secret, tokenA, "api://files/Files.Read"); status != 200 {
		t.Fatalf("OBO with the user's consent: %d %v", status, resp)
	}
	if e.api, err = e.admin.ExposeScope(ctx, e.api, "Files.Read", store.ScopeDetail{Type: store.ConsentByAdmin}); err != nil {
		t.Fatal(err)
	}
	for _, scope := range []string{"api://files/Files.Read", "api://files/.default"} {
		if status, resp := obo(e, a, secret, tokenA, scope); status != 400 || resp["suberror"] != "consent_required" {
			t.Errorf("OBO for %s, admins only, with the user's consent: %d %v", scope, status, resp)
		}
	}
	if _, err := e.admin.GrantAdminConsent(ctx, a); err != nil {
		t.Fatal(err)
	}
	if status, resp := obo(e, a, secret, tokenA, "api://files/Files.Read"); status != 200 {
		t.Errorf("OBO after admin consent: %d %v", status, resp)
	}
}
