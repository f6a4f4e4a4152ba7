package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIGroupsAndAppRoles: groups, members and role assignments on the
// operator's store, then the same commands through the admin API
// (--server) with an app's credentials.
func TestCLIGroupsAndAppRoles(t *testing.T) {
	dir := t.TempDir()
	runJSON(t, dir, "", "tenant", "create", "contoso")
	api := runJSON(t, dir, "", "app", "register", "--tenant", "contoso", "--name", "files")["client_id"].(string)
	runJSON(t, dir, "", "app", "expose", "--tenant", "contoso", "--app", api, "--app-id-uri", "api://files", "--scope", "Files.Read", "--role", "Files.Admin")
	runJSON(t, dir, "", "user", "create", "--tenant", "contoso", "--username", "alice@contoso.test")
	eng := runJSON(t, dir, "", "group", "create", "--tenant", "contoso", "--name", "Engineering", "--description", "Builders")["id"].(string)
	runJSON(t, dir, "", "group", "create", "--tenant", "contoso", "--name", "Staff")
	runJSON(t, dir, "", "group", "member", "add", "--tenant", "contoso", "--group", "Engineering", "--user", "alice@contoso.test")
	runJSON(t, dir, "", "group", "member", "add", "--tenant", "contoso", "--group", "Staff", "--member-group", eng)
	if _, err := run(t, dir, "", "group", "member", "add", "--tenant", "contoso", "--group", "Engineering", "--member-group", "Staff"); err == nil {
		t.Error("a second level of nesting was accepted")
	}
	shown := runJSON(t, dir, "", "group", "show", "--tenant", "contoso", "--group", "Staff")
	if m, _ := shown["members"].([]any); len(m) != 1 || m[0].(map[string]any)["id"] != eng {
		t.Errorf("group show: %v", shown)
	}
	runJSON(t, dir, "", "app", "role", "assign", "--app", "api://files", "--role", "Files.Admin", "--member-group", "Staff")
	runJSON(t, dir, "", "app", "set", "--app", api, "--assignment-required", "--groups-claim", "SecurityGroup")
	app := runJSON(t, dir, "", "app", "show", "--app", api)
	if app["assignment_required"] != true || app["groups_claim"] != "SecurityGroup" {
		t.Errorf("app show: %v", app)
	}
	if out, _ := run(t, dir, "", "app", "role", "list", "--app", api); !strings.Contains(out, "Files.Admin") || !strings.Contains(out, "Staff") {
		t.Errorf("app role list:\n%s", out)
	}
	runJSON(t, dir, "", "app", "role", "unassign", "--app", api, "--role", "Files.Admin", "--member-group", "Staff")
	runJSON(t, dir, "", "group", "member", "remove", "--tenant", "contoso", "--group", "Staff", "--member-group", eng)
	runJSON(t, dir, "", "group", "delete", "--tenant", "contoso", "--group", "Staff")
	if list := runList(t, dir, "group", "list", "--tenant", "contoso"); len(list) != 1 {
		t.Errorf("group list: %v", list)
	}
	if out, _ := run(t, dir, "", "audit", "list", "--tenant", "contoso"); !strings.Contains(out, "Add member to group") {
		t.Errorf("audit log has no group change:\n%s", out)
	}

	if testing.Short() {
		return
	}
	// Through the admin API, as an automation app.
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	srv := startServer(t, dataDir)
	auto := runJSON(t, dataDir, "", "app", "register", "--tenant", "demo", "--name", "Automation")["client_id"].(string)
	run(t, dataDir, "", "app", "permission", "add", "--app", auto, "--resource", "api://tessera-admin",
		"--role", "Application.ReadWrite.All", "--role", "User.ReadWrite.All", "--role", "Group.ReadWrite.All")
	if _, err := run(t, dataDir, "", "app", "consent", "--app", auto); err != nil {
		t.Fatal(err)
	}
	secret := runJSON(t, dataDir, "", "app", "secret", "add", "--app", auto, "--description", "ci")["secret"].(string)
	files := runJSON(t, dataDir, "", "app", "register", "--tenant", "demo", "--name", "files")["client_id"].(string)
	runJSON(t, dataDir, "", "app", "expose", "--app", files, "--role", "Files.Admin")
	runJSON(t, dataDir, "", "user", "create", "--tenant", "demo", "--username", "bob@demo.test")
	settle()
	env, _ := clientEnv(t, dataDir)
	env = append(env, "TESSERA_SERVER="+srv.base+"/demo", "TESSERA_CLIENT_ID="+auto, "TESSERA_CLIENT_SECRET="+secret,
		"TESSERA_DATA_DIR="+filepath.Join(t.TempDir(), "no-such-dir"))
	g := tesseraJSON(t, env, "", "group", "create", "--name", "Remote group", "-o", "json")
	gid, _ := g["id"].(string)
	if gid == "" || g["securityEnabled"] != true {
		t.Fatalf("group create --server: %v", g)
	}
	if _, err := tessera(t, env, "", "group", "member", "add", "--group", "Remote group", "--user", "bob@demo.test"); err != nil {
		t.Fatal(err)
	}
	if out, err := tessera(t, env, "", "group", "member", "list", "--group", gid); err != nil || !strings.Contains(out, "bob@demo.test") {
		t.Errorf("member list --server: %v\n%s", err, out)
	}
	if _, err := tessera(t, env, "", "app", "role", "assign", "--app", files, "--role", "Files.Admin", "--member-group", gid); err != nil {
		t.Fatal(err)
	}
	if out, err := tessera(t, env, "", "app", "role", "list", "--app", files); err != nil || !strings.Contains(out, "Remote group") || !strings.Contains(out, "Files.Admin") {
		t.Errorf("app role list --server: %v\n%s", err, out)
	}
	if _, err := tessera(t, env, "", "app", "set", "--app", files, "--assignment-required", "--groups-claim", "All"); err != nil {
		t.Fatal(err)
	}
	if out, err := tessera(t, env, "", "app", "show", "--app", files); err != nil || !strings.Contains(out, "Assignment required") || !strings.Contains(out, "Groups claim:            All") {
		t.Errorf("app show --server: %v\n%s", err, out)
	}
	if _, err := tessera(t, env, "", "app", "role", "unassign", "--app", files, "--role", "Files.Admin", "--member-group", gid); err != nil {
		t.Fatal(err)
	}
	if _, err := tessera(t, env, "", "group", "member", "remove", "--group", gid, "--user", "bob@demo.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := tessera(t, env, "", "group", "delete", "--group", gid); err != nil {
		t.Fatal(err)
	}
	if list := remoteList(t, env, "group", "list"); len(list) != 0 {
		t.Errorf("group list --server after delete: %v", list)
	}
}
