package main

import (
	"encoding/json"
	"os/user"
	"strings"
	"testing"
)

// What the CLI changes is in the audit log, by the account that ran it,
// and `audit list` reads it back, filtered, as text or as Graph-shaped
// JSON, with no secret in it.
func TestCLIAuditList(t *testing.T) {
	dir := t.TempDir()
	runJSON(t, dir, "", "tenant", "create", "contoso")
	app := runJSON(t, dir, "", "app", "register", "--tenant", "contoso", "--name", "web", "--redirect-uri", "http://localhost:8080")
	clientID := app["client_id"].(string)
	secret := runJSON(t, dir, "", "app", "secret", "add", "--tenant", "contoso", "--app", clientID, "--description", "app secret", "--expires", "6mo")
	runJSON(t, dir, "", "user", "create", "--tenant", "contoso", "--username", "bob")

	out, err := run(t, dir, "", "audit", "list", "--tenant", "contoso", "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var entries []map[string]any
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("audit list printed no JSON array: %v\n%s", err, out)
	}
	var activities []string
	for _, e := range entries {
		activities = append(activities, e["activityDisplayName"].(string))
	}
	// The tenant comes with its admin API and the CLI's app, registrations
	// of its own, and the CLI's consent.
	want := []string{"Add user", "Update application – Certificates and secrets management", "Add application", "Consent to application",
		"Add application", "Add application", "Add tenant"}
	if strings.Join(activities, "|") != strings.Join(want, "|") {
		t.Errorf("activities, newest first: %q, want %q", activities, want)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if entries[0]["initiatedByType"] != "operator" || entries[0]["initiatedById"] != me.Username {
		t.Errorf("actor: %v %v, want the operator %s", entries[0]["initiatedByType"], entries[0]["initiatedById"], me.Username)
	}
	if value := secret["secret"].(string); strings.Contains(out, value) {
		t.Error("the audit log holds the client secret's value")
	}

	text, err := run(t, dir, "", "audit", "list", "--tenant", "contoso", "--target", clientID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Add application") || !strings.Contains(text, "redirectUris: [] -> [http://localhost:8080]") || strings.Contains(text, "Add user") {
		t.Errorf("audit list --target %s:\n%s", clientID, text)
	}
	if _, err := run(t, dir, "", "audit", "list", "--tenant", "contoso", "--limit", "0"); err == nil {
		t.Error("--limit 0 was accepted")
	}
}
