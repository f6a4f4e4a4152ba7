package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

// Hostile requests to the admin API: each gets a precise 4xx in Graph's
// error shape, nothing is written (no app, user or audit entry appears),
// and the server goes on answering.
func TestAdminAPIHostileRequests(t *testing.T) {
	e := newAPIEnv(t)
	ctx := t.Context()
	u, err := e.admin.User(ctx, e.tenant, e.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.AssignRole(ctx, u, admin.RoleGlobalAdministrator); err != nil {
		t.Fatal(err)
	}
	e.web, err = e.admin.AddPermission(ctx, e.web, admin.AdminAPIIdentifier, admin.Permissions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	root := e.userToken(admin.Permissions()...)
	app := e.call("POST", "/applications", root, map[string]any{"displayName": "Target"}).json(t)
	id := app["appId"].(string)

	long := strings.Repeat("a", 70<<10)
	injection := `x'); DROP TABLE apps; --`
	script := `<script>alert(1)</script>`
	for _, tc := range []struct {
		name         string
		method, path string
		body         any
		status       int
		code         string
	}{
		{"body too large", "POST", "/applications", `{"displayName":"` + long + `"}`, http.StatusRequestEntityTooLarge, "Request_BadRequest"},
		{"not JSON", "POST", "/applications", `displayName=x`, http.StatusBadRequest, "Request_BadRequest"},
		{"empty body", "POST", "/applications", ``, http.StatusBadRequest, "Request_BadRequest"},
		{"JSON array", "POST", "/applications", `[{"displayName":"x"}]`, http.StatusBadRequest, "Request_BadRequest"},
		{"two objects", "POST", "/applications", `{"displayName":"x"}{"displayName":"y"}`, http.StatusBadRequest, "Request_BadRequest"},
		{"unknown field", "POST", "/applications", map[string]any{"displayName": "x", "owner": "me"}, http.StatusBadRequest, "Request_BadRequest"},
		{"wrong type", "POST", "/applications", map[string]any{"displayName": 42}, http.StatusBadRequest, "Request_BadRequest"},
		{"null name", "POST", "/applications", map[string]any{"displayName": nil}, http.StatusBadRequest, "Request_BadRequest"},
		{"empty name", "POST", "/applications", map[string]any{"displayName": "  "}, http.StatusBadRequest, "Request_BadRequest"},
		{"name too long", "POST", "/applications", map[string]any{"displayName": strings.Repeat("n", 121)}, http.StatusBadRequest, "Request_BadRequest"},
		{"right-to-left override in name", "POST", "/applications", map[string]any{"displayName": "Pay\u202eroll"}, http.StatusBadRequest, "Request_BadRequest"},
		{"NUL in name", "POST", "/applications", map[string]any{"displayName": "a\x00b"}, http.StatusBadRequest, "Request_BadRequest"},
		{"other audience", "POST", "/applications", map[string]any{"displayName": "x", "signInAudience": "AzureADMultipleOrgs"}, http.StatusBadRequest, "Request_BadRequest"},
		{"javascript redirect", "POST", "/applications", map[string]any{"displayName": "x", "web": map[string]any{"redirectUris": []string{"javascript:alert(1)"}}}, http.StatusBadRequest, "Request_BadRequest"},
		{"fragment in redirect", "POST", "/applications", map[string]any{"displayName": "x", "web": map[string]any{"redirectUris": []string{"https://a.test/cb#x"}}}, http.StatusBadRequest, "Request_BadRequest"},
		{"web redirect URIs on a public client", "POST", "/applications", map[string]any{"displayName": "x", "isFallbackPublicClient": true, "web": map[string]any{"redirectUris": []string{"https://a.test/cb"}}}, http.StatusBadRequest, "Request_BadRequest"},
		{"one URI on two platforms", "POST", "/applications", map[string]any{"displayName": "x", "web": map[string]any{"redirectUris": []string{"https://a.test/cb"}}, "spa": map[string]any{"redirectUris": []string{"https://a.test/cb"}}}, http.StatusBadRequest, "Request_BadRequest"},
		{"disabled new user", "POST", "/users", map[string]any{"userPrincipalName": "new@contoso.test", "accountEnabled": false}, http.StatusBadRequest, "Request_BadRequest"},
		{"duplicate user", "POST", "/users", map[string]any{"userPrincipalName": "ALICE@contoso.test"}, http.StatusBadRequest, "Request_BadRequest"},
		{"injection in username", "POST", "/users", map[string]any{"userPrincipalName": injection}, http.StatusBadRequest, "Request_BadRequest"},
		{"invisible character in username", "POST", "/users", map[string]any{"userPrincipalName": "ad\u200bmin@contoso.test"}, http.StatusBadRequest, "Request_BadRequest"},
		{"mixed scripts in username", "POST", "/users", map[string]any{"userPrincipalName": "d\u0435mo@contoso.test"}, http.StatusBadRequest, "Request_BadRequest"},
		{"common password", "POST", "/users", map[string]any{"userPrincipalName": "weak@contoso.test", "passwordProfile": map[string]any{"password": "password1"}}, http.StatusBadRequest, "Request_BadRequest"},
		{"mail that is not one", "POST", "/users", map[string]any{"userPrincipalName": "m@contoso.test", "mail": "not an address"}, http.StatusBadRequest, "Request_BadRequest"},
		{"two App ID URIs", "PATCH", "/applications/" + id, map[string]any{"identifierUris": []string{"api://a", "api://b"}}, http.StatusBadRequest, "Request_BadRequest"},
		{"reserved App ID URI", "PATCH", "/applications/" + id, map[string]any{"identifierUris": []string{admin.AdminAPIIdentifier}}, http.StatusBadRequest, "Request_BadRequest"},
		{"App ID URI of another app", "PATCH", "/applications/" + id, map[string]any{"identifierUris": []string{"api://files"}}, http.StatusBadRequest, "Request_BadRequest"},
		{"reserved scope name", "PATCH", "/applications/" + id, map[string]any{"api": map[string]any{"oauth2PermissionScopes": []any{map[string]any{"value": "openid"}}}}, http.StatusBadRequest, "Request_BadRequest"},
		{"injection in scope name", "PATCH", "/applications/" + id, map[string]any{"api": map[string]any{"oauth2PermissionScopes": []any{map[string]any{"value": injection}}}}, http.StatusBadRequest, "Request_BadRequest"},
		{"scope consent display name too long", "PATCH", "/applications/" + id, scopesBody(map[string]any{"value": "Target.Read", "userConsentDisplayName": strings.Repeat("n", 121)}), http.StatusBadRequest, "Request_BadRequest"},
		{"scope consent description too long", "POST", "/applications", map[string]any{"displayName": "x", "api": map[string]any{"oauth2PermissionScopes": []any{map[string]any{"value": "X.Read", "adminConsentDescription": strings.Repeat("d", 401)}}}}, http.StatusBadRequest, "Request_BadRequest"},
		{"line break in a scope description", "PATCH", "/applications/" + id, scopesBody(map[string]any{"value": "Target.Read", "userConsentDescription": "Read\nyour files"}), http.StatusBadRequest, "Request_BadRequest"},
		{"NUL in a scope display name", "PATCH", "/applications/" + id, scopesBody(map[string]any{"value": "Target.Read", "adminConsentDisplayName": "a\x00b"}), http.StatusBadRequest, "Request_BadRequest"},
		{"right-to-left override in a scope display name", "PATCH", "/applications/" + id, scopesBody(map[string]any{"value": "Target.Read", "userConsentDisplayName": "Read \u202eelif"}), http.StatusBadRequest, "Request_BadRequest"},
		{"scope anyone may consent to", "PATCH", "/applications/" + id, scopesBody(map[string]any{"value": "Target.Read", "type": "Everyone"}), http.StatusBadRequest, "Request_BadRequest"},
		{"scope type in lower case", "POST", "/applications", map[string]any{"displayName": "x", "api": map[string]any{"oauth2PermissionScopes": []any{map[string]any{"value": "X.Read", "type": "admin"}}}}, http.StatusBadRequest, "Request_BadRequest"},
		{"scope type not a string", "PATCH", "/applications/" + id, scopesBody(map[string]any{"value": "Target.Read", "type": 1}), http.StatusBadRequest, "Request_BadRequest"},
		{"permission on a missing app", "PATCH", "/applications/" + id, map[string]any{"requiredResourceAccess": []any{map[string]any{"resourceAppId": "00000000-0000-0000-0000-000000000000", "resourceAccess": []any{map[string]any{"id": "x", "type": "Scope"}}}}}, http.StatusNotFound, "Request_ResourceNotFound"},
		{"permission not exposed", "PATCH", "/applications/" + id, map[string]any{"requiredResourceAccess": []any{map[string]any{"resourceAppId": "api://files", "resourceAccess": []any{map[string]any{"id": "Files.Delete", "type": "Scope"}}}}}, http.StatusBadRequest, "Request_BadRequest"},
		{"permission of an odd type", "PATCH", "/applications/" + id, map[string]any{"requiredResourceAccess": []any{map[string]any{"resourceAppId": "api://files", "resourceAccess": []any{map[string]any{"id": "Files.Read", "type": "Admin"}}}}}, http.StatusBadRequest, "Request_BadRequest"},
		{"lifetime out of range", "PATCH", "/applications/" + id, map[string]any{"tokenLifetimes": map[string]any{"accessTokenSeconds": 60}}, http.StatusBadRequest, "Request_BadRequest"},
		{"negative lifetime", "PATCH", "/applications/" + id, map[string]any{"tokenLifetimes": map[string]any{"accessTokenSeconds": -1}}, http.StatusBadRequest, "Request_BadRequest"},
		{"a custom scheme as a single-page redirect", "PATCH", "/applications/" + id, map[string]any{"spa": map[string]any{"redirectUris": []string{"com.example.app://cb"}}}, http.StatusBadRequest, "Request_BadRequest"},
		{"http off the loopback as a single-page redirect", "PATCH", "/applications/" + id, map[string]any{"spa": map[string]any{"redirectUris": []string{"http://spa.example/cb"}}}, http.StatusBadRequest, "Request_BadRequest"},
		{"secret expired at birth", "POST", "/applications/" + id + "/addPassword", map[string]any{"passwordCredential": map[string]any{"endDateTime": "2001-01-01T00:00:00Z"}}, http.StatusBadRequest, "Request_BadRequest"},
		{"secret date that is not one", "POST", "/applications/" + id + "/addPassword", `{"passwordCredential":{"endDateTime":"tomorrow"}}`, http.StatusBadRequest, "Request_BadRequest"},
		{"key that is not a certificate", "POST", "/applications/" + id + "/addKey", map[string]any{"keyCredential": map[string]any{"type": "AsymmetricX509Cert", "key": "bm90IGEgY2VydA=="}}, http.StatusBadRequest, "Request_BadRequest"},
		{"private JWK", "POST", "/applications/" + id + "/addKey", map[string]any{"keyCredential": map[string]any{"type": "JsonWebKey", "key": `{"kty":"oct","k":"c2VjcmV0"}`}}, http.StatusBadRequest, "Request_BadRequest"},
		{"remove a secret never added", "POST", "/applications/" + id + "/removePassword", map[string]any{"keyId": injection}, http.StatusNotFound, "Request_ResourceNotFound"},
		{"remove without keyId", "POST", "/applications/" + id + "/removePassword", map[string]any{}, http.StatusBadRequest, "Request_BadRequest"},
		{"app that does not exist", "GET", "/applications/does-not-exist", nil, http.StatusNotFound, "Request_ResourceNotFound"},
		{"injection in an app id", "GET", "/applications/" + strings.ReplaceAll(injection, " ", "%20"), nil, http.StatusNotFound, "Request_ResourceNotFound"},
		{"user that does not exist", "DELETE", "/users/nobody@contoso.test", nil, http.StatusNotFound, "Request_ResourceNotFound"},
		{"role that does not exist", "POST", "/directoryRoles/Emperor/members/$ref", map[string]any{"@odata.id": "users/" + e.user.ID}, http.StatusNotFound, "Request_ResourceNotFound"},
		{"role for nobody", "POST", "/directoryRoles/" + admin.RoleReportsReader + "/members/$ref", map[string]any{"@odata.id": "users/"}, http.StatusBadRequest, "Request_BadRequest"},
		{"role held already", "POST", "/directoryRoles/" + admin.RoleGlobalAdministrator + "/members/$ref", map[string]any{"@odata.id": "users/" + e.user.ID}, http.StatusBadRequest, "Request_BadRequest"},
		{"the last Global Administrator leaves", "DELETE", "/directoryRoles/" + admin.RoleGlobalAdministrator + "/members/" + e.user.ID + "/$ref", nil, http.StatusBadRequest, "Request_BadRequest"},
		{"the last Global Administrator is deleted", "DELETE", "/users/" + e.user.ID, nil, http.StatusBadRequest, "Request_BadRequest"},
		{"the last Global Administrator is disabled", "PATCH", "/users/" + e.user.ID, map[string]any{"accountEnabled": false}, http.StatusBadRequest, "Request_BadRequest"},
		{"$top too large", "GET", "/applications?$top=100000", nil, http.StatusBadRequest, "Request_BadRequest"},
		{"$top not a number", "GET", "/users?$top=ten", nil, http.StatusBadRequest, "Request_BadRequest"},
		{"forged $skiptoken", "GET", "/auditLogs/directoryAudits?$skiptoken=not-ours", nil, http.StatusBadRequest, "Request_BadRequest"},
		{"unknown resource", "GET", "/servicePrincipals", nil, http.StatusNotFound, "Request_ResourceNotFound"},
		{"unknown method", "PUT", "/applications/" + id, map[string]any{"displayName": "x"}, http.StatusNotFound, "Request_ResourceNotFound"},
		{"path traversal", "GET", "/applications/..%2F..%2Fusers", nil, http.StatusNotFound, "Request_ResourceNotFound"},
	} {
		apps, _ := e.store.ListApps(ctx, e.tenant.ID)
		users, _ := e.store.ListUsers(ctx, e.tenant.ID)
		audit, _ := e.store.ListAudit(ctx, e.tenant.ID, store.AuditQuery{Kind: store.AuditDirectory})
		r := e.call(tc.method, tc.path, root, tc.body)
		e.expect(tc.name, r, tc.status, tc.code)
		if msg, _ := r.json(t)["error"].(map[string]any)["message"].(string); msg == "" || strings.Contains(msg, "sql") || strings.Contains(msg, "goroutine") {
			t.Errorf("%s: message %q", tc.name, msg)
		}
		apps2, _ := e.store.ListApps(ctx, e.tenant.ID)
		users2, _ := e.store.ListUsers(ctx, e.tenant.ID)
		audit2, _ := e.store.ListAudit(ctx, e.tenant.ID, store.AuditQuery{Kind: store.AuditDirectory})
		if len(apps2) != len(apps) || len(users2) != len(users) || len(audit2) != len(audit) {
			t.Errorf("%s: refused, yet apps %d->%d, users %d->%d, audit entries %d->%d", tc.name,
				len(apps), len(apps2), len(users), len(users2), len(audit), len(audit2))
		}
	}
	// Markup is data: kept as given and sent back as JSON text, for pages
	// to escape when they show it.
	r := e.call("POST", "/applications", root, map[string]any{"displayName": script})
	e.expect("markup in a name", r, http.StatusCreated, "")
	if r.json(t)["displayName"] != script || strings.Contains(string(r.body), "<script>") {
		t.Errorf("markup in a name: %s", r.body)
	}
	// The target app is as it was.
	got := e.call("GET", "/applications/"+id, root, nil).json(t)
	if got["displayName"] != "Target" || fmt.Sprint(got["identifierUris"]) != fmt.Sprint(app["identifierUris"]) || len(got["passwordCredentials"].([]any)) != 0 ||
		len(got["api"].(map[string]any)["oauth2PermissionScopes"].([]any)) != 0 {
		t.Errorf("the target app changed: %v", got)
	}
}

// Users over the API: created with a generated password shown once,
// renamed, disabled (its tokens end), given a new password, signed out
// everywhere and deleted; a User Administrator cannot touch a Global
// Administrator.
func TestAdminAPIUsers(t *testing.T) {
	e := newAPIEnv(t)
	ctx := t.Context()
	alice, err := e.admin.User(ctx, e.tenant, e.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.AssignRole(ctx, alice, admin.RoleUserAdministrator); err != nil {
		t.Fatal(err)
	}
	e.web, err = e.admin.AddPermission(ctx, e.web, admin.AdminAPIIdentifier, []string{admin.PermUserReadWrite}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := e.userToken(admin.PermUserReadWrite)

	r := e.call("POST", "/users", tok, map[string]any{"userPrincipalName": "Bob@Contoso.test", "displayName": "Bob"})
	e.expect("create", r, http.StatusCreated, "")
	bob := r.json(t)
	pw, _ := bob["passwordProfile"].(map[string]any)["password"].(string)
	if len(pw) < 16 || bob["userPrincipalName"] != "bob@contoso.test" || bob["mail"] != nil {
		t.Fatalf("create: %v", bob)
	}
	id := bob["id"].(string)
	r = e.call("GET", "/users/"+id, tok, nil)
	if strings.Contains(string(r.body), pw) || strings.Contains(string(r.body), "passwordProfile") {
		t.Error("the generated password is shown again")
	}
	tag := r.header.Get("ETag")
	r = e.call("PATCH", "/users/"+id, tok, map[string]any{"displayName": "Robert", "mail": "bob@contoso.test"}, "If-Match", tag)
	e.expect("rename", r, http.StatusOK, "")
	if u := r.json(t); u["displayName"] != "Robert" || u["mail"] != "bob@contoso.test" {
		t.Errorf("rename: %v", u)
	}
	e.expect("stale rename", e.call("PATCH", "/users/"+id, tok, map[string]any{"displayName": "Bobby"}, "If-Match", tag), http.StatusPreconditionFailed, "Request_PreconditionFailed")
	e.expect("new password", e.call("PATCH", "/users/"+id, tok, map[string]any{"passwordProfile": map[string]any{"password": "a brand new long one"}}), http.StatusOK, "")
	e.expect("disable", e.call("PATCH", "/users/"+id, tok, map[string]any{"accountEnabled": false}), http.StatusOK, "")
	e.expect("revoke sessions", e.call("POST", "/users/"+id+"/revokeSignInSessions", tok, nil), http.StatusOK, "")
	e.expect("reset authentication methods", e.call("POST", "/users/"+id+"/resetAuthenticationMethods", tok, nil), http.StatusOK, "")
	if list := e.call("GET", "/users?$search=robert", tok, nil).json(t)["value"].([]any); len(list) != 1 {
		t.Errorf("$search=robert found %d users", len(list))
	}

	// A Global Administrator is out of a User Administrator's reach.
	carol, _, err := e.admin.CreateUser(ctx, e.tenant, admin.UserOptions{Username: "carol@contoso.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.AssignRole(ctx, carol, admin.RoleGlobalAdministrator); err != nil {
		t.Fatal(err)
	}
	e.expect("reset a Global Administrator's password", e.call("PATCH", "/users/"+carol.ID, tok, map[string]any{"passwordProfile": map[string]any{"password": "taken over now"}}),
		http.StatusForbidden, "Authorization_RequestDenied")
	e.expect("delete a Global Administrator", e.call("DELETE", "/users/"+carol.ID, tok, nil), http.StatusForbidden, "Authorization_RequestDenied")
	e.expect("reset a Global Administrator's factors", e.call("POST", "/users/"+carol.ID+"/resetAuthenticationMethods", tok, nil), http.StatusForbidden, "Authorization_RequestDenied")
	if members := e.call("GET", "/directoryRoles/62e90394-69f5-4237-9190-012177145e10/members", tok, nil).json(t)["value"].([]any); len(members) != 1 {
		t.Errorf("Global Administrator members: %v", members)
	}

	e.expect("delete", e.call("DELETE", "/users/"+id, tok, nil), http.StatusNoContent, "")
	e.expect("read deleted", e.call("GET", "/users/"+id, tok, nil), http.StatusNotFound, "Request_ResourceNotFound")

	var activities []string
	entries, err := e.admin.AuditLog(ctx, e.tenant, store.AuditQuery{TargetID: id})
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		activities = append(activities, en.Activity)
	}
	want := []string{"Delete user", "Reset user authentication methods", "Revoke sign-in sessions", "Disable account", "Reset user password", "Update user", "Add user"}
	if strings.Join(activities, "|") != strings.Join(want, "|") {
		t.Errorf("bob's audit log: %q, want %q", activities, want)
	}
}

// scopesBody is a PATCH body that sets the app's one exposed scope.
func scopesBody(scope map[string]any) map[string]any {
	return map[string]any{"api": map[string]any{"oauth2PermissionScopes": []any{scope}}}
}
