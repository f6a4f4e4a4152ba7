package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// remoteList runs a remote listing command in JSON and decodes its array.
func remoteList(t *testing.T, env []string, args ...string) []map[string]any {
	t.Helper()
	out, err := tessera(t, env, "", append(args, "--output", "json")...)
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("tessera %v printed no JSON array: %v\n%s", args, err, out)
	}
	return list
}

// TestRemoteCLIWithClientCredentials: an app granted the admin API's app
// roles administers the tenant over HTTP with `--server`, its secret in
// the environment: no data directory, no master key. --output json gives
// the API's objects; every change is audited as the app's; what only the
// operator does is refused; a token never reaches another tenant.
func TestRemoteCLIWithClientCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	srv := startServer(t, dataDir)
	server := srv.base + "/demo"

	// The operator registers the automation app on the store, as a
	// deployment's bootstrap would.
	auto := runJSON(t, dataDir, "", "app", "register", "--tenant", "demo", "--name", "Automation")["client_id"].(string)
	run(t, dataDir, "", "app", "permission", "add", "--app", auto, "--resource", "api://tessera-admin",
		"--role", "Application.ReadWrite.All", "--role", "User.ReadWrite.All", "--role", "AuditLog.Read.All")
	if _, err := run(t, dataDir, "", "app", "consent", "--app", auto); err != nil {
		t.Fatal(err)
	}
	secret := runJSON(t, dataDir, "", "app", "secret", "add", "--app", auto, "--description", "ci")["secret"].(string)
	settle()

	env, _ := clientEnv(t, dataDir)
	env = append(env, "TESSERA_SERVER="+server, "TESSERA_CLIENT_ID="+auto, "TESSERA_CLIENT_SECRET="+secret,
		"TESSERA_DATA_DIR="+filepath.Join(t.TempDir(), "no-such-dir"))

	created := tesseraJSON(t, env, "", "app", "register", "--name", "Remote web", "--redirect-uri", "https://web.test/cb", "-o", "json")
	appID, _ := created["appId"].(string)
	if appID == "" || created["displayName"] != "Remote web" || created["client_id"] != nil {
		t.Fatalf("app register --server printed %v, want the API's application", created)
	}
	if web := created["web"].(map[string]any)["redirectUris"].([]any); len(web) != 1 || web[0] != "https://web.test/cb" {
		t.Fatalf("web.redirectUris = %v", web)
	}
	text, err := tessera(t, env, "", "app", "redirect-uri", "add", "--app", appID, "--uri", "http://localhost:8080")
	if err != nil || !strings.Contains(text, "Redirect URIs:           https://web.test/cb, http://localhost:8080") {
		t.Fatalf("redirect-uri add: %v\n%s", err, text)
	}
	if text, err = tessera(t, env, "", "app", "redirect-uri", "remove", "--app", appID, "--uri", "https://web.test/cb"); err != nil ||
		!strings.Contains(text, "Redirect URIs:           http://localhost:8080") || strings.Contains(text, "web.test") {
		t.Fatalf("redirect-uri remove: %v\n%s", err, text)
	}
	spa := tesseraJSON(t, env, "", "app", "redirect-uri", "add", "--app", appID, "--platform", "spa", "--uri", "https://spa.test/", "-o", "json")
	if got := spa["spa"].(map[string]any)["redirectUris"].([]any); len(got) != 1 || got[0] != "https://spa.test/" ||
		len(spa["web"].(map[string]any)["redirectUris"].([]any)) != 1 {
		t.Fatalf("redirect-uri add --platform spa: %v %v", spa["spa"], spa["web"])
	}
	if text, err = tessera(t, env, "", "app", "redirect-uri", "remove", "--app", appID, "--uri", "https://spa.test/"); err != nil ||
		strings.Contains(text, "spa.test") {
		t.Fatalf("redirect-uri remove of a single-page URI: %v\n%s", err, text)
	}
	if flows := tesseraJSON(t, env, "", "app", "set", "--app", appID, "--allow-public-client-flows", "-o", "json"); flows["allowPublicClientFlows"] != true {
		t.Fatalf("app set --allow-public-client-flows --server: %v", flows["allowPublicClientFlows"])
	}
	fc := tesseraJSON(t, env, "", "app", "set", "--app", appID, "--front-channel-logout-url", "https://web.test/front-channel", "-o", "json")
	if fc["web"].(map[string]any)["logoutUrl"] != "https://web.test/front-channel" {
		t.Fatalf("app set --front-channel-logout-url --server printed %v", fc["web"])
	}
	if text, err = tessera(t, env, "", "app", "set", "--app", appID, "--front-channel-logout-url", ""); err != nil || strings.Contains(text, "Front-channel logout") {
		t.Fatalf("app set --front-channel-logout-url \"\" --server: %v\n%s", err, text)
	}
	pw := tesseraJSON(t, env, "", "app", "secret", "add", "--app", appID, "--description", "app secret", "--expires", "6mo", "-o", "json")
	value, _ := pw["secretText"].(string)
	if value == "" || pw["displayName"] != "app secret" || pw["keyId"] == "" {
		t.Fatalf("secret add --server printed %v", pw)
	}
	secrets := remoteList(t, env, "app", "secret", "list", "--app", appID)
	if len(secrets) != 1 || secrets[0]["secretText"] != nil || secrets[0]["hint"] != value[:3] {
		t.Fatalf("secret list --server = %v", secrets)
	}

	// The secret the remote CLI got works at the token endpoint.
	c := trustingClient(t, dataDir)
	status, tokens := postForm(t, c, server+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {appID},
		"client_secret": {value}, "scope": {"api://" + appID + "/.default"}}.Encode())
	if status != http.StatusOK || tokens["access_token"] == nil {
		t.Fatalf("client credentials with the remote secret: %d %v", status, tokens)
	}

	// Expose an API, need it from another app, consent for the tenant.
	if _, err := tessera(t, env, "", "app", "expose", "--app", appID, "--scope", "Files.Read", "--role", "Files.ReadAll"); err != nil {
		t.Fatal(err)
	}
	described := tesseraJSON(t, env, "", "app", "scope", "set", "--app", appID, "--scope", "Files.Read", "--admin-consent-only",
		"--user-consent-display-name", "Read your files", "-o", "json")
	scopes := described["api"].(map[string]any)["oauth2PermissionScopes"].([]any)
	if len(scopes) != 1 || scopes[0].(map[string]any)["type"] != "Admin" || scopes[0].(map[string]any)["userConsentDisplayName"] != "Read your files" {
		t.Fatalf("scope set --server: %v", scopes)
	}
	if _, err := tessera(t, env, "", "app", "expose", "--app", appID, "--scope", "Files.Write"); err != nil {
		t.Fatal(err)
	}
	less := tesseraJSON(t, env, "", "app", "unexpose", "--app", appID, "--scope", "Files.Write", "-o", "json")
	if got := less["api"].(map[string]any)["oauth2PermissionScopes"].([]any); len(got) != 1 || got[0].(map[string]any)["userConsentDisplayName"] != "Read your files" {
		t.Fatalf("unexpose --server kept %v", got)
	}
	client := tesseraJSON(t, env, "", "app", "register", "--name", "Remote daemon", "-o", "json")["appId"].(string)
	if _, err := tessera(t, env, "", "app", "permission", "add", "--app", client, "--resource", "api://"+appID, "--role", "Files.ReadAll"); err != nil {
		t.Fatal(err)
	}
	consent := tesseraJSON(t, env, "", "app", "consent", "--app", client, "-o", "json")
	if a := consent["appRoleAssignments"].([]any); len(a) != 1 || a[0].(map[string]any)["appRoleId"] != "Files.ReadAll" {
		t.Fatalf("consent --server = %v", consent)
	}
	listed := tesseraJSON(t, env, "", "app", "consent", "list", "--app", client, "-o", "json")
	if a := listed["appRoleAssignments"].([]any); len(a) != 1 || len(listed["oauth2PermissionGrants"].([]any)) != 1 {
		t.Fatalf("consent list --server = %v", listed)
	}
	if _, err := tessera(t, env, "", "app", "consent", "--app", client, "--revoke"); err != nil {
		t.Fatal(err)
	}

	// Users.
	user := tesseraJSON(t, env, "", "user", "create", "--username", "remote.user", "--name", "Remote User", "-o", "json")
	if user["userPrincipalName"] != "remote.user" || user["passwordProfile"] == nil {
		t.Fatalf("user create --server = %v", user)
	}
	if _, err := tessera(t, env, "", "user", "disable", "remote.user"); err != nil {
		t.Fatal(err)
	}
	if found := remoteList(t, env, "user", "list", "--search", "REMOTE"); len(found) != 1 || found[0]["userPrincipalName"] != "remote.user" {
		t.Fatalf("user list --search --server = %v", found)
	}
	users := remoteList(t, env, "user", "list")
	i := slices.IndexFunc(users, func(u map[string]any) bool { return u["userPrincipalName"] == "remote.user" })
	if i < 0 || users[i]["accountEnabled"] != false {
		t.Fatalf("user list --server = %v", users)
	}
	if _, err := tessera(t, env, "", "user", "delete", "remote.user", "--yes"); err != nil {
		t.Fatal(err)
	}

	// Every change is in the audit log as the app's.
	audit := remoteList(t, env, "audit", "list", "--actor", auto)
	var activities []string
	for _, e := range audit {
		activities = append(activities, e["activityDisplayName"].(string))
		if e["initiatedBy"].(map[string]any)["app"] == nil {
			t.Errorf("entry %v is not the app's", e)
		}
	}
	for _, want := range []string{"Add application", "Update application", "Update application – Certificates and secrets management",
		"Consent to application", "Add user", "Delete user"} {
		if !slices.Contains(activities, want) {
			t.Errorf("the audit log lacks %q: %v", want, activities)
		}
	}
	if strings.Contains(mustJSON(t, audit), value) {
		t.Error("the audit log holds the secret's value")
	}

	if _, err := tessera(t, env, "", "app", "delete", "--app", appID, "--yes"); err != nil {
		t.Fatal(err)
	}
	if _, err := tessera(t, env, "", "app", "show", "--app", appID); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("show of a deleted app: %v", err)
	}

	// What the server refuses, and what the CLI refuses before asking.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"tenant", "create", "other"}, "is the operator's"},
		{[]string{"tenant", "list"}, "is the operator's"},
		{[]string{"app", "list", "--tenant", "contoso"}, "administers tenant demo only"},
		{[]string{"user", "role", "add", "admin", "--role", "Global Administrator"}, "403"},
		{[]string{"keys", "rotate"}, "403"},
	} {
		if _, err := tessera(t, env, "", c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("tessera --server %v: %v, want %q", c.args, err, c.want)
		}
	}
	other := append(slices.Clone(env), "TESSERA_SERVER="+srv.base+"/nosuchtenant")
	if _, err := tessera(t, other, "", "app", "list"); err == nil {
		t.Error("the app's credentials worked against another tenant")
	}
}

// TestRemoteCLIAsAdministrator: `tessera login --server` signs the
// administrator in through the tenant's built-in CLI app; the admin
// commands then run as them, as far as their directory roles go.
func TestRemoteCLIAsAdministrator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	srv := startServer(t, dataDir)
	out := srv.stdout.String()
	adminName, adminPW := banner(out, "Administrator")[0], banner(out, "Administrator password")[0]
	demoUser, demoPW := banner(out, "Username")[0], banner(out, "Password")[0]
	server := srv.base + "/demo"
	web := trustingClient(t, dataDir)

	env, _ := clientEnv(t, dataDir)
	env = append(env, "TESSERA_DATA_DIR="+filepath.Join(t.TempDir(), "no-such-dir"))
	browserLogin(t, env, web, adminName, adminPW, "--server", server)

	env = append(env, "TESSERA_SERVER="+server)
	created := tesseraJSON(t, env, "", "app", "register", "--name", "By the admin", "--public", "--redirect-uri", "http://localhost", "-o", "json")
	if created["isFallbackPublicClient"] != true {
		t.Fatalf("register --public --server = %v", created)
	}
	apps := remoteList(t, env, "app", "list")
	if !slices.ContainsFunc(apps, func(a map[string]any) bool { return a["appId"] == created["appId"] }) {
		t.Fatalf("app list --server lacks the new app: %v", apps)
	}
	if _, err := tessera(t, env, "", "user", "role", "add", demoUser, "--role", "Reports Reader"); err != nil {
		t.Fatal(err)
	}
	audit := remoteList(t, env, "audit", "list", "--activity", "Add application")
	if len(audit) == 0 || audit[0]["initiatedBy"].(map[string]any)["user"].(map[string]any)["userPrincipalName"] != adminName {
		t.Fatalf("the registration is not the administrator's: %v", audit)
	}
	text, err := tessera(t, env, "", "app", "show", "--app", created["appId"].(string))
	if err != nil || !strings.Contains(text, "Application (client) ID: "+created["appId"].(string)) || !strings.Contains(text, "(public client)") {
		t.Fatalf("app show --server: %v\n%s", err, text)
	}

	// A user with only a reader's role signs in the same way and may read
	// the logs, but not register apps.
	readerEnv, _ := clientEnv(t, dataDir)
	browserLogin(t, readerEnv, web, demoUser, demoPW, "--server", server)
	readerEnv = append(readerEnv, "TESSERA_SERVER="+server)
	if _, err := tessera(t, readerEnv, "", "audit", "list"); err != nil {
		t.Fatalf("a Reports Reader reads the audit log: %v", err)
	}
	if _, err := tessera(t, readerEnv, "", "app", "register", "--name", "Not allowed"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a Reports Reader registered an app: %v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
