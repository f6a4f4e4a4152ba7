package server_test

import (
	"strings"
	"testing"

	"github.com/tessera-id/tessera/store"
)

// Password sign-ins land in the tenant's sign-in log: successes and
// failures with their reason, who (a known user only), from where, to
// which app. The attempts a lock refuses on a read alone write nothing,
// so a flood against a locked account cannot fill the log; what the
// username field held for an unknown name is not kept (it is now and then
// a password).
func TestSignInLog(t *testing.T) {
	e := newEnv(t)
	signIns := func() []store.AuditEntry {
		t.Helper()
		got, err := e.store.ListAudit(t.Context(), e.tenant.ID, store.AuditQuery{Kind: store.AuditSignIn})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// The one who signs in has a session afterwards, so the attempts that
	// follow come from another browser.
	expectSignedIn(t, "right password", e.attempt(e.browser(), "alice@contoso.test", e.password))
	b := e.browser()
	expectRefused(t, "unknown name", e.attempt(b, "Hunter2-typed-here", "whatever"), msgBadCredentials)
	for range 10 {
		e.attempt(b, "alice@contoso.test", "wrong password")
	}
	log := signIns()
	if len(log) != 12 {
		t.Fatalf("the sign-in log holds %d entries, want 12", len(log))
	}
	first, unknown, locking := log[11], log[10], log[0]
	if first.Result != store.AuditSuccess || first.ActorID != e.user.ID || first.ActorName != e.user.Username ||
		first.TargetID != e.web.ClientID || first.TargetName != e.web.Name || first.ActorAddress == "" {
		t.Errorf("success: %+v", first)
	}
	if unknown.Result != store.AuditFailure || unknown.ActorID != "" || !strings.Contains(unknown.Reason, "unknown username") {
		t.Errorf("unknown name: %+v", unknown)
	}
	for _, en := range log {
		if strings.Contains(en.ActorName+en.Reason+en.TargetName, "Hunter2") {
			t.Errorf("what was typed as an unknown username was kept: %+v", en)
		}
	}
	if locking.Result != store.AuditFailure || locking.ActorID != e.user.ID || !strings.Contains(locking.Reason, "locked the account") {
		t.Errorf("the failure that locked the account: %+v", locking)
	}
	for range 5 {
		expectRefused(t, "while locked", e.attempt(b, "alice@contoso.test", e.password), msgAccountLocked)
	}
	if n := len(signIns()); n != 12 {
		t.Errorf("attempts refused by a lock added %d entries, want none", n-12)
	}
	// The directory log is another: a sign-in is not a change.
	changes, err := e.store.ListAudit(t.Context(), e.tenant.ID, store.AuditQuery{Kind: store.AuditDirectory, Category: "SignIn"})
	if err != nil || len(changes) != 0 {
		t.Errorf("sign-ins in the directory log: %d, %v", len(changes), err)
	}
}
