package nodetest

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/test/harness"
)

// TestOpenIDClient runs openid-client v6 and v5 (the npm alias
// openid-client-v5) through the same flows, each against its own server.
func TestOpenIDClient(t *testing.T) {
	t.Parallel()
	for _, v := range []struct {
		name, script string
		ed25519      bool // the script signs an assertion with an Ed25519 key too
	}{
		{"v6", "openid-client-v6.mjs", true},
		{"v5", "openid-client-v5.mjs", false},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			requireNode(t)
			srv := startServer(t)
			dir := t.TempDir()

			// An API with an app role; one daemon authenticates with a secret,
			// another with a key whose public JWK is registered.
			files := srv.RegisterApp(t, "Files API", false)
			srv.CLI(t, "app", "expose", "--tenant", srv.Tenant, "--app", files.ClientID, "--app-id-uri", "api://files", "--role", "Files.ReadAll")
			daemon := srv.RegisterApp(t, "Daemon", false)
			keyed := srv.RegisterApp(t, "Keyed daemon", false)
			key := newJWKKey(t, dir, "interop-key-1")
			srv.CLI(t, "app", "certificate", "add", "--tenant", srv.Tenant, "--app", keyed.ClientID, "--file", key.PublicFile)
			daemons := []string{daemon.ClientID, keyed.ClientID}
			env := map[string]string{}
			// v6 only: a third daemon whose only key is Ed25519, which
			// oauth4webapi signs with alg "Ed25519" (RFC 9864).
			var edKeyed harness.App
			if v.ed25519 {
				edKeyed = srv.RegisterApp(t, "Ed25519 daemon", false)
				edKey := newEd25519JWKKey(t, dir, "interop-ed25519-1")
				srv.CLI(t, "app", "certificate", "add", "--tenant", srv.Tenant, "--app", edKeyed.ClientID, "--file", edKey.PublicFile)
				daemons = append(daemons, edKeyed.ClientID)
				env["ED25519_CLIENT_ID"], env["ED25519_PRIVATE_JWK"], env["ED25519_KID"] = edKeyed.ClientID, edKey.PrivateJWK, edKey.Kid
			}
			for _, d := range daemons {
				srv.CLI(t, "app", "permission", "add", "--tenant", srv.Tenant, "--app", d, "--resource", "api://files", "--role", "Files.ReadAll")
				srv.AdminConsent(t, d)
			}
			// A downstream API the web app may exchange its users' tokens for.
			downstream := srv.RegisterApp(t, "Downstream API", false)
			srv.Expose(t, downstream.ClientID, "api://downstream", "Data.Read")
			srv.Permission(t, srv.Demo.WebClientID, "api://downstream", "Data.Read")
			srv.AdminConsent(t, srv.Demo.WebClientID)

			issuer := srv.Authority() + "/v2.0"
			maps.Copy(env, map[string]string{
				"ISSUER":        issuer,
				"WEB_CLIENT_ID": srv.Demo.WebClientID, "WEB_CLIENT_SECRET": srv.Demo.WebSecret,
				"WEB_SCOPE":        "api://" + srv.Demo.WebClientID + "/access_as_user",
				"NATIVE_CLIENT_ID": srv.Demo.NativeClientID,
				"DAEMON_CLIENT_ID": daemon.ClientID, "DAEMON_CLIENT_SECRET": daemon.Secret,
				"KEY_CLIENT_ID": keyed.ClientID, "PRIVATE_JWK": key.PrivateJWK, "KID": key.Kid,
				"FILES_SCOPE": "api://files/.default", "DOWNSTREAM_AUDIENCE": "api://downstream",
			})
			rs, check := mustRun(t, srv, script{name: v.script, env: env})
			defer check()

			t.Run("Discovery", func(t *testing.T) {
				r := rs.step(t, "discovery")
				if r.str("issuer") != issuer || r.str("device_authorization_endpoint") != srv.Authority()+"/oauth2/v2.0/devicecode" {
					t.Errorf("metadata %v", r)
				}
			})
			userToken := func(t *testing.T, access result, clientID string) {
				t.Helper()
				if access.str("aud") != srv.Demo.WebClientID || access.str("scp") != "access_as_user" || access.str("azp") != clientID {
					t.Errorf("access token aud %q scp %q azp %q", access.str("aud"), access.str("scp"), access.str("azp"))
				}
			}
			idToken := func(t *testing.T, id result, clientID string) {
				t.Helper()
				if id.str("iss") != issuer || id.str("aud") != clientID || id.str("sub") == "" {
					t.Errorf("ID token iss %q aud %q sub %q", id.str("iss"), id.str("aud"), id.str("sub"))
				}
			}
			t.Run("AuthCodePKCENonce", func(t *testing.T) {
				r := rs.step(t, "authorization code + PKCE + nonce")
				if !strings.Contains(srv.Log(), "path=/"+srv.Tenant+"/discovery/v2.0/keys ") {
					t.Error("the client never fetched the JWKS, so it checked no signature")
				}
				id := r.obj("idToken")
				idToken(t, id, srv.Demo.WebClientID)
				if id.str("preferred_username") != srv.Demo.Username || id.str("at_hash") == "" || id.str("nonce") == "" {
					t.Errorf("ID token %v", id)
				}
				userToken(t, r.obj("access"), srv.Demo.WebClientID)
				if !strings.EqualFold(r.str("tokenType"), "bearer") {
					t.Errorf("token_type %q", r.str("tokenType"))
				}
			})
			t.Run("Refresh", func(t *testing.T) {
				r := rs.step(t, "refresh")
				idToken(t, r.obj("idToken"), srv.Demo.WebClientID)
				userToken(t, r.obj("access"), srv.Demo.WebClientID)
				if !r.boolean("rotated") {
					t.Error("the refresh token did not rotate")
				}
			})
			t.Run("UserInfo", func(t *testing.T) {
				r := rs.step(t, "userinfo")
				if info := r.obj("userinfo"); info.str("sub") == "" || info.str("preferred_username") != srv.Demo.Username {
					t.Errorf("userinfo %v", info)
				}
				if a := r.obj("access"); a.str("aud") != srv.Demo.WebClientID || a.str("scp") != "openid profile email" {
					t.Errorf("sign-in token aud %q scp %q", a.str("aud"), a.str("scp"))
				}
			})
			appToken := func(t *testing.T, r result, clientID string) {
				t.Helper()
				a := r.obj("access")
				if a.str("aud") != files.ClientID || a.str("azp") != clientID || !slices.Equal(a.strs("roles"), []string{"Files.ReadAll"}) || a.str("idtyp") != "app" {
					t.Errorf("app token aud %q azp %q roles %v idtyp %q", a.str("aud"), a.str("azp"), a.strs("roles"), a.str("idtyp"))
				}
			}
			t.Run("ClientCredentialsSecretBasic", func(t *testing.T) {
				appToken(t, rs.step(t, "client credentials client_secret_basic"), daemon.ClientID)
			})
			t.Run("ClientCredentialsPrivateKeyJWT", func(t *testing.T) {
				appToken(t, rs.step(t, "client credentials private_key_jwt"), keyed.ClientID)
			})
			if v.ed25519 {
				t.Run("ClientCredentialsPrivateKeyJWTEd25519", func(t *testing.T) {
					r := rs.step(t, "client credentials private_key_jwt Ed25519")
					// The assertion oauth4webapi signed and sent: the name under
					// test is RFC 9864's "Ed25519", which a server knowing only
					// "EdDSA" refuses.
					if h := r.obj("assertionHeader"); h.str("alg") != "Ed25519" || h.str("kid") != "interop-ed25519-1" {
						t.Errorf("client assertion header %v, want alg Ed25519 and kid interop-ed25519-1", h)
					}
					if a := r.obj("assertion"); a.str("iss") != edKeyed.ClientID || a.str("sub") != edKeyed.ClientID {
						t.Errorf("client assertion iss %q sub %q", a.str("iss"), a.str("sub"))
					}
					if algs := r.strs("signingAlgs"); !slices.Contains(algs, "Ed25519") || !slices.Contains(algs, "EdDSA") {
						t.Errorf("token_endpoint_auth_signing_alg_values_supported %v, want Ed25519 and EdDSA", algs)
					}
					appToken(t, r, edKeyed.ClientID)
				})
			}
			t.Run("DeviceAuthorization", func(t *testing.T) {
				r := rs.step(t, "device authorization")
				idToken(t, r.obj("idToken"), srv.Demo.NativeClientID)
				userToken(t, r.obj("access"), srv.Demo.NativeClientID)
				if !r.boolean("refresh") || r.str("verificationUri") != srv.Authority()+"/device" {
					t.Errorf("refresh token %v, verification_uri %q", r["refresh"], r.str("verificationUri"))
				}
			})
			t.Run("TokenExchange", func(t *testing.T) {
				r := rs.step(t, "token exchange")
				a, s := r.obj("access"), r.obj("subject")
				if a.str("aud") != downstream.ClientID || a.str("scp") != "Data.Read" || a.str("sub") != s.str("sub") || a.str("oid") != s.str("oid") {
					t.Errorf("exchanged token aud %q scp %q sub %q (subject's %q)", a.str("aud"), a.str("scp"), a.str("sub"), s.str("sub"))
				}
				act := a.obj("act")
				if act.str("client_id") != srv.Demo.WebClientID || act.str("sub") == "" {
					t.Errorf("act %v", act)
				}
				if r.str("issuedTokenType") != "urn:ietf:params:oauth:token-type:access_token" {
					t.Errorf("issued_token_type %q", r.str("issuedTokenType"))
				}
			})
		})
	}
}
