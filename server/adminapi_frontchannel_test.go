package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

// web.logoutUrl, Graph's front-channel logout URL: null until set, set
// and cleared by PATCH (null or ""), and a hostile value is refused with
// nothing written, neither to the app nor to the audit log.
func TestAdminAPIFrontChannelLogoutURL(t *testing.T) {
	e := newAPIEnv(t)
	ctx := t.Context()
	root := e.userToken(admin.Permissions()...)
	u, err := e.admin.User(ctx, e.tenant, e.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.AssignRole(ctx, u, admin.RoleGlobalAdministrator); err != nil {
		t.Fatal(err)
	}
	created := e.call("POST", "/applications", root, map[string]any{"displayName": "Front channel"})
	e.expect("create", created, http.StatusCreated, "")
	id := created.json(t)["appId"].(string)
	logoutURL := func(r apiResponse) any {
		t.Helper()
		web, ok := r.json(t)["web"].(map[string]any)
		if !ok {
			t.Fatalf("no web in %s", r.body)
		}
		v, present := web["logoutUrl"]
		if !present {
			t.Fatalf("web.logoutUrl missing from %s", r.body)
		}
		return v
	}
	if v := logoutURL(created); v != nil {
		t.Errorf("a new app's logoutUrl is %v, want null", v)
	}

	set := "https://front.example/logout?from=tessera"
	r := e.call("PATCH", "/applications/"+id, root, map[string]any{"web": map[string]any{"logoutUrl": set}})
	e.expect("set logoutUrl", r, http.StatusOK, "")
	if v := logoutURL(r); v != set {
		t.Errorf("PATCH answered logoutUrl %v, want %s", v, set)
	}
	if v := logoutURL(e.call("GET", "/applications/"+id, root, nil)); v != set {
		t.Errorf("GET after PATCH: logoutUrl %v, want %s", v, set)
	}

	for _, tc := range []struct {
		name string
		url  any
	}{
		{"javascript URL", "javascript:alert(document.cookie)"},
		{"http off loopback", "http://front.example/logout"},
		{"fragment", "https://front.example/logout#x"},
		{"oversized", "https://front.example/" + strings.Repeat("a", 2100)},
		{"custom scheme", "com.example.app:/logout"},
		{"not a string", 42},
		{"a list", []string{set}},
	} {
		audit, _ := e.store.ListAudit(ctx, e.tenant.ID, store.AuditQuery{Kind: store.AuditDirectory})
		r := e.call("PATCH", "/applications/"+id, root, map[string]any{"web": map[string]any{"logoutUrl": tc.url}})
		e.expect(tc.name, r, http.StatusBadRequest, "Request_BadRequest")
		audit2, _ := e.store.ListAudit(ctx, e.tenant.ID, store.AuditQuery{Kind: store.AuditDirectory})
		app, err := e.store.GetApp(ctx, e.tenant.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if app.FrontChannelLogoutURI != set || len(audit2) != len(audit) {
			t.Errorf("%s: refused, yet the app holds %q and audit entries went %d->%d", tc.name, app.FrontChannelLogoutURI, len(audit), len(audit2))
		}
	}

	// Leaving it out changes nothing; null and "" clear it.
	r = e.call("PATCH", "/applications/"+id, root, map[string]any{"web": map[string]any{"postLogoutRedirectUris": []string{"https://front.example/bye"}}})
	e.expect("other web field", r, http.StatusOK, "")
	if v := logoutURL(r); v != set {
		t.Errorf("a PATCH without logoutUrl left %v, want %s", v, set)
	}
	for _, clear := range []any{nil, ""} {
		r = e.call("PATCH", "/applications/"+id, root, map[string]any{"web": map[string]any{"logoutUrl": set}})
		e.expect("set again", r, http.StatusOK, "")
		r = e.call("PATCH", "/applications/"+id, root, map[string]any{"web": map[string]any{"logoutUrl": clear}})
		e.expect("clear", r, http.StatusOK, "")
		if v := logoutURL(r); v != nil {
			t.Errorf("logoutUrl %#v left %v, want null", clear, v)
		}
	}
}
