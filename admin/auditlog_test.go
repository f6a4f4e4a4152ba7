package admin_test

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

// An Admin with a logger writes one log line per audit entry, with the
// entry's fields and never a secret's value.
func TestAuditEntriesReachTheLog(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "tessera.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var log bytes.Buffer
	a := admin.New(st, token.NewMasterKey(), nil, password.Params{Memory: 64, Time: 1, Threads: 1}).
		As(admin.Actor{Type: admin.ActorUser, ID: "u-alice", Name: "alice@contoso.test", Address: "192.0.2.1"}).
		WithLogger(slog.New(slog.NewJSONHandler(&log, nil)))
	ten, err := a.CreateTenant(ctx, "contoso", "RS256")
	if err != nil {
		t.Fatal(err)
	}
	app, err := a.RegisterApp(ctx, ten, admin.RegisterOptions{Name: "Web"})
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := a.AddSecret(ctx, app, "ci", time.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	_, pw, err := a.CreateUser(ctx, ten, admin.UserOptions{Username: "bob@contoso.test", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	out := log.String()
	for _, s := range []string{secret, "correct horse battery", pw} {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("the log holds a secret (%.6s…)", s)
		}
	}
	lines := strings.Count(out, `"msg":"audit"`)
	entries, err := a.AuditLog(ctx, ten, store.AuditQuery{Kind: store.AuditDirectory})
	if err != nil {
		t.Fatal(err)
	}
	if lines < len(entries) || len(entries) == 0 {
		t.Errorf("%d audit lines for %d entries of contoso:\n%s", lines, len(entries), out)
	}
	for _, want := range []string{`"actor_id":"u-alice"`, `"target_id":"` + app.ClientID + `"`, `"address":"192.0.2.1"`, `"tenant_id":"` + ten.ID + `"`} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in:\n%s", want, out)
		}
	}
}
