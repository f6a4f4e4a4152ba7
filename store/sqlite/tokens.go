package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tessera-id/tessera/store"
)

// Authorization codes.

const codeCols = `hash, tenant_id, client_id, user_id, session_id, redirect_uri, grant_json, nonce,
	code_challenge, code_challenge_method, auth_time, created_at, expires_at, used_at, family_id,
	access_token_id, access_token_expires_at`

func scanCode(row scanner) (store.AuthCode, error) {
	var c store.AuthCode
	err := row.Scan(&c.Hash, &c.TenantID, &c.ClientID, &c.UserID, &c.SessionID, &c.RedirectURI,
		grantCol{&c.Grant}, &c.Nonce, &c.CodeChallenge, &c.CodeChallengeMethod, timeCol{&c.AuthTime},
		timeCol{&c.CreatedAt}, timeCol{&c.ExpiresAt}, timeCol{&c.UsedAt}, &c.FamilyID,
		&c.AccessTokenID, timeCol{&c.AccessTokenExpiresAt})
	return c, err
}

// CreateAuthCode implements store.Store.
func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	_, err := s.exec(ctx, `INSERT INTO auth_codes (`+codeCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, c.TenantID, c.ClientID, c.UserID, c.SessionID, c.RedirectURI, grantValue(c.Grant), c.Nonce,
		c.CodeChallenge, c.CodeChallengeMethod, millis(c.AuthTime), millis(c.CreatedAt), millis(c.ExpiresAt),
		millis(c.UsedAt), c.FamilyID, c.AccessTokenID, millis(c.AccessTokenExpiresAt))
	return wrap("create auth code", err)
}

// GetAuthCode implements store.Store.
func (s *Store) GetAuthCode(ctx context.Context, tenantID string, hash []byte) (store.AuthCode, error) {
	c, err := get(ctx, s, scanCode,
		`SELECT `+codeCols+` FROM auth_codes WHERE tenant_id = ? AND hash = ?`, tenantID, hash)
	return c, wrap("get auth code", err)
}

// RedeemAuthCode implements store.Store. It returns ErrNotFound for a code
// that does not exist at all. The family and its first token are stored in
// tenantID, and the token in the family, whatever their fields say.
//
// The spent code is kept (its expires_at pushed out) for as long as what it
// issued lives, see redemptionKeep, so that a replay long after the code's
// own ten minutes still finds it and revokes those tokens.
func (s *Store) RedeemAuthCode(ctx context.Context, tenantID string, hash []byte, now time.Time, r store.Redemption) error {
	if err := checkRedemption(r); err != nil {
		return wrap("redeem auth code", err)
	}
	var familyID string
	if r.Family != nil {
		familyID = r.Family.ID
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// SQLite's max() of a NULL is NULL: coalesce keeps expires_at as it
		// is when the redemption issues nothing that outlives it.
		res, err := tx.ExecContext(ctx, `UPDATE auth_codes
			SET used_at = ?, family_id = ?, access_token_id = ?, access_token_expires_at = ?,
				expires_at = max(expires_at, coalesce(?, expires_at))
			WHERE tenant_id = ? AND hash = ? AND used_at IS NULL`,
			now.UnixMilli(), familyID, r.AccessTokenID, millis(r.AccessTokenExpiresAt), millis(redemptionKeep(r)), tenantID, hash)
		if err != nil {
			return err
		}
		if err := updated(ctx, tx, res, "auth_codes", tenantID, hash); err != nil {
			return err
		}
		return insertRedemption(ctx, tx, tenantID, r)
	})
	return wrap("redeem auth code", err)
}

// redemptionKeep is how long a spent code must be kept: until the last of
// what it issued expires (the access token, and the refresh family's
// absolute end). Zero when it issued nothing.
func redemptionKeep(r store.Redemption) time.Time {
	keep := r.AccessTokenExpiresAt
	if r.Family != nil && r.Family.ExpiresAt.After(keep) {
		keep = r.Family.ExpiresAt
	}
	return keep
}

// checkRedemption refuses a family without its first token or the other way
// round, before anything is spent on it.
func checkRedemption(r store.Redemption) error {
	if (r.Family == nil) != (r.First == nil) {
		return errors.New("a family needs its first token and the other way round")
	}
	return nil
}

// updated checks that a conditional update of the row (tenantID, hash) of
// table changed it, and otherwise tells why: ErrNotFound if the row does
// not exist, ErrNotLive if it does but failed the condition (used, decided,
// expired). Asked in the same transaction, so the answer holds.
func updated(ctx context.Context, tx *sql.Tx, res sql.Result, table, tenantID string, hash []byte) error {
	n, err := res.RowsAffected()
	if err != nil || n > 0 {
		return err
	}
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE tenant_id = ? AND hash = ?`,
		tenantID, hash).Scan(&one)
	if err != nil {
		return err // sql.ErrNoRows becomes ErrNotFound
	}
	return store.ErrNotLive
}

// insertRedemption stores the family a redemption issues, if any, with its
// first token, in tenantID and linked to each other.
func insertRedemption(ctx context.Context, tx *sql.Tx, tenantID string, r store.Redemption) error {
	if r.Family == nil {
		return nil
	}
	f, t := *r.Family, *r.First
	f.TenantID = tenantID
	t.TenantID, t.FamilyID = tenantID, f.ID
	if _, err := tx.ExecContext(ctx, insertFamily, familyArgs(f)...); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, insertToken, tokenArgs(t)...)
	return err
}

// Refresh families and tokens.

const familyCols = `id, tenant_id, client_id, user_id, session_id, auth_time, created_at, expires_at, revoked_at`

const insertFamily = `INSERT INTO refresh_families (` + familyCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

func familyArgs(f store.RefreshFamily) []any {
	return []any{f.ID, f.TenantID, f.ClientID, f.UserID, f.SessionID, millis(f.AuthTime),
		millis(f.CreatedAt), millis(f.ExpiresAt), millis(f.RevokedAt)}
}

const tokenCols = `hash, tenant_id, family_id, parent_hash, generation, grant_json, created_at, expires_at, used_at`

const insertToken = `INSERT INTO refresh_tokens (` + tokenCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

func tokenArgs(t store.RefreshToken) []any {
	return []any{t.Hash, t.TenantID, t.FamilyID, t.ParentHash, t.Generation, grantValue(t.Grant),
		millis(t.CreatedAt), millis(t.ExpiresAt), millis(t.UsedAt)}
}

type tokenAndFamily struct {
	t store.RefreshToken
	f store.RefreshFamily
}

func scanTokenAndFamily(row scanner) (tokenAndFamily, error) {
	var v tokenAndFamily
	t, f := &v.t, &v.f
	err := row.Scan(&t.Hash, &t.TenantID, &t.FamilyID, &t.ParentHash, &t.Generation, grantCol{&t.Grant},
		timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt}, timeCol{&t.UsedAt},
		&f.ID, &f.TenantID, &f.ClientID, &f.UserID, &f.SessionID, timeCol{&f.AuthTime},
		timeCol{&f.CreatedAt}, timeCol{&f.ExpiresAt}, timeCol{&f.RevokedAt})
	return v, err
}

// CreateRefreshFamily implements store.Store. The first token is stored in
// the family, whatever its FamilyID says.
func (s *Store) CreateRefreshFamily(ctx context.Context, f store.RefreshFamily, first store.RefreshToken) error {
	first.TenantID, first.FamilyID = f.TenantID, f.ID
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertFamily, familyArgs(f)...); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, insertToken, tokenArgs(first)...)
		return err
	})
	return wrap("create refresh family", err)
}

// GetRefreshToken implements store.Store.
func (s *Store) GetRefreshToken(ctx context.Context, tenantID string, hash []byte) (store.RefreshToken, store.RefreshFamily, error) {
	v, err := get(ctx, s, scanTokenAndFamily, `SELECT
		t.hash, t.tenant_id, t.family_id, t.parent_hash, t.generation, t.grant_json,
		t.created_at, t.expires_at, t.used_at,
		f.id, f.tenant_id, f.client_id, f.user_id, f.session_id,
		f.auth_time, f.created_at, f.expires_at, f.revoked_at
		FROM refresh_tokens t JOIN refresh_families f ON f.tenant_id = t.tenant_id AND f.id = t.family_id
		WHERE t.tenant_id = ? AND t.hash = ?`, tenantID, hash)
	return v.t, v.f, wrap("get refresh token", err)
}

func scanFamily(row scanner) (store.RefreshFamily, error) {
	var f store.RefreshFamily
	err := row.Scan(&f.ID, &f.TenantID, &f.ClientID, &f.UserID, &f.SessionID, timeCol{&f.AuthTime},
		timeCol{&f.CreatedAt}, timeCol{&f.ExpiresAt}, timeCol{&f.RevokedAt})
	return f, err
}

// GetRefreshFamily implements store.Store.
func (s *Store) GetRefreshFamily(ctx context.Context, tenantID, familyID string) (store.RefreshFamily, error) {
	f, err := get(ctx, s, scanFamily,
		`SELECT `+familyCols+` FROM refresh_families WHERE tenant_id = ? AND id = ?`, tenantID, familyID)
	return f, wrap("get refresh family", err)
}

// RevokeRefreshFamily implements store.Store. Revoking again keeps the time
// of the first revocation.
func (s *Store) RevokeRefreshFamily(ctx context.Context, tenantID, familyID string, now time.Time) error {
	err := s.execOne(ctx, `UPDATE refresh_families SET revoked_at = coalesce(revoked_at, ?)
		WHERE tenant_id = ? AND id = ?`, now.UnixMilli(), tenantID, familyID)
	return wrap("revoke refresh family", err)
}

// RevokeUserRefreshFamilies implements store.Store. Families that are
// already dead are left as they are.
func (s *Store) RevokeUserRefreshFamilies(ctx context.Context, tenantID, userID, clientID string, now time.Time) error {
	_, err := s.exec(ctx, `UPDATE refresh_families SET revoked_at = ?1
		WHERE tenant_id = ?2 AND user_id = ?3 AND (?4 = '' OR client_id = ?4)
		AND revoked_at IS NULL AND expires_at > ?1`, now.UnixMilli(), tenantID, userID, clientID)
	return wrap("revoke user refresh families", err)
}

// RevokeSessionRefreshFamilies implements store.Store. Families that are
// already dead are left as they are. A family started outside any session
// has an empty session id; an empty sessionID revokes nothing rather than
// all of those.
func (s *Store) RevokeSessionRefreshFamilies(ctx context.Context, tenantID, sessionID string, keep []string, now time.Time) error {
	if sessionID == "" {
		return nil
	}
	// A nil slice would encode as JSON null, which json_each reads as one
	// NULL value, and "NOT IN (NULL)" is never true: nothing would be
	// revoked.
	if keep == nil {
		keep = []string{}
	}
	_, err := s.exec(ctx, `UPDATE refresh_families SET revoked_at = ?1
		WHERE tenant_id = ?2 AND session_id = ?3
		AND client_id NOT IN (SELECT value FROM json_each(?4))
		AND revoked_at IS NULL AND expires_at > ?1`, now.UnixMilli(), tenantID, sessionID, jsonCol{keep})
	return wrap("revoke session refresh families", err)
}

// Collection.

// DeleteExpired implements store.Store. Each table is its own short
// transaction, so collection never holds the write lock long enough to
// stall the token endpoint. Tokens go before families, so that the cascade
// from a family usually finds none of its tokens left: they expire no later
// than the family does.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, nil
	}
	var total int64
	for _, table := range []string{"auth_codes", "auth_requests", "sessions", "refresh_tokens", "refresh_families",
		"device_codes", "assertion_ids", "revoked_access_tokens", "rate_limits", "throttles"} {
		n, err := s.exec(ctx, `DELETE FROM `+table+` WHERE rowid IN
			(SELECT rowid FROM `+table+` WHERE expires_at <= ? LIMIT ?)`, now.UnixMilli(), limit)
		total += n
		if err != nil {
			return total, wrap("delete expired "+table, err)
		}
	}
	return total, nil
}
