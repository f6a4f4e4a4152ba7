package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// run executes the CLI in-process against dataDir and returns stdout.
func run(t *testing.T, dataDir, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCommand(streams{in: strings.NewReader(stdin), out: &out, err: &errOut})
	cmd.SetArgs(append([]string{"--data-dir", dataDir}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

func runJSON(t *testing.T, dataDir, stdin string, args ...string) map[string]any {
	t.Helper()
	out, err := run(t, dataDir, stdin, append(args, "--output", "json")...)
	if err != nil {
		t.Fatalf("tessera %v: %v", args, err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("tessera %v printed no JSON object: %v\n%s", args, err, out)
	}
	return m
}

func TestCLIJSONKeys(t *testing.T) {
	dir := t.TempDir()
	tenant := runJSON(t, dir, "", "tenant", "create", "contoso")
	for _, k := range []string{"id", "name"} {
		if tenant[k] == nil || tenant[k] == "" {
			t.Errorf("tenant create JSON lacks %q: %v", k, tenant)
		}
	}
	app := runJSON(t, dir, "", "app", "register", "--tenant", "contoso", "--name", "web", "--redirect-uri", "http://localhost:8080")
	if app["client_id"] == "" || app["tenant_id"] != tenant["id"] {
		t.Errorf("app register JSON: %v", app)
	}
	clientID := app["client_id"].(string)
	secret := runJSON(t, dir, "", "app", "secret", "add", "--tenant", "contoso", "--app", clientID, "--description", "app secret", "--expires", "12mo")
	value, _ := secret["secret"].(string)
	if len(value) < 40 || secret["expires_at"] == nil {
		t.Errorf("secret add JSON: %v", secret)
	}
	expires, err := time.Parse(time.RFC3339, secret["expires_at"].(string))
	if err != nil || expires.Before(time.Now().AddDate(0, 11, 0)) || expires.After(time.Now().AddDate(0, 13, 0)) {
		t.Errorf("12mo expiry = %v (%v)", secret["expires_at"], err)
	}
	// The list shows description, hint and expiry, never the value.
	list, err := run(t, dir, "", "app", "secret", "list", "--tenant", "contoso", "--app", clientID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list, "app secret") || !strings.Contains(list, value[:3]+"…") || strings.Contains(list, value) {
		t.Errorf("secret list:\n%s", list)
	}
	user := runJSON(t, dir, "s3cret-password\n", "user", "create", "--tenant", "contoso", "--username", "alice", "--password-stdin", "--email", "alice@example.com", "--name", "Alice")
	if user["id"] == "" || user["username"] != "alice" || user["password"] != nil {
		t.Errorf("user create JSON: %v", user)
	}
	generated := runJSON(t, dir, "", "user", "create", "--tenant", "contoso", "--username", "bob")
	if pw, _ := generated["password"].(string); len(pw) < 16 {
		t.Errorf("generated password missing: %v", generated)
	}
	disabled := runJSON(t, dir, "", "user", "disable", "--tenant", "contoso", "alice")
	if disabled["disabled"] != true {
		t.Errorf("user disable: %v", disabled)
	}
	// Text output names the portal's fields.
	text, err := run(t, dir, "", "app", "register", "--tenant", "contoso", "--name", "api")
	if err != nil || !strings.Contains(text, "Application (client) ID:") || !strings.Contains(text, "Directory (tenant) ID:") {
		t.Errorf("app register text (%v):\n%s", err, text)
	}
}

func TestCLIAppConfiguration(t *testing.T) {
	dir := t.TempDir()
	runJSON(t, dir, "", "tenant", "create", "contoso", "--signing-alg", "ES256")
	api := runJSON(t, dir, "", "app", "register", "--tenant", "contoso", "--name", "files")["client_id"].(string)
	exposed := runJSON(t, dir, "", "app", "expose", "--tenant", "contoso", "--app", api, "--app-id-uri", "api://files", "--scope", "Files.Read", "--role", "Files.ReadAll")
	if exposed["identifier_uri"] != "api://files" {
		t.Errorf("expose: %v", exposed)
	}
	client := runJSON(t, dir, "", "app", "register", "--tenant", "contoso", "--name", "daemon")["client_id"].(string)
	perm := runJSON(t, dir, "", "app", "permission", "add", "--tenant", "contoso", "--app", client, "--resource", "api://files", "--role", "Files.ReadAll")
	if perms, _ := perm["permissions"].([]any); len(perms) != 1 {
		t.Errorf("permission add: %v", perm)
	}
	consent := runJSON(t, dir, "", "app", "consent", "--tenant", "contoso", "--app", client)
	if granted, _ := consent["granted"].([]any); len(granted) < 5 {
		t.Errorf("consent: %v", consent)
	}
	if found := runList(t, dir, "app", "list", "--tenant", "contoso", "--search", "DAE"); len(found) != 1 || found[0]["client_id"] != client {
		t.Errorf("app list --search: %v", found)
	}
	listed := runList(t, dir, "app", "consent", "list", "--app", client)
	role := slices.IndexFunc(listed, func(c map[string]any) bool { return c["kind"] == "role" && c["value"] == "Files.ReadAll" })
	if len(listed) != len(consent["granted"].([]any)) || role < 0 || listed[role]["principal_id"] != nil {
		t.Errorf("consent list: %v", listed)
	}
	set := runJSON(t, dir, "", "app", "set", "--tenant", "contoso", "--app", client, "--access-token-lifetime", "30m", "--refresh-token-lifetime", "90d")
	if set["access_token_lifetime"] != "30m0s" || set["refresh_token_lifetime"] != "2160h0m0s" {
		t.Errorf("set: %v", set)
	}

	// A scope's consent texts, and a platform beside Web.
	scoped := runJSON(t, dir, "", "app", "scope", "set", "--app", "api://files", "--scope", "Files.Read", "--admin-consent-only",
		"--admin-consent-display-name", "Read all files", "--user-consent-display-name", "Read your files")
	if d, _ := scoped["scope_details"].(map[string]any)["Files.Read"].(map[string]any); d["type"] != "Admin" || d["user_consent_display_name"] != "Read your files" {
		t.Errorf("scope set: %v", scoped["scope_details"])
	}
	out, err := run(t, dir, "", "app", "show", "--app", "api://files")
	if err != nil || !strings.Contains(out, "Files.Read (admins only)") {
		t.Errorf("app show after scope set: %v\n%s", err, out)
	}
	spa := runJSON(t, dir, "", "app", "redirect-uri", "add", "--app", client, "--platform", "spa", "--uri", "https://spa.contoso.test/")
	if got, _ := spa["spa_redirect_uris"].([]any); len(got) != 1 {
		t.Errorf("redirect-uri add --platform spa: %v", spa)
	}
	if _, err := run(t, dir, "", "app", "redirect-uri", "add", "--app", client, "--platform", "desktop", "--uri", "http://localhost"); err == nil {
		t.Error("an unknown platform was taken")
	}
	unexposed := runJSON(t, dir, "", "app", "unexpose", "--app", "api://files", "--scope", "Files.Read")
	if got, _ := unexposed["scopes"].([]any); len(got) != 0 || unexposed["scope_details"] != nil {
		t.Errorf("unexpose: %v %v", got, unexposed["scope_details"])
	}
	if _, err := run(t, dir, "", "app", "unexpose", "--app", "api://files", "--role", "Files.Nope"); err == nil {
		t.Error("unexposing a role the app does not expose passed")
	}
	runJSON(t, dir, "", "app", "set", "--app", client, "--post-logout-redirect-uri", "https://a.test/bye", "--post-logout-redirect-uri", "https://a.test/out")
	if left := runJSON(t, dir, "", "app", "set", "--app", client, "--remove-post-logout-redirect-uri", "https://a.test/bye"); len(left["post_logout_redirect_uris"].([]any)) != 1 {
		t.Errorf("set --remove-post-logout-redirect-uri: %v", left["post_logout_redirect_uris"])
	}
}

func TestCLIRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	runJSON(t, dir, "", "tenant", "create", "contoso")
	app := runJSON(t, dir, "", "app", "register", "--tenant", "contoso", "--name", "web")["client_id"].(string)
	public := runJSON(t, dir, "", "app", "register", "--tenant", "contoso", "--name", "cli", "--public")["client_id"].(string)
	for _, args := range [][]string{
		{"tenant", "create", "Bad Name"},
		{"tenant", "create", "contoso"},
		{"tenant", "create", "oauth2"},
		{"tenant", "create", "tokenville"},
		{"tenant", "create", "x", "--signing-alg", "HS256"},
		{"app", "register", "--tenant", "nosuch", "--name", "x"},
		{"app", "register", "--tenant", "contoso"},
		{"app", "register", "--tenant", "contoso", "--name", "x", "--redirect-uri", "http://example.com/cb"},
		{"app", "register", "--tenant", "contoso", "--name", "x", "--redirect-uri", "https://example.com/cb#frag"},
		{"app", "register", "--tenant", "contoso", "--name", "x", "--redirect-uri", "javascript:alert(1)"},
		{"app", "secret", "add", "--tenant", "contoso", "--app", app, "--expires", "yesterday"},
		{"app", "secret", "add", "--tenant", "contoso", "--app", app, "--expires", "2001-01-01"},
		{"app", "secret", "add", "--tenant", "contoso", "--app", public},
		{"app", "secret", "remove", "--tenant", "contoso", "--app", app, "--id", "nope"},
		{"app", "set", "--tenant", "contoso", "--app", app, "--access-token-lifetime", "forever"},
		{"app", "set", "--tenant", "contoso", "--app", app, "--access-token-lifetime", "1s"},
		{"app", "expose", "--tenant", "contoso", "--app", app, "--scope", "bad scope"},
		{"app", "permission", "add", "--tenant", "contoso", "--app", app, "--resource", app, "--scope", "missing"},
		{"user", "create", "--tenant", "contoso", "--username", "a b"},
		{"user", "create", "--tenant", "contoso", "--username", "short", "--password-stdin"},
		{"user", "disable", "--tenant", "contoso", "nobody"},
		{"tenant", "list", "--output", "yaml"},
	} {
		stdin := ""
		if args[len(args)-1] == "--password-stdin" {
			stdin = "short\n"
		}
		if _, err := run(t, dir, stdin, args...); err == nil {
			t.Errorf("tessera %s succeeded; want an error", strings.Join(args, " "))
		}
	}
}

func TestCLICertificates(t *testing.T) {
	dir := t.TempDir()
	runJSON(t, dir, "", "tenant", "create", "contoso")
	app := runJSON(t, dir, "", "app", "register", "--tenant", "contoso", "--name", "daemon")["client_id"].(string)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "daemon"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	added := runJSON(t, dir, "", "app", "certificate", "add", "--tenant", "contoso", "--app", app, "--file", file, "--description", "ci")
	sum := sha256.Sum256(der)
	sha1sum := sha1.Sum(der)
	if added["id"] != base64.RawURLEncoding.EncodeToString(sum[:]) || added["x5t"] != strings.ToUpper(hex.EncodeToString(sha1sum[:])) {
		t.Errorf("certificate add: %v", added)
	}
	if _, err := run(t, dir, "", "app", "certificate", "add", "--tenant", "contoso", "--app", app, "--file", file); err == nil {
		t.Error("the same certificate was registered twice")
	}
	list, err := run(t, dir, "", "app", "certificate", "list", "--tenant", "contoso", "--app", app)
	if err != nil || !strings.Contains(list, added["id"].(string)) {
		t.Errorf("certificate list (%v):\n%s", err, list)
	}
	runJSON(t, dir, "", "app", "certificate", "remove", "--tenant", "contoso", "--app", app, "--id", added["id"].(string))
	if _, err := run(t, dir, "", "app", "certificate", "remove", "--tenant", "contoso", "--app", app, "--id", added["id"].(string)); err == nil {
		t.Error("removing a removed certificate succeeded")
	}
	// A private key is not a credential to register.
	keyFile := filepath.Join(dir, "key.pem")
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	if _, err := run(t, dir, "", "app", "certificate", "add", "--tenant", "contoso", "--app", app, "--file", keyFile); err == nil {
		t.Error("a private key file was accepted")
	}

	set := runJSON(t, dir, "", "app", "set", "--tenant", "contoso", "--app", app, "--post-logout-redirect-uri", "https://app.example/bye", "--logout-keeps-refresh-tokens")
	if uris, _ := set["post_logout_redirect_uris"].([]any); len(uris) != 1 || set["logout_keeps_refresh_tokens"] != true {
		t.Errorf("app set logout settings: %v", set)
	}
	set = runJSON(t, dir, "", "app", "set", "--tenant", "contoso", "--app", app, "--front-channel-logout-url", "https://app.example/front-channel")
	if set["front_channel_logout_url"] != "https://app.example/front-channel" {
		t.Errorf("app set --front-channel-logout-url: %v", set)
	}
	if _, err := run(t, dir, "", "app", "set", "--tenant", "contoso", "--app", app, "--front-channel-logout-url", "http://app.example/front-channel"); err == nil {
		t.Error("a plain http front-channel logout URL off loopback was accepted")
	}
	if set = runJSON(t, dir, "", "app", "set", "--tenant", "contoso", "--app", app, "--front-channel-logout-url", ""); set["front_channel_logout_url"] != nil {
		t.Errorf("app set --front-channel-logout-url \"\": %v", set)
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "from-config")
	conf := filepath.Join(dir, "tessera.conf")
	if err := os.WriteFile(conf, []byte("# settings\nTESSERA_DATA_DIR="+dataDir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := newRootCommand(streams{in: strings.NewReader(""), out: &out, err: &out})
	cmd.SetArgs([]string{"--config", conf, "migrate"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "tessera.db")); err != nil {
		t.Fatalf("the data directory of the settings file was not used: %v", err)
	}
	// A flag overrides the file.
	other := filepath.Join(dir, "from-flag")
	cmd = newRootCommand(streams{in: strings.NewReader(""), out: &out, err: &out})
	cmd.SetArgs([]string{"--config", conf, "--data-dir", other, "migrate"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(other, "tessera.db")); err != nil {
		t.Fatalf("--data-dir did not override the settings file: %v", err)
	}
	bad := filepath.Join(dir, "bad.conf")
	_ = os.WriteFile(bad, []byte("TESSERA_NOPE=1\n"), 0o600)
	cmd = newRootCommand(streams{in: strings.NewReader(""), out: &out, err: &out})
	cmd.SetArgs([]string{"--config", bad, "tenant", "list"})
	if err := cmd.Execute(); err == nil {
		t.Error("an unknown setting was accepted")
	}
}

// user create refuses a password on the list of common passwords, or the
// username itself, in any case, and says why (NIST SP 800-63B §5.1.1.2).
func TestCLIUserCreateRefusesWeakPasswords(t *testing.T) {
	dir := t.TempDir()
	runJSON(t, dir, "", "tenant", "create", "contoso")
	for _, tc := range []struct{ username, password, says string }{
		{"alice", "password123", "This password is too common; choose another."},
		{"alice", "IloveYou", "This password is too common; choose another."},
		{"alice", "BASEBALL", "This password is too common; choose another."},
		{"alexandria", "Alexandria", "The password must not be the username."},
		{"bob@contoso.test", "BOB@contoso.test", "The password must not be the username."},
	} {
		_, err := run(t, dir, tc.password+"\n", "user", "create", "--tenant", "contoso", "--username", tc.username, "--password-stdin")
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("user %s with password %q: %v, want it refused saying %q", tc.username, tc.password, err, tc.says)
		}
	}
	if out, err := run(t, dir, "", "user", "list", "--tenant", "contoso"); err != nil || strings.Contains(out, "alice") || strings.Contains(out, "alexandria") {
		t.Errorf("a refused user was created (%v):\n%s", err, out)
	}
	// Neither rule stops an uncommon password, nor a generated one.
	runJSON(t, dir, "password for alice\n", "user", "create", "--tenant", "contoso", "--username", "alice", "--password-stdin")
	runJSON(t, dir, "", "user", "create", "--tenant", "contoso", "--username", "alexandria")
}
