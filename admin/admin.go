// Package admin manages tenants, app registrations and users: the
// operations behind the admin CLI and the development bootstrap. It
// validates input the way a portal would, so nothing malformed reaches
// the store.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/internal/redirecturi"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// Admin performs administrative operations on one store.
type Admin struct {
	store     store.Store
	masterKey token.MasterKey
	now       func() time.Time
	pwParams  password.Params
	// actor is who the audit log names for what this Admin does (see As).
	actor Actor
	// retention is how long its audit entries are kept.
	retention time.Duration
	// allowed says which admin API permissions the actor holds: all of
	// them for the local operator, what Authorize found for a caller.
	allowed func(perm string) bool
	// operator is set for the server's own operator (New) and cleared for
	// a caller of the admin API (Authorize): only the operator acts across
	// tenants.
	operator bool
	// log, when set, receives a line for each audit entry this Admin
	// records (WithLogger).
	log *slog.Logger
}

// New returns an Admin acting as an unnamed local operator until As names
// someone. now may be nil for the wall clock.
func New(st store.Store, mk token.MasterKey, now func() time.Time, pw password.Params) *Admin {
	if now == nil {
		now = time.Now
	}
	return &Admin{store: st, masterKey: mk, now: func() time.Time { return now().UTC() }, pwParams: pw,
		actor: LocalOperator(""), retention: store.DefaultAuditRetention, allowed: func(string) bool { return true }, operator: true}
}

// WithLogger returns an Admin that also writes each audit entry it records
// to log, one line each, for operators whose logs go to a pipeline.
func (a *Admin) WithLogger(log *slog.Logger) *Admin {
	c := *a
	c.log = log
	return &c
}

// ErrInvalid marks errors caused by bad input, as opposed to failures.
var ErrInvalid = errors.New("invalid input")

// ErrNotFound marks input that names an object that does not exist; it is
// also ErrInvalid.
var ErrNotFound = errors.New("not found")

// ErrStale marks a change refused because its object changed since the
// caller read it (another administrator was first): read it again.
var ErrStale = errors.New("changed since it was read")

// ErrForbidden marks an operation the caller may not perform.
var ErrForbidden = errors.New("forbidden")

// refusal is an operation refused for a reason the caller can act on. It
// is each of its kinds (ErrInvalid, ErrNotFound, ErrStale, ErrForbidden)
// and reads as the first one's words followed by the reason.
type refusal struct {
	kinds  []error
	reason string
	cause  error // what the reason came from, if anything (password.ErrCommon)
}

func (r *refusal) Error() string        { return r.kinds[0].Error() + ": " + r.reason }
func (r *refusal) Is(target error) bool { return slices.Contains(r.kinds, target) }
func (r *refusal) Unwrap() error        { return r.cause }

// Reason is what a refused operation's error says to the person who asked
// for it, without the words of its kind; "" for an error that is not a
// refusal (a failure, which they can do nothing about).
func Reason(err error) string {
	var r *refusal
	if errors.As(err, &r) {
		return r.reason
	}
	return ""
}

func invalid(format string, args ...any) error {
	return &refusal{kinds: []error{ErrInvalid}, reason: fmt.Sprintf(format, args...)}
}

// invalidBecause is the refusal of input that cause explains.
func invalidBecause(cause error) error {
	return &refusal{kinds: []error{ErrInvalid}, reason: cause.Error(), cause: cause}
}

func notFound(format string, args ...any) error {
	return &refusal{kinds: []error{ErrInvalid, ErrNotFound}, reason: fmt.Sprintf(format, args...)}
}

func stale(what string) error {
	return &refusal{kinds: []error{ErrStale},
		reason: what + " was changed by someone else since it was read; read it again and redo the change"}
}

func forbidden(format string, args ...any) error {
	return &refusal{kinds: []error{ErrForbidden}, reason: fmt.Sprintf(format, args...)}
}

// nextUpdate is the UpdatedAt of a change to an object last updated at
// prev: now, but always later than prev at the store's millisecond
// precision, so that a conditional write (UpdateAppIf) can tell the two
// versions apart.
func nextUpdate(now, prev time.Time) time.Time {
	if floor := prev.Truncate(time.Millisecond).Add(time.Millisecond); now.Before(floor) {
		return floor
	}
	return now
}

// Validation patterns: compiled once, read-only, and used on admin paths
// only, never on the token endpoint.
var (
	tenantNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	scopeNamePattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,119}$`)
)

// reservedTenantNames would shadow server paths or Entra's meta-tenants.
func reservedTenantName(name string) bool {
	switch name {
	case "oauth2", "assets", "healthz", "common", "organizations", "consumers", "metrics", "admin", "debug", "portal", "api", "account":
		return true
	}
	return false
}

// CreateTenant creates a tenant with an active signing key and the next
// one already published, so the first rotation needs no waiting.
func (a *Admin) CreateTenant(ctx context.Context, name, alg string) (store.Tenant, error) {
	if err := a.mayOperate(); err != nil {
		return store.Tenant{}, err
	}
	name = strings.TrimSpace(name)
	if !tenantNamePattern.MatchString(name) || ids.IsUUID(name) || reservedTenantName(name) {
		return store.Tenant{}, invalid("tenant name %q: use 1-63 lower-case letters, digits and '-', starting with a letter or digit, not a reserved word", name)
	}
	// MSAL finds the device code endpoint by replacing "token" in the token
	// endpoint URL (MSAL Go replaces every occurrence), so the tenant's
	// part of that URL must not contain the word.
	if strings.Contains(name, "token") {
		return store.Tenant{}, invalid("tenant name %q: must not contain \"token\" (MSAL derives endpoints by replacing that word)", name)
	}
	if alg == "" {
		alg = token.RS256
	}
	if !token.IsSigningAlg(alg) {
		return store.Tenant{}, invalid("signing algorithm %q: use %s", alg, token.SigningAlgChoices())
	}
	now := a.now()
	t := store.Tenant{ID: ids.New(), Name: name, SigningAlg: alg, CreatedAt: now}
	var c changes
	c.text("name", "", name)
	c.text("signingAlgorithm", "", alg)
	e := a.entry(catDirectory, "Add tenant", target{t.ID, "tenant", t.ID, name}, c)
	err := a.audited(ctx, e, func(ctx context.Context) error {
		if err := a.store.CreateTenant(ctx, t); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return invalid("a tenant named %q already exists", name)
			}
			return fmt.Errorf("create tenant: %w", err)
		}
		for _, status := range []store.KeyStatus{store.KeyActive, store.KeyNext} {
			key, err := token.GenerateSigningKey(t.ID, alg, a.masterKey, now, status)
			if err != nil {
				return fmt.Errorf("create tenant %s: %w", name, err)
			}
			if err := a.store.AddSigningKey(ctx, key); err != nil {
				return fmt.Errorf("create tenant %s: store key: %w", name, err)
			}
		}
		_, err := a.EnsureCLI(ctx, t)
		return err
	})
	if err != nil {
		return store.Tenant{}, err
	}
	return t, nil
}

// Tenant finds a tenant by name or id.
func (a *Admin) Tenant(ctx context.Context, idOrName string) (store.Tenant, error) {
	t, err := a.store.GetTenant(ctx, strings.ToLower(strings.TrimSpace(idOrName)))
	if errors.Is(err, store.ErrNotFound) {
		return store.Tenant{}, notFound("no tenant %q", idOrName)
	}
	return t, err
}

// Tenants lists every tenant.
func (a *Admin) Tenants(ctx context.Context) ([]store.Tenant, error) {
	if err := a.mayOperate(); err != nil {
		return nil, err
	}
	return a.store.ListTenants(ctx)
}

// RotateKeys makes the next key active, retires the active one (it stays
// published until every token it signed has expired) and publishes a new
// next key.
func (a *Admin) RotateKeys(ctx context.Context, t store.Tenant, maxTokenLifetime time.Duration) error {
	if err := a.may(PermDirectoryReadWrite); err != nil {
		return err
	}
	now := a.now()
	next, err := token.GenerateSigningKey(t.ID, t.SigningAlg, a.masterKey, now, store.KeyNext)
	if err != nil {
		return fmt.Errorf("rotate keys: %w", err)
	}
	var c changes
	c.text("nextKey", "", next.ID)
	e := a.entry(catKey, "Rotate signing keys", target{t.ID, "signingKeys", t.ID, t.Name}, c)
	return a.audited(ctx, e, func(ctx context.Context) error {
		if err := a.store.RotateSigningKeys(ctx, t.ID, next, now.Add(maxTokenLifetime)); err != nil {
			return fmt.Errorf("rotate keys: %w", err)
		}
		return nil
	})
}

// mayOperate checks that the caller is the local operator: what spans
// tenants (creating one, listing them) is not a tenant's administrators'
// business.
func (a *Admin) mayOperate() error {
	if !a.operator {
		return forbidden("only the server's operator (the CLI on its data) may do this")
	}
	return nil
}

// ParseLifetime reads a duration such as 90m, 1h or 90d.
func ParseLifetime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, invalid("lifetime %q: use a positive number of days like 90d, or a duration like 1h", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, invalid("lifetime %q: use a duration like 30m, 1h or 90d", s)
	}
	return d, nil
}

// ParseExpiry reads a secret's expiry: 6mo, 12mo, 24mo (the portal's
// choices) or a date (YYYY-MM-DD, end of that day UTC, or RFC 3339).
func ParseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "mo"); ok {
		months, err := strconv.Atoi(n)
		if err != nil || months <= 0 || months > 120 {
			return time.Time{}, invalid("expiry %q: use 6mo, 12mo, 24mo or a date (YYYY-MM-DD)", s)
		}
		return now.AddDate(0, months, 0), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		d, derr := time.Parse("2006-01-02", s)
		if derr != nil {
			return time.Time{}, invalid("expiry %q: use 6mo, 12mo, 24mo or a date (YYYY-MM-DD)", s)
		}
		t = d.Add(24*time.Hour - time.Second)
	}
	if !t.After(now) {
		return time.Time{}, invalid("expiry %q is in the past", s)
	}
	return t.UTC(), nil
}

// validRedirectURI applies the rules of what may be registered (package
// redirecturi, which the authorization endpoint's matching shares) as an
// input error.
func validRedirectURI(raw string, public bool) error {
	if err := redirecturi.Validate(raw, public); err != nil {
		return invalidBecause(err)
	}
	return nil
}

// validName checks a display name (a user's name, an app's name), which
// sign-in and consent pages show to users. Besides control characters it
// refuses the invisible ones: a bidirectional control (U+202E, RIGHT-TO-LEFT
// OVERRIDE) makes the text after it display reversed, so a name can read as
// another app's, and zero-width or other format characters make two
// different names look the same.
func validName(kind, name string) error {
	if name == "" || len(name) > 120 || !utf8.ValidString(name) {
		return invalid("%s %q: use 1-120 printable characters", kind, name)
	}
	for _, r := range name {
		if what := invisible(r); what != "" {
			return invalid("%s %q: contains %U, %s; remove it", kind, name, r, what)
		}
	}
	return nil
}

// invisible says what kind of invisible character r is, or "" if it is
// an ordinary one.
func invisible(r rune) string {
	switch {
	case r == '\u061c' || r == '\u200e' || r == '\u200f' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069'):
		return "a bidirectional text control, which can make the name display in a misleading order"
	case (r >= '\u200b' && r <= '\u200d') || r == '\u2060' || r == '\ufeff':
		return "a zero-width character, which makes different names look the same"
	case unicode.IsControl(r):
		return "a control character"
	case unicode.Is(unicode.Cf, r):
		return "an invisible formatting character"
	case unicode.In(r, unicode.Zl, unicode.Zp):
		return "a line or paragraph separator"
	}
	return ""
}

func uniqueAppend(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}
