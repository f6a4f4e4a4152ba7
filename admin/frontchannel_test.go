package admin_test

import (
	"strings"
	"testing"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

// A front-channel logout URL is loaded in an iframe of the sign-out page,
// so it follows a web app's redirect URI rules; a refused one writes
// nothing, and every change is audited under Graph's name for it.
func TestFrontChannelLogoutURL(t *testing.T) {
	ctx := t.Context()
	a, ten := newAdmin(t)
	app, err := a.RegisterApp(ctx, ten, admin.RegisterOptions{Name: "Web", RedirectURIs: []string{"https://web.test/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	ptr := func(s string) *string { return &s }
	log := func() []store.AuditEntry {
		t.Helper()
		entries, err := a.AuditLog(ctx, ten, store.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return entries
	}

	for _, bad := range []struct{ uri, says string }{
		{"javascript:alert(1)", "forbidden scheme"},
		{"data:text/html,<script>alert(1)</script>", "forbidden scheme"},
		{"http://web.test/logout", "http is allowed only for localhost"},
		{"https://web.test/logout#frag", "fragment"},
		{"https://user:pw@web.test/logout", "user information"},
		{"/logout", "not an absolute URI"},
		{"com.example.app:/logout", "custom schemes"},
		{"http://[::1]:8080/logout", "DNS name or an IPv4"},
		{"https://a;script-src/logout", "DNS name or an IPv4"},
		{"https://web.test/" + strings.Repeat("a", 2048), "longer than"},
	} {
		before := len(log())
		_, err := a.Set(ctx, app, admin.AppSettings{FrontChannelLogoutURI: ptr(bad.uri)})
		wantInvalid(t, bad.uri, err, "front-channel logout URL", bad.says)
		got, err := a.App(ctx, ten, app.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		if got.FrontChannelLogoutURI != "" || len(log()) != before {
			t.Errorf("%q was refused but the app holds %q and the log grew", bad.uri, got.FrontChannelLogoutURI)
		}
	}

	for _, step := range []struct{ set, want, old string }{
		{" https://web.test/logout?tab=1 ", "https://web.test/logout?tab=1", ""},
		{"http://127.0.0.1:8080/logout", "http://127.0.0.1:8080/logout", "https://web.test/logout?tab=1"},
		{"http://localhost/logout", "http://localhost/logout", "http://127.0.0.1:8080/logout"},
		{"", "", "http://localhost/logout"},
	} {
		app, err = a.PatchApp(ctx, app, admin.AppPatch{FrontChannelLogoutURI: ptr(step.set)})
		if err != nil {
			t.Fatalf("%q: %v", step.set, err)
		}
		if app.FrontChannelLogoutURI != step.want {
			t.Errorf("set %q: the app holds %q, want %q", step.set, app.FrontChannelLogoutURI, step.want)
		}
		e := log()[0]
		want := store.AuditChange{Property: "logoutUrl", Old: step.old, New: step.want}
		if len(e.Changes) != 1 || e.Changes[0] != want {
			t.Errorf("set %q: audited %+v, want %+v", step.set, e.Changes, want)
		}
	}
}
