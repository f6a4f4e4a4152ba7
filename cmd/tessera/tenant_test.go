package main

import (
	"slices"
	"strings"
	"testing"
)

// tenant set changes a tenant's sign-in lockout settings, one flag at a
// time, "default" gives a setting back to the server, and tenant show and
// tenant list display what applies.
func TestCLITenantSetLockout(t *testing.T) {
	dir := t.TempDir()
	runJSON(t, dir, "", "tenant", "create", "contoso")
	runJSON(t, dir, "", "tenant", "create", "fabrikam")

	lockout := func(m map[string]any) map[string]any {
		t.Helper()
		l, ok := m["lockout"].(map[string]any)
		if !ok {
			t.Fatalf("no lockout in %v", m)
		}
		return l
	}
	defaults := func(l map[string]any) []string {
		var out []string
		for _, d := range l["defaults"].([]any) {
			out = append(out, d.(string))
		}
		return out
	}
	l := lockout(runJSON(t, dir, "", "tenant", "show", "contoso"))
	if l["threshold"] != 10.0 || l["duration"] != "1m0s" || l["max_duration"] != "15m0s" || l["reset_after"] != "12h0m0s" ||
		l["address_threshold"] != 100.0 || l["request_attempts"] != 5.0 || len(defaults(l)) != 6 {
		t.Errorf("a new tenant's lockout: %v", l)
	}

	l = lockout(runJSON(t, dir, "", "tenant", "set", "contoso", "--lockout-threshold", "5", "--lockout-duration", "30s",
		"--lockout-max-duration", "1h", "--lockout-reset-after", "1d", "--lockout-address-threshold", "50", "--lockout-request-attempts", "3"))
	if l["threshold"] != 5.0 || l["duration"] != "30s" || l["max_duration"] != "1h0m0s" || l["reset_after"] != "24h0m0s" ||
		l["address_threshold"] != 50.0 || l["request_attempts"] != 3.0 || len(defaults(l)) != 0 {
		t.Errorf("after tenant set: %v", l)
	}
	// Kept: a later show reads them back; the other tenant is untouched.
	if again := lockout(runJSON(t, dir, "", "tenant", "show", "contoso")); again["threshold"] != 5.0 || again["reset_after"] != "24h0m0s" {
		t.Errorf("tenant show after set: %v", again)
	}
	if other := lockout(runJSON(t, dir, "", "tenant", "show", "fabrikam")); other["threshold"] != 10.0 {
		t.Errorf("the other tenant: %v", other)
	}

	// One flag changes one setting; "default" gives it back.
	l = lockout(runJSON(t, dir, "", "tenant", "set", "contoso", "--lockout-threshold", "default"))
	if l["threshold"] != 10.0 || l["duration"] != "30s" || !slices.Equal(defaults(l), []string{"threshold"}) {
		t.Errorf("after --lockout-threshold default: %v", l)
	}

	text, err := run(t, dir, "", "tenant", "show", "contoso")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Failures that lock an account:", "10", "(default; --lockout-threshold)",
		"First lockout (doubles per lockout):", "30s", "(set for this tenant; --lockout-duration)", "Tries per sign-in request:"} {
		if !strings.Contains(text, want) {
			t.Errorf("tenant show lacks %q:\n%s", want, text)
		}
	}
	list, err := run(t, dir, "", "tenant", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list, "SIGN-IN LOCKOUT") || !strings.Contains(list, "10 fails: 30s..1h, reset 24h; address 50; request 3") ||
		!strings.Contains(list, "10 fails: 1m..15m, reset 12h; address 100; request 5 (default)") {
		t.Errorf("tenant list:\n%s", list)
	}

	for _, args := range [][]string{
		{"tenant", "set", "nosuch", "--lockout-threshold", "5"},
		{"tenant", "set", "contoso", "--lockout-threshold", "0"},
		{"tenant", "set", "contoso", "--lockout-threshold", "many"},
		{"tenant", "set", "contoso", "--lockout-threshold", "1000000"},
		{"tenant", "set", "contoso", "--lockout-duration", "forever"},
		{"tenant", "set", "contoso", "--lockout-duration", "400d"},
		{"tenant", "set", "contoso", "--lockout-max-duration", "10s"}, // shorter than the 30 s set above
		{"tenant", "set", "contoso", "--lockout-reset-after", "1s"},
		{"tenant", "set", "contoso", "--lockout-request-attempts", "-1"},
	} {
		if _, err := run(t, dir, "", args...); err == nil {
			t.Errorf("tessera %s succeeded; want an error", strings.Join(args, " "))
		}
	}
	if l := lockout(runJSON(t, dir, "", "tenant", "show", "contoso")); l["duration"] != "30s" || l["max_duration"] != "1h0m0s" {
		t.Errorf("a refused set changed the settings: %v", l)
	}
}

// tenant set --mfa changes who must use a second factor, tenant show says
// it, a value that is not a policy is refused, and user mfa reset runs.
func TestCLITenantSetMFA(t *testing.T) {
	dir := t.TempDir()
	runJSON(t, dir, "", "tenant", "create", "contoso")
	if m := runJSON(t, dir, "", "tenant", "show", "contoso"); m["mfa"] != "optional" {
		t.Errorf("a new tenant's mfa: %v", m["mfa"])
	}
	for _, p := range []string{"admins", "everyone", "optional"} {
		if m := runJSON(t, dir, "", "tenant", "set", "contoso", "--mfa", p); m["mfa"] != p {
			t.Errorf("after --mfa %s: %v", p, m["mfa"])
		}
	}
	runJSON(t, dir, "", "tenant", "set", "contoso", "--mfa", "everyone")
	text, err := run(t, dir, "", "tenant", "show", "contoso")
	if err != nil || !strings.Contains(text, "MFA required of:       everyone") {
		t.Errorf("tenant show: %v\n%s", err, text)
	}
	if _, err := run(t, dir, "", "tenant", "set", "contoso", "--mfa", "sometimes"); err == nil {
		t.Error("--mfa sometimes was accepted")
	}
	runJSON(t, dir, "", "user", "create", "--tenant", "contoso", "--username", "alice@contoso.test")
	if m := runJSON(t, dir, "", "user", "mfa", "reset", "--tenant", "contoso", "alice@contoso.test"); m["reset"] != true {
		t.Errorf("user mfa reset: %v", m)
	}
}
