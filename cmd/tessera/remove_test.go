package main

import (
	"strings"
	"testing"
)

// What can be added can be taken away: redirect URIs, permissions, users
// and apps, each confirmed where it cannot be undone, each in the audit
// log; a user's password set from stdin and their sessions revoked.
func TestCLIRemoveAndDelete(t *testing.T) {
	dir := t.TempDir()
	runJSON(t, dir, "", "tenant", "create", "contoso")
	api := runJSON(t, dir, "", "app", "register", "--tenant", "contoso", "--name", "files")["client_id"].(string)
	runJSON(t, dir, "", "app", "expose", "--tenant", "contoso", "--app", api, "--scope", "Files.Read", "--role", "Files.ReadAll")
	web := runJSON(t, dir, "", "app", "register", "--tenant", "contoso", "--name", "web",
		"--redirect-uri", "http://localhost:8080", "--redirect-uri", "https://web.test/cb")["client_id"].(string)

	app := runJSON(t, dir, "", "app", "redirect-uri", "remove", "--tenant", "contoso", "--app", web, "--uri", "http://localhost:8080")
	if uris, _ := app["redirect_uris"].([]any); len(uris) != 1 || uris[0] != "https://web.test/cb" {
		t.Errorf("after removing a redirect URI: %v", app["redirect_uris"])
	}
	if _, err := run(t, dir, "", "app", "redirect-uri", "remove", "--tenant", "contoso", "--app", web, "--uri", "http://localhost:9999"); err == nil ||
		!strings.Contains(err.Error(), "has no redirect URI") {
		t.Errorf("removing a URI that is not registered: %v", err)
	}
	runJSON(t, dir, "", "app", "permission", "add", "--tenant", "contoso", "--app", web, "--resource", api, "--scope", "Files.Read", "--role", "Files.ReadAll")
	app = runJSON(t, dir, "", "app", "permission", "remove", "--tenant", "contoso", "--app", web, "--resource", api, "--role", "Files.ReadAll")
	if perms, _ := app["permissions"].([]any); len(perms) != 1 {
		t.Errorf("after removing a role: %v", app["permissions"])
	}

	runJSON(t, dir, "", "user", "create", "--tenant", "contoso", "--username", "bob")
	if _, err := run(t, dir, "a long uncommon one\n", "user", "set-password", "--tenant", "contoso", "bob"); err != nil {
		t.Errorf("set-password: %v", err)
	}
	if _, err := run(t, dir, "password\n", "user", "set-password", "--tenant", "contoso", "bob"); err == nil {
		t.Error("set-password took a common password")
	}
	if out := runJSON(t, dir, "", "user", "role", "add", "--tenant", "contoso", "bob", "--role", "application administrator"); out["role"] != "Application Administrator" {
		t.Errorf("user role add: %v", out)
	}
	if _, err := run(t, dir, "", "user", "role", "add", "--tenant", "contoso", "bob", "--role", "Emperor"); err == nil {
		t.Error("an unknown role was assigned")
	}
	runJSON(t, dir, "", "user", "role", "remove", "--tenant", "contoso", "bob", "--role", "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3")
	if _, err := run(t, dir, "", "user", "revoke-sessions", "--tenant", "contoso", "bob"); err != nil {
		t.Errorf("revoke-sessions: %v", err)
	}
	if _, err := run(t, dir, "", "user", "delete", "--tenant", "contoso", "bob"); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("user delete without --yes: %v", err)
	}
	runJSON(t, dir, "", "user", "delete", "--tenant", "contoso", "bob", "--yes")
	if _, err := run(t, dir, "", "user", "delete", "--tenant", "contoso", "bob", "--yes"); err == nil {
		t.Error("deleting a deleted user succeeded")
	}

	if _, err := run(t, dir, "", "app", "delete", "--tenant", "contoso", "--app", web); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("app delete without --yes: %v", err)
	}
	runJSON(t, dir, "", "app", "delete", "--tenant", "contoso", "--app", web, "--yes")
	if _, err := run(t, dir, "", "app", "show", "--tenant", "contoso", "--app", web); err == nil {
		t.Error("the deleted app is still shown")
	}

	log, err := run(t, dir, "", "audit", "list", "--tenant", "contoso")
	if err != nil {
		t.Fatal(err)
	}
	for _, activity := range []string{"Delete application", "Delete user", "Revoke sign-in sessions", "Reset user password", "Add member to role", "Remove member from role"} {
		if !strings.Contains(log, activity) {
			t.Errorf("the audit log lacks %q:\n%s", activity, log)
		}
	}
	if strings.Contains(log, "a long uncommon one") {
		t.Error("the audit log holds a password")
	}
}

// tenant delete needs --yes and removes everything of the tenant, and of
// no other.
func TestCLITenantDelete(t *testing.T) {
	dir := t.TempDir()
	runJSON(t, dir, "", "tenant", "create", "contoso")
	runJSON(t, dir, "", "tenant", "create", "fabrikam")
	runJSON(t, dir, "", "app", "register", "--tenant", "contoso", "--name", "web")
	if _, err := run(t, dir, "", "tenant", "delete", "contoso"); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("tenant delete without --yes: %v", err)
	}
	runJSON(t, dir, "", "tenant", "delete", "contoso", "--yes")
	if _, err := run(t, dir, "", "app", "list", "--tenant", "contoso"); err == nil {
		t.Error("the deleted tenant still lists apps")
	}
	out, err := run(t, dir, "", "tenant", "list")
	if err != nil || strings.Contains(out, "contoso") || !strings.Contains(out, "fabrikam") {
		t.Errorf("tenant list after delete (%v):\n%s", err, out)
	}
}
