package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tessera-id/tessera/store"
)

// Tenants.

const tenantCols = `id, name, signing_alg, created_at, lockout_threshold, lockout_duration_ms,
	lockout_max_duration_ms, lockout_reset_after_ms, lockout_address_threshold, lockout_request_attempts`

func scanTenant(row scanner) (store.Tenant, error) {
	var t store.Tenant
	l := &t.Lockout
	err := row.Scan(&t.ID, &t.Name, &t.SigningAlg, timeCol{&t.CreatedAt}, &l.Threshold, durationCol{&l.Duration},
		durationCol{&l.MaxDuration}, durationCol{&l.ResetAfter}, &l.AddressThreshold, &l.RequestAttempts)
	return t, err
}

// CreateTenant implements store.Store.
func (s *Store) CreateTenant(ctx context.Context, t store.Tenant) error {
	_, err := s.exec(ctx, `INSERT INTO tenants (`+tenantCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, tenantArgs(t)...)
	return s.wrap("create tenant", err)
}

func tenantArgs(t store.Tenant) []any {
	l := t.Lockout
	return []any{t.ID, t.Name, t.SigningAlg, t.CreatedAt, l.Threshold, l.Duration, l.MaxDuration, l.ResetAfter,
		l.AddressThreshold, l.RequestAttempts}
}

// SetTenantLockout implements store.Store.
func (s *Store) SetTenantLockout(ctx context.Context, tenantID string, l store.LockoutSettings) error {
	err := s.execOne(ctx, `UPDATE tenants SET lockout_threshold = $1, lockout_duration_ms = $2,
		lockout_max_duration_ms = $3, lockout_reset_after_ms = $4, lockout_address_threshold = $5,
		lockout_request_attempts = $6 WHERE id = $7`,
		l.Threshold, l.Duration, l.MaxDuration, l.ResetAfter, l.AddressThreshold, l.RequestAttempts, tenantID)
	return s.wrap("set tenant lockout", err)
}

// GetTenant implements store.Store. An id wins over a name, should another
// tenant be named like it.
func (s *Store) GetTenant(ctx context.Context, idOrName string) (store.Tenant, error) {
	t, err := get(ctx, s, scanTenant,
		`SELECT `+tenantCols+` FROM tenants WHERE id = $1 OR name = $1 ORDER BY id = $1 DESC LIMIT 1`, idOrName)
	return t, s.wrap("get tenant", err)
}

// ListTenants implements store.Store.
func (s *Store) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	ts, err := list(ctx, s, scanTenant, `SELECT `+tenantCols+` FROM tenants ORDER BY name`)
	return ts, s.wrap("list tenants", err)
}

// Apps.

// appColumns is the apps table's select list: its lists read through the
// dialect (see dialect.listColumn).
func appColumns(d dialect) string {
	return `tenant_id, client_id, name, public, ` + d.listColumn("redirect_uris") + `, identifier_uri, ` +
		d.listColumn("scopes") + `, ` + d.listColumn("roles") + `, permissions, service_principal_id,
		allow_plain_pkce, access_token_lifetime_ms, refresh_token_lifetime_ms, refresh_token_idle_lifetime_ms,
		created_at, updated_at, ` + d.listColumn("post_logout_redirect_uris") + `, logout_keeps_refresh_tokens,
		scope_details, ` + d.listColumn("spa_redirect_uris") + `, ` + d.listColumn("native_redirect_uris") + `,
		frontchannel_logout_uri, allow_public_client_flows, app_role_assignment_required, group_membership_claims`
}

func scanApp(row scanner) (store.App, error) {
	var a store.App
	err := row.Scan(&a.TenantID, &a.ClientID, &a.Name, &a.Public, listCol(&a.RedirectURIs),
		&a.IdentifierURI, listCol(&a.Scopes), listCol(&a.Roles), permissionsCol{&a.Permissions},
		&a.ServicePrincipalID, &a.AllowPlainPKCE, durationCol{&a.AccessTokenLifetime},
		durationCol{&a.RefreshTokenLifetime}, durationCol{&a.RefreshTokenIdleLifetime},
		timeCol{&a.CreatedAt}, timeCol{&a.UpdatedAt},
		listCol(&a.PostLogoutRedirectURIs), &a.LogoutKeepsRefreshTokens, scopeDetailsCol{&a.ScopeDetails},
		listCol(&a.SPARedirectURIs), listCol(&a.NativeRedirectURIs), &a.FrontChannelLogoutURI, &a.AllowPublicClientFlows,
		&a.AppRoleAssignmentRequired, &a.GroupMembershipClaims)
	return a, err
}

// CreateApp implements store.Store.
func (s *Store) CreateApp(ctx context.Context, a store.App) error {
	_, err := s.exec(ctx, `INSERT INTO apps (`+appInsertCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
		$22, $23, $24, $25)`, appArgs(a)...)
	return s.wrap("create app", err)
}

const appInsertCols = `tenant_id, client_id, name, public, redirect_uris, identifier_uri,
	scopes, roles, permissions, service_principal_id, allow_plain_pkce, access_token_lifetime_ms,
	refresh_token_lifetime_ms, refresh_token_idle_lifetime_ms, created_at, updated_at,
	post_logout_redirect_uris, logout_keeps_refresh_tokens, scope_details, spa_redirect_uris, native_redirect_uris,
	frontchannel_logout_uri, allow_public_client_flows, app_role_assignment_required, group_membership_claims`

func appArgs(a store.App) []any {
	return []any{a.TenantID, a.ClientID, a.Name, a.Public, a.RedirectURIs, a.IdentifierURI, a.Scopes, a.Roles,
		permissionsValue(a.Permissions), a.ServicePrincipalID, a.AllowPlainPKCE, a.AccessTokenLifetime,
		a.RefreshTokenLifetime, a.RefreshTokenIdleLifetime, a.CreatedAt, a.UpdatedAt,
		a.PostLogoutRedirectURIs, a.LogoutKeepsRefreshTokens, scopeDetailsValue(a.ScopeDetails), a.SPARedirectURIs, a.NativeRedirectURIs,
		a.FrontChannelLogoutURI, a.AllowPublicClientFlows, a.AppRoleAssignmentRequired, string(a.GroupMembershipClaims)}
}

// GetApp implements store.Store.
func (s *Store) GetApp(ctx context.Context, tenantID, clientID string) (store.App, error) {
	a, err := get(ctx, s, scanApp,
		`SELECT `+s.appCols+` FROM apps WHERE tenant_id = $1 AND client_id = $2`, tenantID, clientID)
	return a, s.wrap("get app", err)
}

// GetAppByIdentifier implements store.Store. A client id wins over an
// identifier URI, should another app use it as one.
func (s *Store) GetAppByIdentifier(ctx context.Context, tenantID, identifier string) (store.App, error) {
	if identifier == "" {
		return store.App{}, s.wrap("get app by identifier", store.ErrNotFound)
	}
	a, err := get(ctx, s, scanApp, `SELECT `+s.appCols+` FROM apps
		WHERE tenant_id = $1 AND (client_id = $2 OR (identifier_uri = $2 AND identifier_uri <> ''))
		ORDER BY client_id = $2 DESC LIMIT 1`, tenantID, identifier)
	return a, s.wrap("get app by identifier", err)
}

// ListApps implements store.Store.
func (s *Store) ListApps(ctx context.Context, tenantID string) ([]store.App, error) {
	as, err := list(ctx, s, scanApp,
		`SELECT `+s.appCols+` FROM apps WHERE tenant_id = $1 ORDER BY name, client_id`, tenantID)
	return as, s.wrap("list apps", err)
}

// UpdateApp implements store.Store.
func (s *Store) UpdateApp(ctx context.Context, a store.App) error {
	return s.UpdateAppIf(ctx, a, time.Time{})
}

// UpdateAppIf implements store.Store. The service principal id stays as
// created: it is the subject of tokens already issued to the app.
func (s *Store) UpdateAppIf(ctx context.Context, a store.App, ifUpdatedAt time.Time) error {
	n, err := s.exec(ctx, `UPDATE apps SET name = $1, public = $2, redirect_uris = $3, identifier_uri = $4,
		scopes = $5, roles = $6, permissions = $7, allow_plain_pkce = $8, access_token_lifetime_ms = $9,
		refresh_token_lifetime_ms = $10, refresh_token_idle_lifetime_ms = $11, updated_at = $12,
		post_logout_redirect_uris = $13, logout_keeps_refresh_tokens = $14, scope_details = $15,
		spa_redirect_uris = $19, native_redirect_uris = $20, frontchannel_logout_uri = $21, allow_public_client_flows = $22,
		app_role_assignment_required = $23, group_membership_claims = $24
		WHERE tenant_id = $16 AND client_id = $17 AND (updated_at = $18 OR $18 IS NULL)`,
		a.Name, a.Public, a.RedirectURIs, a.IdentifierURI, a.Scopes, a.Roles, permissionsValue(a.Permissions),
		a.AllowPlainPKCE, a.AccessTokenLifetime, a.RefreshTokenLifetime, a.RefreshTokenIdleLifetime,
		a.UpdatedAt, a.PostLogoutRedirectURIs, a.LogoutKeepsRefreshTokens, scopeDetailsValue(a.ScopeDetails),
		a.TenantID, a.ClientID, ifUpdatedAt, a.SPARedirectURIs, a.NativeRedirectURIs, a.FrontChannelLogoutURI,
		a.AllowPublicClientFlows, a.AppRoleAssignmentRequired, string(a.GroupMembershipClaims))
	if err == nil && n == 0 {
		err = s.missingOrChanged(ctx, ifUpdatedAt, func() error { _, err := s.GetApp(ctx, a.TenantID, a.ClientID); return err })
	}
	return s.wrap("update app", err)
}

// missingOrChanged tells why a conditional update changed no row: the row
// is gone (ErrNotFound), or it changed since it was read (ErrNotLive).
func (s *Store) missingOrChanged(ctx context.Context, ifUpdatedAt time.Time, get func() error) error {
	if ifUpdatedAt.IsZero() {
		return store.ErrNotFound
	}
	if err := get(); err != nil {
		return err
	}
	return store.ErrNotLive
}

// Client secrets.

const secretCols = `id, tenant_id, client_id, description, hint, hash, expires_at, created_at`

func scanSecret(row scanner) (store.ClientSecret, error) {
	var c store.ClientSecret
	err := row.Scan(&c.ID, &c.TenantID, &c.ClientID, &c.Description, &c.Hint, &c.Hash,
		timeCol{&c.ExpiresAt}, timeCol{&c.CreatedAt})
	return c, err
}

// AddClientSecret implements store.Store.
func (s *Store) AddClientSecret(ctx context.Context, c store.ClientSecret) error {
	_, err := s.exec(ctx, `INSERT INTO client_secrets (`+secretCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.ID, c.TenantID, c.ClientID, c.Description, c.Hint, c.Hash, c.ExpiresAt, c.CreatedAt)
	return s.wrap("add client secret", err)
}

// ListClientSecrets implements store.Store.
func (s *Store) ListClientSecrets(ctx context.Context, tenantID, clientID string) ([]store.ClientSecret, error) {
	cs, err := list(ctx, s, scanSecret, `SELECT `+secretCols+` FROM client_secrets
		WHERE tenant_id = $1 AND client_id = $2 ORDER BY created_at, id`, tenantID, clientID)
	return cs, s.wrap("list client secrets", err)
}

// RemoveClientSecret implements store.Store.
func (s *Store) RemoveClientSecret(ctx context.Context, tenantID, clientID, secretID string) error {
	err := s.execOne(ctx, `DELETE FROM client_secrets WHERE tenant_id = $1 AND client_id = $2 AND id = $3`,
		tenantID, clientID, secretID)
	return s.wrap("remove client secret", err)
}

// App credentials.

const credentialCols = `id, tenant_id, client_id, kind, description, public_key, sha1_thumbprint,
	sha256_thumbprint, expires_at, created_at`

func scanCredential(row scanner) (store.AppCredential, error) {
	var c store.AppCredential
	err := row.Scan(&c.ID, &c.TenantID, &c.ClientID, &c.Kind, &c.Description, &c.PublicKey,
		&c.SHA1Thumbprint, &c.SHA256Thumbprint, timeCol{&c.ExpiresAt}, timeCol{&c.CreatedAt})
	return c, err
}

// AddAppCredential implements store.Store. The id is the key's thumbprint,
// so adding the same key twice to an app is ErrConflict.
func (s *Store) AddAppCredential(ctx context.Context, c store.AppCredential) error {
	_, err := s.exec(ctx, `INSERT INTO app_credentials (`+credentialCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.ID, c.TenantID, c.ClientID, string(c.Kind), c.Description, c.PublicKey, c.SHA1Thumbprint,
		c.SHA256Thumbprint, c.ExpiresAt, c.CreatedAt)
	return s.wrap("add app credential", err)
}

// ListAppCredentials implements store.Store. Expired credentials are listed
// too: the caller tells them apart, and an admin needs to see them to
// replace them.
func (s *Store) ListAppCredentials(ctx context.Context, tenantID, clientID string) ([]store.AppCredential, error) {
	cs, err := list(ctx, s, scanCredential, `SELECT `+credentialCols+` FROM app_credentials
		WHERE tenant_id = $1 AND client_id = $2 ORDER BY created_at, id`, tenantID, clientID)
	return cs, s.wrap("list app credentials", err)
}

// RemoveAppCredential implements store.Store.
func (s *Store) RemoveAppCredential(ctx context.Context, tenantID, clientID, id string) error {
	err := s.execOne(ctx, `DELETE FROM app_credentials WHERE tenant_id = $1 AND client_id = $2 AND id = $3`,
		tenantID, clientID, id)
	return s.wrap("remove app credential", err)
}

// Users.

const userCols = `id, tenant_id, username, email, name, password_hash, disabled, created_at, updated_at`

func scanUser(row scanner) (store.User, error) {
	var u store.User
	err := row.Scan(&u.ID, &u.TenantID, &u.Username, &u.Email, &u.Name, &u.PasswordHash, &u.Disabled,
		timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt})
	return u, err
}

// usernameKey is what makes usernames unique and found case-insensitively.
// Folded in Go, the same on every engine: SQLite's lower() folds ASCII
// only, which would let "Ölaf" and "ölaf" become two accounts, and
// PostgreSQL's and MySQL's depend on a collation.
func usernameKey(username string) string { return store.UserKey(username) }

// nameKey is the display name searches match: lower-cased here, since
// SQLite's LOWER folds ASCII letters only.
func nameKey(name string) string { return strings.ToLower(name) }

// CreateUser implements store.Store.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.exec(ctx, `INSERT INTO users (`+userCols+`, username_key, name_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, userArgs(u)...)
	return s.wrap("create user", err)
}

func userArgs(u store.User) []any {
	return []any{u.ID, u.TenantID, u.Username, u.Email, u.Name, u.PasswordHash, u.Disabled,
		u.CreatedAt, u.UpdatedAt, usernameKey(u.Username), nameKey(u.Name)}
}

// GetUser implements store.Store.
func (s *Store) GetUser(ctx context.Context, tenantID, userID string) (store.User, error) {
	u, err := get(ctx, s, scanUser,
		`SELECT `+userCols+` FROM users WHERE tenant_id = $1 AND id = $2`, tenantID, userID)
	return u, s.wrap("get user", err)
}

// GetUserByUsername implements store.Store.
func (s *Store) GetUserByUsername(ctx context.Context, tenantID, username string) (store.User, error) {
	u, err := get(ctx, s, scanUser,
		`SELECT `+userCols+` FROM users WHERE tenant_id = $1 AND username_key = $2`, tenantID, usernameKey(username))
	return u, s.wrap("get user by username", err)
}

// ListUsers implements store.Store.
func (s *Store) ListUsers(ctx context.Context, tenantID string) ([]store.User, error) {
	us, err := list(ctx, s, scanUser,
		`SELECT `+userCols+` FROM users WHERE tenant_id = $1 ORDER BY username_key`, tenantID)
	return us, s.wrap("list users", err)
}

// ListUsersPage implements store.Store. The order and the cursor's
// comparison are the engine's (bytes for SQLite and MySQL's VARBINARY,
// the database collation for PostgreSQL), so a page follows the one
// before it on every engine, and the (tenant_id, username_key) index
// serves both.
func (s *Store) ListUsersPage(ctx context.Context, tenantID string, q store.UserQuery) ([]store.User, error) {
	if q.Limit < 1 {
		return nil, nil
	}
	query := `SELECT ` + userCols + ` FROM users WHERE tenant_id = $1 AND username_key > $2`
	args := []any{tenantID, q.After}
	if q.Search != "" {
		// '!' escapes LIKE's wildcards: a backslash means different
		// things in MySQL's and the others' string literals.
		pattern := "%" + likeEscaper.Replace(strings.ToLower(q.Search)) + "%"
		query += ` AND (username_key LIKE $3 ESCAPE '!' OR name_key LIKE $3 ESCAPE '!')`
		args = append(args, pattern)
	}
	query += fmt.Sprintf(` ORDER BY username_key LIMIT %d`, q.Limit)
	us, err := list(ctx, s, scanUser, query, args...)
	return us, s.wrap("list users page", err)
}

var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

// UpdateUser implements store.Store.
func (s *Store) UpdateUser(ctx context.Context, u store.User) error {
	return s.UpdateUserIf(ctx, u, time.Time{})
}

// UpdateUserIf implements store.Store. UpdatedAt travels with the change.
func (s *Store) UpdateUserIf(ctx context.Context, u store.User, ifUpdatedAt time.Time) error {
	n, err := s.exec(ctx, `UPDATE users SET email = $1, name = $2, password_hash = $3, disabled = $4, updated_at = $5, name_key = $9
		WHERE tenant_id = $6 AND id = $7 AND (updated_at = $8 OR $8 IS NULL)`,
		u.Email, u.Name, u.PasswordHash, u.Disabled, u.UpdatedAt, u.TenantID, u.ID, ifUpdatedAt, nameKey(u.Name))
	if err == nil && n == 0 {
		err = s.missingOrChanged(ctx, ifUpdatedAt, func() error { _, err := s.GetUser(ctx, u.TenantID, u.ID); return err })
	}
	return s.wrap("update user", err)
}

// Consents.

const consentCols = `tenant_id, client_id, principal_id, resource_id, kind, value, created_at`

func scanConsent(row scanner) (store.Consent, error) {
	var c store.Consent
	err := row.Scan(&c.TenantID, &c.ClientID, &c.PrincipalID, &c.ResourceID, &c.Kind, &c.Value,
		timeCol{&c.CreatedAt})
	return c, err
}

// consentBatch bounds the rows of one INSERT, well below every engine's
// limit on the number of arguments of a statement.
const consentBatch = 100

// AddConsents implements store.Store. A grant given again keeps the time it
// was first given. The rows go in primary-key order, so that two instances
// granting overlapping sets at once wait on each other instead of
// deadlocking, and as one statement (one round trip) per batch.
func (s *Store) AddConsents(ctx context.Context, cs []store.Consent) error {
	if len(cs) == 0 {
		return nil
	}
	cs = slices.Clone(cs)
	slices.SortFunc(cs, func(x, y store.Consent) int {
		return cmp.Or(cmp.Compare(x.TenantID, y.TenantID), cmp.Compare(x.ClientID, y.ClientID),
			cmp.Compare(x.PrincipalID, y.PrincipalID), cmp.Compare(x.ResourceID, y.ResourceID),
			cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Value, y.Value))
	})
	insert := func(c conn, batch []store.Consent) error {
		rows := make([]string, len(batch))
		args := make([]any, 0, 7*len(batch))
		for i, c := range batch {
			rows[i] = "(" + placeholders(len(args)+1, 7) + ")"
			args = append(args, c.TenantID, c.ClientID, c.PrincipalID, c.ResourceID, string(c.Kind), c.Value, c.CreatedAt)
		}
		_, err := c.exec(ctx, `INSERT INTO consents (`+consentCols+`) VALUES `+strings.Join(rows, ", ")+` `+
			s.d.insertIgnore("tenant_id, client_id, principal_id, resource_id, kind, value"), args...)
		return err
	}
	err := s.tx(ctx, func(c conn) error {
		for batch := range slices.Chunk(cs, consentBatch) {
			if err := insert(c, batch); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap("add consents", err)
}

// ListConsents implements store.Store.
func (s *Store) ListConsents(ctx context.Context, tenantID, clientID, principalID string) ([]store.Consent, error) {
	cs, err := list(ctx, s, scanConsent, `SELECT `+consentCols+` FROM consents
		WHERE tenant_id = $1 AND client_id = $2 AND principal_id IN ($3, '')
		ORDER BY principal_id, resource_id, kind, value`, tenantID, clientID, principalID)
	return cs, s.wrap("list consents", err)
}

// ListClientConsents implements store.Store.
func (s *Store) ListClientConsents(ctx context.Context, tenantID, clientID string) ([]store.Consent, error) {
	cs, err := list(ctx, s, scanConsent, `SELECT `+consentCols+` FROM consents
		WHERE tenant_id = $1 AND client_id = $2
		ORDER BY principal_id, resource_id, kind, value`, tenantID, clientID)
	return cs, s.wrap("list client consents", err)
}

// RemoveConsent implements store.Store.
func (s *Store) RemoveConsent(ctx context.Context, c store.Consent) error {
	err := s.execOne(ctx, `DELETE FROM consents WHERE tenant_id = $1 AND client_id = $2 AND principal_id = $3
		AND resource_id = $4 AND kind = $5 AND value = $6`, c.TenantID, c.ClientID, c.PrincipalID, c.ResourceID, string(c.Kind), c.Value)
	return s.wrap("remove consent", err)
}

// RemoveConsents implements store.Store. Removing nothing is not an error:
// the caller wants the grants gone, and they are.
func (s *Store) RemoveConsents(ctx context.Context, tenantID, clientID, principalID string) error {
	_, err := s.exec(ctx, `DELETE FROM consents WHERE tenant_id = $1 AND client_id = $2 AND principal_id = $3`,
		tenantID, clientID, principalID)
	return s.wrap("remove consents", err)
}
