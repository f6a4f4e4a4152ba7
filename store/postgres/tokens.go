package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		c.Hash, c.TenantID, c.ClientID, c.UserID, c.SessionID, c.RedirectURI, grantValue(c.Grant), c.Nonce,
		c.CodeChallenge, c.CodeChallengeMethod, ts(c.AuthTime), ts(c.CreatedAt), ts(c.ExpiresAt),
		ts(c.UsedAt), c.FamilyID, c.AccessTokenID, ts(c.AccessTokenExpiresAt))
	return wrap("create auth code", err)
}

// GetAuthCode implements store.Store.
func (s *Store) GetAuthCode(ctx context.Context, tenantID string, hash []byte) (store.AuthCode, error) {
	c, err := get(ctx, s, scanCode,
		`SELECT `+codeCols+` FROM auth_codes WHERE tenant_id = $1 AND hash = $2`, tenantID, hash)
	return c, wrap("get auth code", err)
}

// RedeemAuthCode implements store.Store. It returns ErrNotFound for a code
// that does not exist at all. The family and its first token are stored in
// tenantID, and the token in the family, whatever their fields say.
//
// Of concurrent redemptions, the first to reach the row locks it and the
// others wait; once it commits they re-check "used_at IS NULL" against the
// row it left, fail it, and report ErrNotLive. If it rolls back instead (its
// family clashed), the next one in line redeems the code.
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
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE auth_codes
			SET used_at = $1, family_id = $2, access_token_id = $3, access_token_expires_at = $4,
				expires_at = GREATEST(expires_at, $7::timestamptz)
			WHERE tenant_id = $5 AND hash = $6 AND used_at IS NULL`,
			ts(now), familyID, r.AccessTokenID, ts(r.AccessTokenExpiresAt), tenantID, hash, ts(redemptionKeep(r)))
		if err != nil {
			return err
		}
		if err := updated(ctx, tx, tag, "auth_codes", tenantID, hash); err != nil {
			return err
		}
		return insertRedemption(ctx, tx, tenantID, r)
	})
	return wrap("redeem auth code", err)
}

// redemptionKeep is how long a spent code must be kept: until the last of
// what it issued expires (the access token, and the refresh family's
// absolute end). Zero when it issued nothing; GREATEST ignores the NULL
// that becomes.
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
// expired). Asked in the same transaction, after the update waited for any
// concurrent writer of the row, so a row that exists now existed then: rows
// are only ever deleted by collection, once expired, and expired rows fail
// the condition anyway.
func updated(ctx context.Context, tx pgx.Tx, tag pgconn.CommandTag, table, tenantID string, hash []byte) error {
	if tag.RowsAffected() > 0 {
		return nil
	}
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM `+table+` WHERE tenant_id = $1 AND hash = $2`,
		tenantID, hash).Scan(&one)
	if err != nil {
		return err // pgx.ErrNoRows becomes ErrNotFound
	}
	return store.ErrNotLive
}

// insertRedemption stores the family a redemption issues, if any, with its
// first token, in tenantID and linked to each other.
func insertRedemption(ctx context.Context, tx pgx.Tx, tenantID string, r store.Redemption) error {
	if r.Family == nil {
		return nil
	}
	f, t := *r.Family, *r.First
	f.TenantID = tenantID
	t.TenantID, t.FamilyID = tenantID, f.ID
	if _, err := tx.Exec(ctx, insertFamily, familyArgs(f)...); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, insertToken, tokenArgs(t)...)
	return err
}

// Refresh families and tokens.

const familyCols = `id, tenant_id, client_id, user_id, session_id, auth_time, created_at, expires_at, revoked_at`

const insertFamily = `INSERT INTO refresh_families (` + familyCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

func familyArgs(f store.RefreshFamily) []any {
	return []any{f.ID, f.TenantID, f.ClientID, f.UserID, f.SessionID, ts(f.AuthTime),
		ts(f.CreatedAt), ts(f.ExpiresAt), ts(f.RevokedAt)}
}

const tokenCols = `hash, tenant_id, family_id, parent_hash, generation, grant_json, created_at, expires_at, used_at`

const insertToken = `INSERT INTO refresh_tokens (` + tokenCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

func tokenArgs(t store.RefreshToken) []any {
	return []any{t.Hash, t.TenantID, t.FamilyID, t.ParentHash, t.Generation, grantValue(t.Grant),
		ts(t.CreatedAt), ts(t.ExpiresAt), ts(t.UsedAt)}
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
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, insertFamily, familyArgs(f)...); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, insertToken, tokenArgs(first)...)
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
		WHERE t.tenant_id = $1 AND t.hash = $2`, tenantID, hash)
	return v.t, v.f, wrap("get refresh token", err)
}

// RotateRefreshToken implements store.Store. The successor's lineage comes
// from the parent row (tenant, family, parent hash, generation + 1), not
// from the caller, so a chain cannot be mislinked.
//
// One statement, so one round trip and its own transaction: the CTE spends
// the parent and the INSERT stores the successor from what it returns. Of
// concurrent rotations of one parent, the first locks its row; the others
// wait, then re-check "used_at IS NULL" against the row the first left and
// update nothing, so they insert nothing and get ErrNotLive. If the insert
// fails (the successor clashes), the whole statement rolls back, parent
// included.
//
// The family check is a subquery on another table, which a waiting rotation
// evaluates on its snapshot, not re-checks after the wait: a revocation that
// commits while a rotation waits may not stop it. The successor is then
// born in a revoked family, which is as dead as the parent, so the outcome
// is the same as the rotation having gone first.
//
// The spent parent is kept until its family ends, not just until its own
// idle expiry, so that a reuse at any time while the family lives is still
// recognised as a reuse and revokes the family, rather than found unknown
// once collected.
func (s *Store) RotateRefreshToken(ctx context.Context, tenantID string, parentHash []byte, successor store.RefreshToken, now time.Time) error {
	err := retry(ctx, func() error {
		var generation int
		err := s.pool.QueryRow(ctx, `WITH parent AS (
				UPDATE refresh_tokens t SET used_at = $1,
					expires_at = GREATEST(t.expires_at, (SELECT f.expires_at FROM refresh_families f
						WHERE f.tenant_id = t.tenant_id AND f.id = t.family_id))
				WHERE t.tenant_id = $2 AND t.hash = $3 AND t.used_at IS NULL AND t.expires_at > $1
				AND EXISTS (SELECT 1 FROM refresh_families f
					WHERE f.tenant_id = t.tenant_id AND f.id = t.family_id
					AND f.revoked_at IS NULL AND f.expires_at > $1)
				RETURNING t.tenant_id, t.family_id, t.hash, t.generation
			)
			INSERT INTO refresh_tokens (`+tokenCols+`)
			SELECT $4::bytea, parent.tenant_id, parent.family_id, parent.hash, parent.generation + 1,
				$5::jsonb, $6::timestamptz, $7::timestamptz, $8::timestamptz
			FROM parent
			RETURNING generation`,
			ts(now), tenantID, parentHash, successor.Hash, grantValue(successor.Grant),
			ts(successor.CreatedAt), ts(successor.ExpiresAt), ts(successor.UsedAt)).Scan(&generation)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotLive
		}
		return err
	})
	return wrap("rotate refresh token", err)
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
		`SELECT `+familyCols+` FROM refresh_families WHERE tenant_id = $1 AND id = $2`, tenantID, familyID)
	return f, wrap("get refresh family", err)
}

// RevokeRefreshFamily implements store.Store. Revoking again keeps the time
// of the first revocation.
func (s *Store) RevokeRefreshFamily(ctx context.Context, tenantID, familyID string, now time.Time) error {
	err := s.execOne(ctx, `UPDATE refresh_families SET revoked_at = coalesce(revoked_at, $1)
		WHERE tenant_id = $2 AND id = $3`, ts(now), tenantID, familyID)
	return wrap("revoke refresh family", err)
}

// RevokeUserRefreshFamilies implements store.Store. Families that are
// already dead are left as they are.
func (s *Store) RevokeUserRefreshFamilies(ctx context.Context, tenantID, userID, clientID string, now time.Time) error {
	_, err := s.exec(ctx, `UPDATE refresh_families SET revoked_at = $1
		WHERE tenant_id = $2 AND user_id = $3 AND ($4 = '' OR client_id = $4)
		AND revoked_at IS NULL AND expires_at > $1`, ts(now), tenantID, userID, clientID)
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
	// strs: "<> ALL (NULL)" is never true, so a nil keep sent as NULL
	// would revoke nothing.
	_, err := s.exec(ctx, `UPDATE refresh_families SET revoked_at = $1
		WHERE tenant_id = $2 AND session_id = $3 AND client_id <> ALL ($4::text[])
		AND revoked_at IS NULL AND expires_at > $1`, ts(now), tenantID, sessionID, strs(keep))
	return wrap("revoke session refresh families", err)
}

// Collection.

// DeleteExpired implements store.Store. Each table is its own short
// statement, so collection never holds locks long enough to stall the
// token endpoint. Rows are picked by primary key rather than ctid so that
// the statement still works once tables are partitioned or sharded by
// tenant. SKIP LOCKED lets the collectors of several instances run at once
// without queueing behind each other or behind a row being written right
// now; what one skips, the next run takes.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, nil
	}
	// The tables collected by expiry, with their primary keys. Tokens go
	// before families, so that the cascade from a family usually finds none
	// of its tokens left: they expire no later than the family does.
	collected := [...]struct{ table, key string }{
		{"auth_codes", "tenant_id, hash"},
		{"auth_requests", "tenant_id, id"},
		{"sessions", "tenant_id, hash"},
		{"refresh_tokens", "tenant_id, hash"},
		{"refresh_families", "tenant_id, id"},
		{"device_codes", "tenant_id, hash"},
		{"assertion_ids", "tenant_id, client_id, jti"},
		{"revoked_access_tokens", "tenant_id, jti"},
		{"rate_limits", "key"},
		{"throttles", "tenant_id, key"},
	}
	var total int64
	for _, c := range collected {
		n, err := s.exec(ctx, `DELETE FROM `+c.table+` WHERE (`+c.key+`) IN
			(SELECT `+c.key+` FROM `+c.table+` WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
			ts(now), limit)
		total += n
		if err != nil {
			return total, wrap("delete expired "+c.table, err)
		}
	}
	return total, nil
}
