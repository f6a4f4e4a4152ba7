package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/tessera-id/tessera/store"
)

// Second factors and recovery codes. A factor's replay guard (its
// counter: a TOTP's last time step, a passkey's signature count) moves by
// one conditional UPDATE, "counter < new": of two instances accepting the
// same code at once the row lock lets one through and the other, re-
// checking the condition against the winner's row, changes nothing. A
// recovery code is spent by deleting its row, which only one caller can.

const factorCols = `tenant_id, id, user_id, kind, name, secret, data, counter, created_at, last_used_at`

func scanFactor(row scanner) (store.Factor, error) {
	var f store.Factor
	err := row.Scan(&f.TenantID, &f.ID, &f.UserID, &f.Kind, &f.Name, &f.Secret, &f.Data, &f.Counter,
		timeCol{&f.CreatedAt}, timeCol{&f.LastUsedAt})
	return f, err
}

// AddFactor implements store.Store.
func (s *Store) AddFactor(ctx context.Context, f store.Factor, codes []store.RecoveryCode) error {
	err := s.tx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `INSERT INTO factors (`+factorCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			f.TenantID, f.ID, f.UserID, string(f.Kind), f.Name, f.Secret, f.Data, f.Counter, f.CreatedAt, f.LastUsedAt); err != nil {
			return err
		}
		if codes == nil {
			return nil
		}
		return replaceRecoveryCodes(ctx, c, f.TenantID, f.UserID, codes)
	})
	return s.wrap("add factor", err)
}

// ListFactors implements store.Store.
func (s *Store) ListFactors(ctx context.Context, tenantID, userID string) ([]store.Factor, error) {
	fs, err := list(ctx, s, scanFactor, `SELECT `+factorCols+` FROM factors WHERE tenant_id = $1 AND user_id = $2
		ORDER BY created_at, id`, tenantID, userID)
	return fs, s.wrap("list factors", err)
}

// GetFactor implements store.Store.
func (s *Store) GetFactor(ctx context.Context, tenantID, factorID string) (store.Factor, error) {
	f, err := get(ctx, s, scanFactor, `SELECT `+factorCols+` FROM factors WHERE tenant_id = $1 AND id = $2`, tenantID, factorID)
	return f, s.wrap("get factor", err)
}

// RemoveFactor implements store.Store.
func (s *Store) RemoveFactor(ctx context.Context, tenantID, userID, factorID string) error {
	err := s.tx(ctx, func(c conn) error {
		if err := deleteOne(ctx, c, `DELETE FROM factors WHERE tenant_id = $1 AND user_id = $2 AND id = $3`,
			tenantID, userID, factorID); err != nil {
			return err
		}
		// Recovery codes stand in for a factor: without one they would
		// be a second factor of their own, which nobody enrolled.
		_, err := c.exec(ctx, `DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2
			AND NOT EXISTS (SELECT 1 FROM factors WHERE tenant_id = $1 AND user_id = $2)`, tenantID, userID)
		return err
	})
	return s.wrap("remove factor", err)
}

// ResetFactors implements store.Store.
func (s *Store) ResetFactors(ctx context.Context, tenantID, userID string) error {
	err := s.tx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `DELETE FROM factors WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID); err != nil {
			return err
		}
		_, err := c.exec(ctx, `DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID)
		return err
	})
	return s.wrap("reset factors", err)
}

// AdvanceFactorCounter implements store.Store.
func (s *Store) AdvanceFactorCounter(ctx context.Context, tenantID, factorID string, counter int64, now time.Time) error {
	n, err := s.exec(ctx, `UPDATE factors SET counter = $1, last_used_at = $2
		WHERE tenant_id = $3 AND id = $4 AND counter < $1`, counter, now, tenantID, factorID)
	if err == nil && n == 0 {
		// Either the counter did not move or the factor is gone: tell
		// them apart, as a removed factor is not a replay.
		_, gerr := get(ctx, s, scanFactor, `SELECT `+factorCols+` FROM factors WHERE tenant_id = $1 AND id = $2`, tenantID, factorID)
		switch {
		case gerr == nil:
			err = store.ErrNotLive
		default:
			err = gerr
		}
	}
	return s.wrap("advance factor counter", err)
}

// SetRecoveryCodes implements store.Store.
func (s *Store) SetRecoveryCodes(ctx context.Context, tenantID, userID string, codes []store.RecoveryCode) error {
	err := s.tx(ctx, func(c conn) error { return replaceRecoveryCodes(ctx, c, tenantID, userID, codes) })
	return s.wrap("set recovery codes", err)
}

func replaceRecoveryCodes(ctx context.Context, c conn, tenantID, userID string, codes []store.RecoveryCode) error {
	if _, err := c.exec(ctx, `DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID); err != nil {
		return err
	}
	if len(codes) == 0 {
		return nil
	}
	var b strings.Builder
	args := make([]any, 0, 4*len(codes))
	for i, rc := range codes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + placeholders(4*i+1, 4) + ")")
		args = append(args, tenantID, userID, rc.Hash, rc.CreatedAt)
	}
	_, err := c.exec(ctx, `INSERT INTO recovery_codes (tenant_id, user_id, hash, created_at) VALUES `+b.String(), args...)
	return err
}

// UseRecoveryCode implements store.Store.
func (s *Store) UseRecoveryCode(ctx context.Context, tenantID, userID string, hash []byte) error {
	n, err := s.exec(ctx, `DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2 AND hash = $3`, tenantID, userID, hash)
	if err == nil && n == 0 {
		err = store.ErrNotLive
	}
	return s.wrap("use recovery code", err)
}

// CountRecoveryCodes implements store.Store.
func (s *Store) CountRecoveryCodes(ctx context.Context, tenantID, userID string) (int, error) {
	n, err := get(ctx, s, scanInt, `SELECT COUNT(*) FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID)
	return n, s.wrap("count recovery codes", err)
}

// UpgradeSession implements store.Store.
func (s *Store) UpgradeSession(ctx context.Context, tenantID, sessionID string, amr []string, authTime time.Time) error {
	err := s.execOne(ctx, `UPDATE sessions SET amr = $1, auth_time = $2 WHERE tenant_id = $3 AND id = $4`, amrValue(amr), authTime, tenantID, sessionID)
	return s.wrap("upgrade session", err)
}

// RenewSession implements store.Store.
func (s *Store) RenewSession(ctx context.Context, tenantID string, oldHash []byte, r store.Session) error {
	err := s.execOne(ctx, `UPDATE sessions SET hash = $1, amr = $2, auth_time = $3, expires_at = $4 WHERE tenant_id = $5 AND id = $6 AND hash = $7`,
		r.Hash, amrValue(r.AMR), r.AuthTime, r.ExpiresAt, tenantID, r.ID, oldHash)
	return s.wrap("renew session", err)
}

// SetTenantMFA implements store.Store.
func (s *Store) SetTenantMFA(ctx context.Context, tenantID string, p store.MFAPolicy) error {
	err := s.execOne(ctx, `UPDATE tenants SET mfa_policy = $1 WHERE id = $2`, string(p), tenantID)
	return s.wrap("set tenant mfa policy", err)
}

// amrValue is the stored form of a list of authentication methods: the
// RFC 8176 values, space-separated (none contains a space), the same on
// every engine.
func amrValue(amr []string) string { return strings.Join(amr, " ") }

// amrCol scans an amr column.
type amrCol struct{ v *[]string }

func (c amrCol) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	}
	*c.v = strings.Fields(s)
	if len(*c.v) == 0 {
		*c.v = nil // as written: no methods
	}
	return nil
}
