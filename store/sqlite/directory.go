package sqlite

import (
	"context"
	"database/sql"
	"strings"

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
	l := t.Lockout
	_, err := s.exec(ctx, `INSERT INTO tenants (`+tenantCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.SigningAlg, millis(t.CreatedAt), l.Threshold, l.Duration.Milliseconds(),
		l.MaxDuration.Milliseconds(), l.ResetAfter.Milliseconds(), l.AddressThreshold, l.RequestAttempts)
	return wrap("create tenant", err)
}

// SetTenantLockout implements store.Store.
func (s *Store) SetTenantLockout(ctx context.Context, tenantID string, l store.LockoutSettings) error {
	err := s.execOne(ctx, `UPDATE tenants SET lockout_threshold = ?, lockout_duration_ms = ?,
		lockout_max_duration_ms = ?, lockout_reset_after_ms = ?, lockout_address_threshold = ?,
		lockout_request_attempts = ? WHERE id = ?`,
		l.Threshold, l.Duration.Milliseconds(), l.MaxDuration.Milliseconds(), l.ResetAfter.Milliseconds(),
		l.AddressThreshold, l.RequestAttempts, tenantID)
	return wrap("set tenant lockout", err)
}

// GetTenant implements store.Store. An id wins over a name, should another
// tenant be named like it.
func (s *Store) GetTenant(ctx context.Context, idOrName string) (store.Tenant, error) {
	t, err := get(ctx, s, scanTenant,
		`SELECT `+tenantCols+` FROM tenants WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1`, idOrName)
	return t, wrap("get tenant", err)
}

// ListTenants implements store.Store.
func (s *Store) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	ts, err := list(ctx, s, scanTenant, `SELECT `+tenantCols+` FROM tenants ORDER BY name`)
	return ts, wrap("list tenants", err)
}

// Apps.

const appCols = `tenant_id, client_id, name, public, redirect_uris, identifier_uri, scopes, roles,
	permissions, service_principal_id, allow_plain_pkce, access_token_lifetime_ms,
	refresh_token_lifetime_ms, refresh_token_idle_lifetime_ms, created_at, updated_at,
	post_logout_redirect_uris, logout_keeps_refresh_tokens`

func scanApp(row scanner) (store.App, error) {
	var a store.App
	err := row.Scan(&a.TenantID, &a.ClientID, &a.Name, &a.Public, jsonCol{&a.RedirectURIs},
		&a.IdentifierURI, jsonCol{&a.Scopes}, jsonCol{&a.Roles}, permissionsCol{&a.Permissions},
		&a.ServicePrincipalID, &a.AllowPlainPKCE, durationCol{&a.AccessTokenLifetime},
		durationCol{&a.RefreshTokenLifetime}, durationCol{&a.RefreshTokenIdleLifetime},
		timeCol{&a.CreatedAt}, timeCol{&a.UpdatedAt},
		jsonCol{&a.PostLogoutRedirectURIs}, &a.LogoutKeepsRefreshTokens)
	return a, err
}

// CreateApp implements store.Store.
func (s *Store) CreateApp(ctx context.Context, a store.App) error {
	_, err := s.exec(ctx, `INSERT INTO apps (`+appCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.TenantID, a.ClientID, a.Name, a.Public, jsonCol{a.RedirectURIs}, a.IdentifierURI,
		jsonCol{a.Scopes}, jsonCol{a.Roles}, permissionsValue(a.Permissions), a.ServicePrincipalID,
		a.AllowPlainPKCE, a.AccessTokenLifetime.Milliseconds(), a.RefreshTokenLifetime.Milliseconds(),
		a.RefreshTokenIdleLifetime.Milliseconds(), millis(a.CreatedAt), millis(a.UpdatedAt),
		jsonCol{a.PostLogoutRedirectURIs}, a.LogoutKeepsRefreshTokens)
	return wrap("create app", err)
}

// GetApp implements store.Store.
func (s *Store) GetApp(ctx context.Context, tenantID, clientID string) (store.App, error) {
	a, err := get(ctx, s, scanApp,
		`SELECT `+appCols+` FROM apps WHERE tenant_id = ? AND client_id = ?`, tenantID, clientID)
	return a, wrap("get app", err)
}

// GetAppByIdentifier implements store.Store. A client id wins over an
// identifier URI, should another app use it as one.
func (s *Store) GetAppByIdentifier(ctx context.Context, tenantID, identifier string) (store.App, error) {
	if identifier == "" {
		return store.App{}, wrap("get app by identifier", store.ErrNotFound)
	}
	a, err := get(ctx, s, scanApp, `SELECT `+appCols+` FROM apps
		WHERE tenant_id = ?1 AND (client_id = ?2 OR (identifier_uri = ?2 AND identifier_uri <> ''))
		ORDER BY client_id = ?2 DESC LIMIT 1`, tenantID, identifier)
	return a, wrap("get app by identifier", err)
}

// ListApps implements store.Store.
func (s *Store) ListApps(ctx context.Context, tenantID string) ([]store.App, error) {
	as, err := list(ctx, s, scanApp,
		`SELECT `+appCols+` FROM apps WHERE tenant_id = ? ORDER BY name, client_id`, tenantID)
	return as, wrap("list apps", err)
}

// UpdateApp implements store.Store. The service principal id stays as
// created: it is the subject of tokens already issued to the app.
func (s *Store) UpdateApp(ctx context.Context, a store.App) error {
	err := s.execOne(ctx, `UPDATE apps SET name = ?, public = ?, redirect_uris = ?, identifier_uri = ?,
		scopes = ?, roles = ?, permissions = ?, allow_plain_pkce = ?, access_token_lifetime_ms = ?,
		refresh_token_lifetime_ms = ?, refresh_token_idle_lifetime_ms = ?, updated_at = ?,
		post_logout_redirect_uris = ?, logout_keeps_refresh_tokens = ?
		WHERE tenant_id = ? AND client_id = ?`,
		a.Name, a.Public, jsonCol{a.RedirectURIs}, a.IdentifierURI, jsonCol{a.Scopes}, jsonCol{a.Roles},
		permissionsValue(a.Permissions), a.AllowPlainPKCE, a.AccessTokenLifetime.Milliseconds(),
		a.RefreshTokenLifetime.Milliseconds(), a.RefreshTokenIdleLifetime.Milliseconds(),
		millis(a.UpdatedAt), jsonCol{a.PostLogoutRedirectURIs}, a.LogoutKeepsRefreshTokens,
		a.TenantID, a.ClientID)
	return wrap("update app", err)
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
	_, err := s.exec(ctx, `INSERT INTO client_secrets (`+secretCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.TenantID, c.ClientID, c.Description, c.Hint, c.Hash, millis(c.ExpiresAt), millis(c.CreatedAt))
	return wrap("add client secret", err)
}

// ListClientSecrets implements store.Store.
func (s *Store) ListClientSecrets(ctx context.Context, tenantID, clientID string) ([]store.ClientSecret, error) {
	cs, err := list(ctx, s, scanSecret, `SELECT `+secretCols+` FROM client_secrets
		WHERE tenant_id = ? AND client_id = ? ORDER BY created_at, id`, tenantID, clientID)
	return cs, wrap("list client secrets", err)
}

// RemoveClientSecret implements store.Store.
func (s *Store) RemoveClientSecret(ctx context.Context, tenantID, clientID, secretID string) error {
	err := s.execOne(ctx, `DELETE FROM client_secrets WHERE tenant_id = ? AND client_id = ? AND id = ?`,
		tenantID, clientID, secretID)
	return wrap("remove client secret", err)
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
	_, err := s.exec(ctx, `INSERT INTO app_credentials (`+credentialCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.TenantID, c.ClientID, string(c.Kind), c.Description, c.PublicKey, c.SHA1Thumbprint,
		c.SHA256Thumbprint, millis(c.ExpiresAt), millis(c.CreatedAt))
	return wrap("add app credential", err)
}

// ListAppCredentials implements store.Store. Expired credentials are listed
// too: the caller tells them apart, and an admin needs to see them to
// replace them.
func (s *Store) ListAppCredentials(ctx context.Context, tenantID, clientID string) ([]store.AppCredential, error) {
	cs, err := list(ctx, s, scanCredential, `SELECT `+credentialCols+` FROM app_credentials
		WHERE tenant_id = ? AND client_id = ? ORDER BY created_at, id`, tenantID, clientID)
	return cs, wrap("list app credentials", err)
}

// RemoveAppCredential implements store.Store.
func (s *Store) RemoveAppCredential(ctx context.Context, tenantID, clientID, id string) error {
	err := s.execOne(ctx, `DELETE FROM app_credentials WHERE tenant_id = ? AND client_id = ? AND id = ?`,
		tenantID, clientID, id)
	return wrap("remove app credential", err)
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
func usernameKey(username string) string {
	return strings.ToLower(username)
}

// CreateUser implements store.Store.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.exec(ctx, `INSERT INTO users (`+userCols+`, username_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.TenantID, u.Username, u.Email, u.Name, u.PasswordHash, u.Disabled,
		millis(u.CreatedAt), millis(u.UpdatedAt), usernameKey(u.Username))
	return wrap("create user", err)
}

// GetUser implements store.Store.
func (s *Store) GetUser(ctx context.Context, tenantID, userID string) (store.User, error) {
	u, err := get(ctx, s, scanUser,
		`SELECT `+userCols+` FROM users WHERE tenant_id = ? AND id = ?`, tenantID, userID)
	return u, wrap("get user", err)
}

// GetUserByUsername implements store.Store.
func (s *Store) GetUserByUsername(ctx context.Context, tenantID, username string) (store.User, error) {
	u, err := get(ctx, s, scanUser,
		`SELECT `+userCols+` FROM users WHERE tenant_id = ? AND username_key = ?`, tenantID, usernameKey(username))
	return u, wrap("get user by username", err)
}

// ListUsers implements store.Store.
func (s *Store) ListUsers(ctx context.Context, tenantID string) ([]store.User, error) {
	us, err := list(ctx, s, scanUser,
		`SELECT `+userCols+` FROM users WHERE tenant_id = ? ORDER BY username_key`, tenantID)
	return us, wrap("list users", err)
}

// UpdateUser implements store.Store. UpdatedAt travels with the change.
func (s *Store) UpdateUser(ctx context.Context, u store.User) error {
	err := s.execOne(ctx, `UPDATE users SET email = ?, name = ?, password_hash = ?, disabled = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`,
		u.Email, u.Name, u.PasswordHash, u.Disabled, millis(u.UpdatedAt), u.TenantID, u.ID)
	return wrap("update user", err)
}

// Consents.

const consentCols = `tenant_id, client_id, principal_id, resource_id, kind, value, created_at`

func scanConsent(row scanner) (store.Consent, error) {
	var c store.Consent
	err := row.Scan(&c.TenantID, &c.ClientID, &c.PrincipalID, &c.ResourceID, &c.Kind, &c.Value,
		timeCol{&c.CreatedAt})
	return c, err
}

// AddConsents implements store.Store. A grant given again keeps the time it
// was first given.
func (s *Store) AddConsents(ctx context.Context, cs []store.Consent) error {
	if len(cs) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, c := range cs {
			_, err := tx.ExecContext(ctx, `INSERT INTO consents (`+consentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT DO NOTHING`,
				c.TenantID, c.ClientID, c.PrincipalID, c.ResourceID, string(c.Kind), c.Value, millis(c.CreatedAt))
			if err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("add consents", err)
}

// ListConsents implements store.Store.
func (s *Store) ListConsents(ctx context.Context, tenantID, clientID, principalID string) ([]store.Consent, error) {
	cs, err := list(ctx, s, scanConsent, `SELECT `+consentCols+` FROM consents
		WHERE tenant_id = ? AND client_id = ? AND principal_id IN (?, '')
		ORDER BY principal_id, resource_id, kind, value`, tenantID, clientID, principalID)
	return cs, wrap("list consents", err)
}

// RemoveConsents implements store.Store. Removing nothing is not an error:
// the caller wants the grants gone, and they are.
func (s *Store) RemoveConsents(ctx context.Context, tenantID, clientID, principalID string) error {
	_, err := s.exec(ctx, `DELETE FROM consents WHERE tenant_id = ? AND client_id = ? AND principal_id = ?`,
		tenantID, clientID, principalID)
	return wrap("remove consents", err)
}
