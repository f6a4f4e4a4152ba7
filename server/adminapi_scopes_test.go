package server_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/tessera-id/tessera/store"
)

// An app's scopes over the API in Graph's permissionScope shape: who may
// consent and the consent texts, given on POST, replaced by PATCH, kept
// as given (markup included) and read back; a scope without them reads
// as type User with empty texts.
func TestAdminAPIScopeDetails(t *testing.T) {
	e := newAPIEnv(t)
	read := map[string]any{"value": "Orders.Read", "type": "Admin",
		"adminConsentDisplayName": "Read all orders", "adminConsentDescription": "Lets the app read every order.",
		"userConsentDisplayName": "Read your <orders>", "userConsentDescription": "Lets the app read the orders you placed."}
	r := e.call("POST", "/applications", e.robot, map[string]any{"displayName": "Orders API",
		"api": map[string]any{"oauth2PermissionScopes": []any{read, map[string]any{"value": "Orders.List"}}}})
	e.expect("register with scopes", r, http.StatusCreated, "")
	id := r.json(t)["appId"].(string)
	want := []any{
		map[string]any{"id": "Orders.Read", "isEnabled": true, "value": "Orders.Read", "type": "Admin",
			"adminConsentDisplayName": "Read all orders", "adminConsentDescription": "Lets the app read every order.",
			"userConsentDisplayName": "Read your <orders>", "userConsentDescription": "Lets the app read the orders you placed."},
		map[string]any{"id": "Orders.List", "isEnabled": true, "value": "Orders.List", "type": "User",
			"adminConsentDisplayName": "", "adminConsentDescription": "", "userConsentDisplayName": "", "userConsentDescription": ""},
	}
	scopes := func(r apiResponse) any { return r.json(t)["api"].(map[string]any)["oauth2PermissionScopes"] }
	if got := scopes(r); !reflect.DeepEqual(got, want) {
		t.Errorf("registered scopes:\n%v\nwant\n%v", got, want)
	}
	if got := scopes(e.call("GET", "/applications/"+id, e.robot, nil)); !reflect.DeepEqual(got, want) {
		t.Errorf("read back:\n%v\nwant\n%v", got, want)
	}

	// PATCH replaces the list: Orders.Read goes, with what it said;
	// Orders.List says who may consent now.
	r = e.call("PATCH", "/applications/"+id, e.robot, map[string]any{"api": map[string]any{"oauth2PermissionScopes": []any{
		map[string]any{"value": "Orders.List", "type": "User", "userConsentDisplayName": "List your orders"}}}})
	e.expect("patch scopes", r, http.StatusOK, "")
	want = []any{map[string]any{"id": "Orders.List", "isEnabled": true, "value": "Orders.List", "type": "User",
		"adminConsentDisplayName": "", "adminConsentDescription": "", "userConsentDisplayName": "List your orders", "userConsentDescription": ""}}
	if got := scopes(r); !reflect.DeepEqual(got, want) {
		t.Errorf("patched scopes:\n%v\nwant\n%v", got, want)
	}
	app, err := e.store.GetApp(t.Context(), e.tenant.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if wantDetails := map[string]store.ScopeDetail{"Orders.List": {Type: store.ConsentByUser, UserConsentDisplayName: "List your orders"}}; !reflect.DeepEqual(app.ScopeDetails, wantDetails) {
		t.Errorf("stored details %v, want %v", app.ScopeDetails, wantDetails)
	}
}
