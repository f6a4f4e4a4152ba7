package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeAppCertificate writes a self-signed certificate to dir/cert.pem.
func writeAppCertificate(t *testing.T, dir string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "daemon"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestCLIAppWithoutTenant: issue 3's line, `tessera app certificate add
// --app ID --file cert.pem`, works as written: an app command finds the
// app by its client id in whichever tenant holds it.
func TestCLIAppWithoutTenant(t *testing.T) {
	dir := t.TempDir()
	runJSON(t, dir, "", "tenant", "create", "contoso")
	runJSON(t, dir, "", "tenant", "create", "fabrikam")
	id := runJSON(t, dir, "", "app", "register", "--tenant", "fabrikam", "--name", "daemon")["client_id"].(string)
	file := writeAppCertificate(t, dir)

	out, err := run(t, dir, "", "app", "certificate", "add", "--app", id, "--file", file)
	if err != nil || !strings.Contains(out, "Credential added.") {
		t.Fatalf("tessera app certificate add --app ID --file cert.pem: %v\n%s", err, out)
	}
	list, err := run(t, dir, "", "app", "certificate", "list", "--tenant", "fabrikam", "--app", id, "--output", "json")
	var creds []map[string]any
	if err != nil || json.Unmarshal([]byte(list), &creds) != nil || len(creds) != 1 || creds[0]["kind"] != "certificate" {
		t.Fatalf("the certificate is not registered on the app in fabrikam (%v):\n%s", err, list)
	}

	// Every command that names an app resolves it the same way.
	if shown := runJSON(t, dir, "", "app", "show", "--app", id); shown["client_id"] != id || shown["name"] != "daemon" {
		t.Errorf("app show --app ID: %v", shown)
	}
	runJSON(t, dir, "", "app", "expose", "--app", id, "--app-id-uri", "api://files", "--scope", "Files.Read")
	if shown := runJSON(t, dir, "", "app", "show", "--app", "api://files"); shown["client_id"] != id {
		t.Errorf("app show --app by a unique App ID URI: %v", shown)
	}
	runJSON(t, dir, "", "user", "create", "--tenant", "fabrikam", "--username", "alice")
	if r := runJSON(t, dir, "", "app", "consent", "--app", id, "--revoke", "--user", "alice"); r["status"] != "revoked" {
		t.Errorf("consent --revoke --user without --tenant: %v", r)
	}

	// Where the app cannot be told apart, or is nowhere, a clear error.
	other := runJSON(t, dir, "", "app", "register", "--tenant", "contoso", "--name", "files")["client_id"].(string)
	runJSON(t, dir, "", "app", "expose", "--app", other, "--app-id-uri", "api://files")
	if _, err := run(t, dir, "", "app", "show", "--app", "api://files"); err == nil || !strings.Contains(err.Error(), "several tenants") || !strings.Contains(err.Error(), "--tenant") {
		t.Errorf("an App ID URI of two tenants: %v", err)
	}
	if shown := runJSON(t, dir, "", "app", "show", "--tenant", "contoso", "--app", "api://files"); shown["client_id"] != other {
		t.Errorf("--tenant settles it: %v", shown)
	}
	if _, err := run(t, dir, "", "app", "show", "--app", "00000000-0000-4000-8000-000000000000"); err == nil || !strings.Contains(err.Error(), "no app") {
		t.Errorf("an unknown app: %v", err)
	}
	if _, err := run(t, dir, "", "app", "show"); err == nil || !strings.Contains(err.Error(), "app") {
		t.Errorf("no --app at all: %v", err)
	}
}

// TestCLIShortAccessTokenLifetime: 5 minutes stays the shortest lifetime
// (tests force MSAL to refresh with it), with a warning on stderr that
// keeps --output json clean; shorter is refused.
func TestCLIShortAccessTokenLifetime(t *testing.T) {
	dir := t.TempDir()
	runJSON(t, dir, "", "tenant", "create", "contoso")
	id := runJSON(t, dir, "", "app", "register", "--tenant", "contoso", "--name", "web")["client_id"].(string)
	set := func(lifetime string) (map[string]any, string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		cmd := newRootCommand(streams{in: strings.NewReader(""), out: &out, err: &errOut})
		cmd.SetArgs([]string{"--data-dir", dir, "app", "set", "--app", id, "--access-token-lifetime", lifetime, "--output", "json"})
		err := cmd.ExecuteContext(t.Context())
		var m map[string]any
		if err == nil {
			if jerr := json.Unmarshal(out.Bytes(), &m); jerr != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", jerr, out.String())
			}
		}
		return m, errOut.String(), err
	}
	m, warning, err := set("5m")
	if err != nil || m["access_token_lifetime"] != "5m0s" || !strings.Contains(warning, "warning") || !strings.Contains(warning, "refresh") {
		t.Errorf("5m: %v %v, stderr %q", err, m, warning)
	}
	if m, warning, err := set("30m"); err != nil || m["access_token_lifetime"] != "30m0s" || warning != "" {
		t.Errorf("30m: %v %v, stderr %q", err, m, warning)
	}
	if _, _, err := set("4m"); err == nil {
		t.Error("4m was accepted")
	}
}
