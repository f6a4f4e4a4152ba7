package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/tessera-id/tessera/store"
)

// Authorization codes.

const codeCols = `hash, tenant_id, client_id, user_id, session_id, redirect_uri, grant_json, nonce,
	code_challenge, code_challenge_method, auth_time, created_at, expires_at, used_at, family_id,
	access_token_id, access_token_expires_at, amr`

func scanCode(row scanner) (store.AuthCode, error) {
	var c store.AuthCode
	err := row.Scan(&c.Hash, &c.TenantID, &c.ClientID, &c.UserID, &c.SessionID, &c.RedirectURI,
		grantCol{&c.Grant}, &c.Nonce, &c.CodeChallenge, &c.CodeChallengeMethod, timeCol{&c.AuthTime},
		timeCol{&c.CreatedAt}, timeCol{&c.ExpiresAt}, timeCol{&c.UsedAt}, &c.FamilyID,
		&c.AccessTokenID, timeCol{&c.AccessTokenExpiresAt}, amrCol{&c.AMR})
	return c, err
}

// CreateAuthCode implements store.Store.
func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	_, err := s.exec(ctx, `INSERT INTO auth_codes (`+codeCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		c.Hash, c.TenantID, c.ClientID, c.UserID, c.SessionID, c.RedirectURI, grantValue(c.Grant), c.Nonce,
		c.CodeChallenge, c.CodeChallengeMethod, c.AuthTime, c.CreatedAt, c.ExpiresAt,
		c.UsedAt, c.FamilyID, c.AccessTokenID, c.AccessTokenExpiresAt, amrValue(c.AMR))
	return s.wrap("create auth code", err)
}

// GetAuthCode implements store.Store.
func (s *Store) GetAuthCode(ctx context.Context, tenantID string, hash []byte) (store.AuthCode, error) {
	c, err := get(ctx, s, scanCode,
		`SELECT `+codeCols+` FROM auth_codes WHERE tenant_id = $1 AND hash = $2`, tenantID, hash)
	return c, s.wrap("get auth code", err)
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
		return s.wrap("redeem auth code", err)
	}
	var familyID string
	if r.Family != nil {
		familyID = r.Family.ID
	}
	err := s.tx(ctx, func(c conn) error {
		// GREATEST of a NULL is NULL on SQLite and MySQL: coalesce keeps
		// expires_at as it is when the redemption issues nothing that
		// outlives it.
		n, err := rowsAffected(c.exec(ctx, `UPDATE auth_codes
			SET used_at = $1, family_id = $2, access_token_id = $3, access_token_expires_at = $4,
				expires_at = GREATEST(expires_at, coalesce($7, expires_at))
			WHERE tenant_id = $5 AND hash = $6 AND used_at IS NULL`,
			now, familyID, r.AccessTokenID, r.AccessTokenExpiresAt, tenantID, hash, redemptionKeep(r)))
		if err != nil {
			return err
		}
		if err := updated(ctx, c, n, "auth_codes", tenantID, hash); err != nil {
			return err
		}
		return insertRedemption(ctx, c, tenantID, r)
	})
	return s.wrap("redeem auth code", err)
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
// table changed it (n rows), and otherwise tells why: ErrNotFound if the row
// does not exist, ErrNotLive if it does but failed the condition (used,
// decided, expired). Asked in the same transaction, after the update waited
// for any concurrent writer of the row, so a row that exists now existed
// then: rows are only ever deleted by collection, once expired, and expired
// rows fail the condition anyway.
func updated(ctx context.Context, c conn, n int64, table, tenantID string, hash []byte) error {
	if n > 0 {
		return nil
	}
	var one int
	err := c.queryRow(ctx, `SELECT 1 FROM `+table+` WHERE tenant_id = $1 AND hash = $2`, tenantID, hash).Scan(&one)
	if err != nil {
		return err // sql.ErrNoRows becomes ErrNotFound
	}
	return store.ErrNotLive
}

// insertRedemption stores the family a redemption issues, if any, with its
// first token, in tenantID and linked to each other.
func insertRedemption(ctx context.Context, c conn, tenantID string, r store.Redemption) error {
	if r.Family == nil {
		return nil
	}
	f, t := *r.Family, *r.First
	f.TenantID = tenantID
	t.TenantID, t.FamilyID = tenantID, f.ID
	if _, err := c.exec(ctx, insertFamily, familyArgs(f)...); err != nil {
		return err
	}
	_, err := c.exec(ctx, insertToken, tokenArgs(t)...)
	return err
}

// Refresh families and tokens.

const familyCols = `id, tenant_id, client_id, user_id, session_id, auth_time, created_at, expires_at, revoked_at, amr`

const insertFamily = `INSERT INTO refresh_families (` + familyCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

func familyArgs(f store.RefreshFamily) []any {
	return []any{f.ID, f.TenantID, f.ClientID, f.UserID, f.SessionID, f.AuthTime, f.CreatedAt, f.ExpiresAt, f.RevokedAt, amrValue(f.AMR)}
}

const tokenCols = `hash, tenant_id, family_id, parent_hash, generation, grant_json, created_at, expires_at, used_at`

const insertToken = `INSERT INTO refresh_tokens (` + tokenCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

func tokenArgs(t store.RefreshToken) []any {
	return []any{t.Hash, t.TenantID, t.FamilyID, t.ParentHash, t.Generation, grantValue(t.Grant),
		t.CreatedAt, t.ExpiresAt, t.UsedAt}
}

// spendParent marks a live parent used: $1 is now, $2 the tenant, $3 the
// parent's hash. Each engine's rotation runs it its own way (see
// dialect.rotate) and takes the successor's lineage from the row it
// spends. The spent parent is kept until its family ends, not just until
// its own idle expiry, so that a reuse at any time while the family lives
// is still recognised as a reuse and revokes the family, rather than found
// unknown once collected.
//
// The family check is a subquery on another table, which a rotation that
// waited for the parent's row lock may evaluate on what it saw before the
// wait: a revocation that commits meanwhile may not stop it. The successor
// is then born in a revoked family, which is as dead as the parent, so the
// outcome is the same as the rotation having gone first.
const spendParent = `UPDATE refresh_tokens SET used_at = $1,
			expires_at = GREATEST(expires_at, (SELECT f.expires_at FROM refresh_families f
				WHERE f.tenant_id = refresh_tokens.tenant_id AND f.id = refresh_tokens.family_id))
		WHERE tenant_id = $2 AND hash = $3 AND used_at IS NULL AND expires_at > $1
		AND EXISTS (SELECT 1 FROM refresh_families f
			WHERE f.tenant_id = refresh_tokens.tenant_id AND f.id = refresh_tokens.family_id
			AND f.revoked_at IS NULL AND f.expires_at > $1)`

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
		timeCol{&f.CreatedAt}, timeCol{&f.ExpiresAt}, timeCol{&f.RevokedAt}, amrCol{&f.AMR})
	return v, err
}

// CreateRefreshFamily implements store.Store. The first token is stored in
// the family, whatever its FamilyID says.
func (s *Store) CreateRefreshFamily(ctx context.Context, f store.RefreshFamily, first store.RefreshToken) error {
	first.TenantID, first.FamilyID = f.TenantID, f.ID
	err := s.tx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, insertFamily, familyArgs(f)...); err != nil {
			return err
		}
		_, err := c.exec(ctx, insertToken, tokenArgs(first)...)
		return err
	})
	return s.wrap("create refresh family", err)
}

// GetRefreshToken implements store.Store.
func (s *Store) GetRefreshToken(ctx context.Context, tenantID string, hash []byte) (store.RefreshToken, store.RefreshFamily, error) {
	v, err := get(ctx, s, scanTokenAndFamily, `SELECT
		t.hash, t.tenant_id, t.family_id, t.parent_hash, t.generation, t.grant_json,
		t.created_at, t.expires_at, t.used_at,
		f.id, f.tenant_id, f.client_id, f.user_id, f.session_id,
		f.auth_time, f.created_at, f.expires_at, f.revoked_at, f.amr
		FROM refresh_tokens t JOIN refresh_families f ON f.tenant_id = t.tenant_id AND f.id = t.family_id
		WHERE t.tenant_id = $1 AND t.hash = $2`, tenantID, hash)
	return v.t, v.f, s.wrap("get refresh token", err)
}

// RotateRefreshToken implements store.Store through the engine's own
// rotation (see dialect.rotate and spendParent). The successor's lineage
// comes from the parent row (tenant, family, parent hash, generation + 1),
// not from the caller, so a chain cannot be mislinked.
func (s *Store) RotateRefreshToken(ctx context.Context, tenantID string, parentHash []byte, successor store.RefreshToken, now time.Time) error {
	return s.wrap("rotate refresh token", s.d.rotate(ctx, s, tenantID, parentHash, successor, now))
}

func scanFamily(row scanner) (store.RefreshFamily, error) {
	var f store.RefreshFamily
	err := row.Scan(&f.ID, &f.TenantID, &f.ClientID, &f.UserID, &f.SessionID, timeCol{&f.AuthTime},
		timeCol{&f.CreatedAt}, timeCol{&f.ExpiresAt}, timeCol{&f.RevokedAt}, amrCol{&f.AMR})
	return f, err
}

// GetRefreshFamily implements store.Store.
func (s *Store) GetRefreshFamily(ctx context.Context, tenantID, familyID string) (store.RefreshFamily, error) {
	f, err := get(ctx, s, scanFamily,
		`SELECT `+familyCols+` FROM refresh_families WHERE tenant_id = $1 AND id = $2`, tenantID, familyID)
	return f, s.wrap("get refresh family", err)
}

// RevokeRefreshFamily implements store.Store. Revoking again keeps the time
// of the first revocation.
func (s *Store) RevokeRefreshFamily(ctx context.Context, tenantID, familyID string, now time.Time) error {
	err := s.execOne(ctx, `UPDATE refresh_families SET revoked_at = coalesce(revoked_at, $1)
		WHERE tenant_id = $2 AND id = $3`, now, tenantID, familyID)
	return s.wrap("revoke refresh family", err)
}

// RevokeUserRefreshFamilies implements store.Store. Families that are
// already dead are left as they are.
func (s *Store) RevokeUserRefreshFamilies(ctx context.Context, tenantID, userID, clientID string, now time.Time) error {
	_, err := s.exec(ctx, `UPDATE refresh_families SET revoked_at = $1
		WHERE tenant_id = $2 AND user_id = $3 AND ($4 = '' OR client_id = $4)
		AND revoked_at IS NULL AND expires_at > $1`, now, tenantID, userID, clientID)
	return s.wrap("revoke user refresh families", err)
}

// RevokeSessionRefreshFamilies implements store.Store. Families that are
// already dead are left as they are. A family started outside any session
// has an empty session id; an empty sessionID revokes nothing rather than
// all of those. The clients kept are a list of placeholders, one statement
// per length of it (a tenant has few apps that keep their tokens).
func (s *Store) RevokeSessionRefreshFamilies(ctx context.Context, tenantID, sessionID string, keep []string, now time.Time) error {
	if sessionID == "" {
		return nil
	}
	query := `UPDATE refresh_families SET revoked_at = $1
		WHERE tenant_id = $2 AND session_id = $3 AND revoked_at IS NULL AND expires_at > $1`
	args := []any{now, tenantID, sessionID}
	if len(keep) > 0 {
		query += ` AND client_id NOT IN (` + placeholders(len(args)+1, len(keep)) + `)`
		for _, k := range keep {
			args = append(args, k)
		}
	}
	_, err := s.exec(ctx, query, args...)
	return s.wrap("revoke session refresh families", err)
}

// Collection.

// DeleteExpired implements store.Store. Each table is its own short
// statement (see dialect.deleteExpired), so collection never holds locks
// long enough to stall the token endpoint.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, nil
	}
	var total int64
	for _, c := range s.collected {
		n, err := s.exec(ctx, s.d.deleteExpired(c.table, c.key), now, limit)
		total += n
		if err != nil {
			return total, s.wrap("delete expired "+c.table, err)
		}
	}
	return total, nil
}
