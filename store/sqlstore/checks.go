package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// Replay, revocation and rate checks: small rows the token, introspection
// and userinfo endpoints consult on every request, collected by expiry.

// UseAssertionID implements store.Store. The primary key is the replay
// check: a second insert of the same (tenant, client, jti) is ErrConflict.
// Two inserts at once are settled by the unique index: the second waits
// for the first to commit, then fails.
func (s *Store) UseAssertionID(ctx context.Context, tenantID, clientID, jti string, expiresAt time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO assertion_ids (tenant_id, client_id, jti, expires_at) VALUES ($1, $2, $3, $4)`,
		tenantID, clientID, jti, expiresAt)
	return s.wrap("use assertion id", err)
}

// RevokeAccessToken implements store.Store. Revoking again keeps the later
// expiry, so that the row outlives the token whichever call named its real
// expiry.
func (s *Store) RevokeAccessToken(ctx context.Context, tenantID, jti string, expiresAt time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO revoked_access_tokens (tenant_id, jti, expires_at) VALUES ($1, $2, $3) `+
		s.d.upsert("tenant_id, jti")+` expires_at = GREATEST(revoked_access_tokens.expires_at, excluded.expires_at)`,
		tenantID, jti, expiresAt)
	return s.wrap("revoke access token", err)
}

func scanBool(row scanner) (bool, error) {
	var b bool
	err := row.Scan(&b)
	return b, err
}

// IsAccessTokenRevoked implements store.Store. One primary-key probe on the
// reader pool: it runs on every introspection and userinfo request.
func (s *Store) IsAccessTokenRevoked(ctx context.Context, tenantID, jti string) (bool, error) {
	revoked, err := get(ctx, s, scanBool,
		`SELECT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE tenant_id = $1 AND jti = $2)`, tenantID, jti)
	if err != nil && isNoRows(err) {
		// EXISTS always has a row: get found the jti unrepresentable, and
		// so never revoked.
		return false, nil
	}
	return revoked, s.wrap("is access token revoked", err)
}

func scanInt(row scanner) (int, error) {
	var n int
	err := row.Scan(&n)
	return n, err
}

// Hit implements store.Store with one upsert on the writer (see
// dialect.hit), so that the count is exact across handles, processes and
// instances: of concurrent first hits one inserts and the others, finding
// its row, update it; every update locks the row and reads its latest
// count. Windows are aligned on the unix epoch, so every instance agrees on
// where they start whatever its own start time. A key must always be hit
// with the same window length.
//
// A hit whose now falls in a window older than the stored one (the clock of
// another server a little behind) is counted in the stored window rather
// than resetting it: the window never moves backwards, and skewed clocks
// can only make a limit stricter, never reset it.
func (s *Store) Hit(ctx context.Context, key string, window time.Duration, now time.Time) (int, error) {
	w := window.Milliseconds()
	if w <= 0 {
		return 0, s.wrap("hit", fmt.Errorf("window %v is shorter than a millisecond", window))
	}
	ms := now.UnixMilli()
	start := ms - ((ms%w)+w)%w // rounded down, also before 1970
	var n int
	err := s.retryOn(ctx, func() error {
		var err error
		n, err = s.d.hit(ctx, s, key, time.UnixMilli(start).UTC(), time.UnixMilli(start+w).UTC())
		return err
	})
	return n, s.wrap("hit", err)
}

// hitReturning is dialect.hit for engines with upsert ... RETURNING
// (SQLite, PostgreSQL): one statement that counts and answers.
func hitReturning(ctx context.Context, s *Store, key string, start, end time.Time) (int, error) {
	return scanInt(s.writer().queryRow(ctx, `INSERT INTO rate_limits ("key", window_start, count, expires_at)
		VALUES ($1, $2, 1, $3) `+s.d.upsert(`"key"`)+`
			count = CASE WHEN excluded.window_start <= rate_limits.window_start
				THEN rate_limits.count + 1 ELSE 1 END,
			window_start = GREATEST(rate_limits.window_start, excluded.window_start),
			expires_at = GREATEST(rate_limits.expires_at, excluded.expires_at)
		RETURNING count`, key, start, end))
}
