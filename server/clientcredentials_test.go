package server_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"
)

func TestClientCredentials(t *testing.T) {
	e := newEnv(t)
	basic := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(e.daemon.ClientID)+":"+url.QueryEscape(e.daemonPW)))}}
	for name, send := range map[string]func() (int, map[string]any, http.Header){
		"post": func() (int, map[string]any, http.Header) {
			return e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "client_secret": {e.daemonPW}, "scope": {"api://files/.default"}})
		},
		"basic": func() (int, map[string]any, http.Header) {
			return e.postRaw(e.tokenURL(), "application/x-www-form-urlencoded", "grant_type=client_credentials&scope=api%3A%2F%2Ffiles%2F.default", basic)
		},
		// MSAL Go appends the OpenID scopes to every request; Entra ID
		// ignores them for client credentials, and so does Tessera.
		"msal go scopes": func() (int, map[string]any, http.Header) {
			return e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "client_secret": {e.daemonPW}, "scope": {"api://files/.default openid offline_access profile"}})
		},
	} {
		t.Run(name, func(t *testing.T) {
			status, resp, _ := send()
			if status != http.StatusOK {
				t.Fatalf("%d %v", status, resp)
			}
			if _, ok := resp["refresh_token"]; ok {
				t.Error("client credentials returned a refresh token")
			}
			if _, ok := resp["id_token"]; ok {
				t.Error("client credentials returned an ID token")
			}
			if resp["scope"] != "api://files/.default" {
				t.Errorf("scope = %v", resp["scope"])
			}
			_, claims := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID)
			roles, _ := claims["roles"].([]any)
			if len(roles) != 1 || roles[0] != "Files.ReadAll" {
				t.Errorf("roles = %v", claims["roles"])
			}
			if claims["sub"] != e.daemon.ServicePrincipalID || claims["oid"] != e.daemon.ServicePrincipalID || claims["idtyp"] != "app" {
				t.Errorf("app identity claims: %v", claims)
			}
		})
	}
	// A role permission configured but not granted by an admin: a token
	// without roles, as Entra answers.
	if _, err := e.admin.AddPermission(t.Context(), e.web, "api://files", nil, []string{"Files.ReadAll"}); err != nil {
		t.Fatal(err)
	}
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.web.ClientID}, "client_secret": {e.secret}, "scope": {e.api.ClientID + "/.default"}})
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, resp)
	}
	if _, claims := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID); claims["roles"] != nil {
		t.Errorf("unconsented roles: %v", claims["roles"])
	}
}
