package store

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// AuditKind separates the two logs a tenant keeps in one table: changes
// to its directory (Graph's directoryAudits) and sign-in events (Graph's
// signIns).
type AuditKind string

const (
	AuditDirectory AuditKind = "directory"
	AuditSignIn    AuditKind = "signin"
)

// Results of an audited action.
const (
	AuditSuccess = "success"
	AuditFailure = "failure"
)

// AuditEntry is one line of a tenant's audit log: a change made through
// any door (admin API, portal, CLI) or a sign-in event. It never holds a
// secret value: a secret is named by its id and hint only.
type AuditEntry struct {
	TenantID string
	ID       string
	Kind     AuditKind
	Time     time.Time
	// Category and Activity are Graph's category and activityDisplayName:
	// "ApplicationManagement" / "Add application", "UserManagement" /
	// "Reset user password", "SignIn" / "Sign-in".
	Category string
	Activity string
	Result   string // AuditSuccess or AuditFailure
	Reason   string // why it failed, in words; "" on success
	// Actor is who did it: a user (by id and username), an app acting as
	// itself (by client id and name), or the local operator of the CLI.
	ActorType    string
	ActorID      string
	ActorName    string
	ActorAddress string // the client's IP address, when it came over HTTP
	// Target is what it was done to.
	TargetType string // "application", "user", "tenant", "signingKey", …
	TargetID   string
	TargetName string
	Changes    []AuditChange
	// ExpiresAt is the end of the tenant's audit retention for this entry,
	// after which DeleteExpired collects it.
	ExpiresAt time.Time
}

// AuditChange is one property an audited change modified, as Graph's
// modifiedProperties: old and new values as display text.
type AuditChange struct {
	Property string
	Old      string
	New      string
}

// AuditQuery selects entries of one log, newest first. Empty filters
// match everything.
type AuditQuery struct {
	Kind AuditKind
	// Before is the cursor: only entries older than (Before, BeforeID) in
	// (Time, ID) order; the zero time starts at the newest.
	Before   time.Time
	BeforeID string
	Limit    int // at most this many; the store caps it at MaxAuditPage

	Category string
	Activity string
	ActorID  string
	TargetID string
	Result   string
}

// PermissionText is how audit entries name a permission: the OpenID
// Connect scopes by their names, others as resource, kind and value.
func PermissionText(resourceID string, kind PermissionKind, value string) string {
	if resourceID == "" {
		return value
	}
	return resourceID + " " + string(kind) + " " + value
}

// DefaultAuditRetention is how long audit and sign-in entries are kept
// when the server is not told otherwise.
const DefaultAuditRetention = 90 * 24 * time.Hour

// MaxAuditPage is the most entries one ListAudit call returns.
const MaxAuditPage = 1000

// pendingAudit is an entry a change is to record in its own transaction.
type pendingAudit struct {
	entry    AuditEntry
	recorded atomic.Bool
}

type pendingAuditKey struct{}

// WithAudit returns a context under which the next write of a store
// records e in the same transaction as the change, so that a change is
// never committed without its audit entry, nor the entry without the
// change. Only the first successful write records it; an operation made
// of several writes (a tenant and its keys) is one entry.
func WithAudit(ctx context.Context, e AuditEntry) context.Context {
	return context.WithValue(ctx, pendingAuditKey{}, &pendingAudit{entry: e})
}

// PendingAudit is for a store's write path: the entry the write must
// record with its change, and ok false when there is none or it has been
// recorded already. Once the write has committed, the store calls done.
func PendingAudit(ctx context.Context) (e AuditEntry, done func(), ok bool) {
	p, _ := ctx.Value(pendingAuditKey{}).(*pendingAudit)
	if p == nil || p.recorded.Load() {
		return AuditEntry{}, nil, false
	}
	return p.entry, func() { p.recorded.Store(true) }, true
}

// AuditRecorded reports whether the entry WithAudit put in ctx has been
// recorded by a write.
func AuditRecorded(ctx context.Context) bool {
	p, _ := ctx.Value(pendingAuditKey{}).(*pendingAudit)
	return p != nil && p.recorded.Load()
}

// LogAttrs are the entry's fields for a log line, so that an operator's
// log pipeline sees the same events as the audit log. The changes are
// left out: they hold no secret, but may be long, and the audit log has
// them.
func (e AuditEntry) LogAttrs() []slog.Attr {
	attrs := []slog.Attr{
		slog.String("kind", string(e.Kind)), slog.String("tenant_id", e.TenantID), slog.String("audit_id", e.ID),
		slog.String("category", e.Category), slog.String("activity", e.Activity), slog.String("result", e.Result),
		slog.String("actor_type", e.ActorType), slog.String("actor_id", e.ActorID), slog.String("actor_name", e.ActorName),
		slog.String("target_type", e.TargetType), slog.String("target_id", e.TargetID), slog.String("target_name", e.TargetName),
	}
	if e.Reason != "" {
		attrs = append(attrs, slog.String("reason", e.Reason))
	}
	if e.ActorAddress != "" {
		attrs = append(attrs, slog.String("address", e.ActorAddress))
	}
	return attrs
}
