package sqlstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/tessera-id/tessera/store"
)

// The audit log. A change records its entry in its own transaction (see
// store.WithAudit, and Store.exec and Store.tx, which call recordPending);
// AppendAudit writes one on its own.

const auditCols = `tenant_id, id, kind, created_at, category, activity, result, reason,
	actor_type, actor_id, actor_name, actor_address, target_type, target_id, target_name, changes, expires_at`

// auditChangeJSON is an entry's change as stored, with field names of its
// own like every JSON column (see columns.go).
type auditChangeJSON struct {
	Property string `json:"property"`
	Old      string `json:"old,omitempty"`
	New      string `json:"new,omitempty"`
}

func insertAudit(ctx context.Context, c conn, e store.AuditEntry) error {
	changes := make([]auditChangeJSON, 0, len(e.Changes))
	for _, ch := range e.Changes {
		changes = append(changes, auditChangeJSON(ch))
	}
	_, err := c.exec(ctx, `INSERT INTO audit_log (`+auditCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		e.TenantID, e.ID, string(e.Kind), e.Time, e.Category, e.Activity, e.Result, e.Reason,
		e.ActorType, e.ActorID, e.ActorName, e.ActorAddress, e.TargetType, e.TargetID, e.TargetName,
		jsonCol{changes}, e.ExpiresAt)
	return err
}

// recordPending writes, in c's transaction, the audit entry ctx carries for
// the change being made, if it has not been recorded yet. It returns the
// function that marks it recorded, to call once the transaction commits.
func recordPending(ctx context.Context, c conn) (func(), error) {
	e, done, ok := store.PendingAudit(ctx)
	if !ok {
		return func() {}, nil
	}
	if err := insertAudit(ctx, c, e); err != nil {
		return nil, err
	}
	return done, nil
}

func scanAudit(row scanner) (store.AuditEntry, error) {
	var e store.AuditEntry
	var kind string
	var changes []auditChangeJSON
	err := row.Scan(&e.TenantID, &e.ID, &kind, timeCol{&e.Time}, &e.Category, &e.Activity, &e.Result, &e.Reason,
		&e.ActorType, &e.ActorID, &e.ActorName, &e.ActorAddress, &e.TargetType, &e.TargetID, &e.TargetName,
		jsonCol{&changes}, timeCol{&e.ExpiresAt})
	e.Kind = store.AuditKind(kind)
	for _, ch := range changes {
		e.Changes = append(e.Changes, store.AuditChange(ch))
	}
	return e, err
}

// AppendAudit implements store.Store.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	err := s.retryOn(ctx, func() error { return insertAudit(ctx, s.writer(), e) })
	return s.wrap("append audit entry", err)
}

// ListAudit implements store.Store. The query has a clause for each filter
// given, so each combination is its own statement, prepared once.
func (s *Store) ListAudit(ctx context.Context, tenantID string, q store.AuditQuery) ([]store.AuditEntry, error) {
	var b strings.Builder
	b.WriteString(`SELECT ` + auditCols + ` FROM audit_log WHERE tenant_id = $1 AND kind = $2`)
	args := []any{tenantID, string(q.Kind)}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if !q.Before.IsZero() {
		// Spelled out rather than as a row comparison, which not every
		// engine uses an index for.
		t := arg(q.Before)
		b.WriteString(` AND (created_at < ` + t + ` OR (created_at = ` + t + ` AND id < ` + arg(q.BeforeID) + `))`)
	}
	for _, f := range []struct{ col, v string }{
		{"category", q.Category}, {"activity", q.Activity}, {"actor_id", q.ActorID},
		{"target_id", q.TargetID}, {"result", q.Result},
	} {
		if f.v != "" {
			b.WriteString(` AND ` + f.col + ` = ` + arg(f.v))
		}
	}
	limit := q.Limit
	if limit <= 0 || limit > store.MaxAuditPage {
		limit = store.MaxAuditPage
	}
	b.WriteString(` ORDER BY created_at DESC, id DESC LIMIT ` + arg(limit))
	out, err := list(ctx, s, scanAudit, b.String(), args...)
	return out, s.wrap("list audit entries", err)
}
