package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/store"
)

// Device codes (RFC 8628).

const deviceCols = `hash, tenant_id, client_id, user_code, grant_json, status, user_id, session_id,
	auth_time, interval_ms, created_at, expires_at, last_poll_at, used_at, amr`

func scanDevice(row scanner) (store.DeviceCode, error) {
	var d store.DeviceCode
	err := row.Scan(&d.Hash, &d.TenantID, &d.ClientID, &d.UserCode, grantCol{&d.Grant}, &d.Status,
		&d.UserID, &d.SessionID, timeCol{&d.AuthTime}, durationCol{&d.Interval}, timeCol{&d.CreatedAt},
		timeCol{&d.ExpiresAt}, timeCol{&d.LastPollAt}, timeCol{&d.UsedAt}, amrCol{&d.AMR})
	return d, err
}

// CreateDeviceCode implements store.Store. The code is stored pending,
// whatever its Status says: only DecideDeviceCode moves it on, after its
// checks.
func (s *Store) CreateDeviceCode(ctx context.Context, d store.DeviceCode) error {
	_, err := s.exec(ctx, `INSERT INTO device_codes (`+deviceCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		d.Hash, d.TenantID, d.ClientID, d.UserCode, grantValue(d.Grant), string(store.DevicePending),
		d.UserID, d.SessionID, d.AuthTime, d.Interval, d.CreatedAt, d.ExpiresAt, d.LastPollAt, d.UsedAt, amrValue(d.AMR))
	return s.wrap("create device code", err)
}

// GetDeviceCode implements store.Store.
func (s *Store) GetDeviceCode(ctx context.Context, tenantID string, hash []byte) (store.DeviceCode, error) {
	d, err := get(ctx, s, scanDevice,
		`SELECT `+deviceCols+` FROM device_codes WHERE tenant_id = $1 AND hash = $2`, tenantID, hash)
	return d, s.wrap("get device code", err)
}

// GetDeviceCodeByUserCode implements store.Store. userCode is compared as
// given: normalizing it is the caller's, which owns the alphabet and the
// separators. The code is returned whatever its status or expiry, so that
// the verification page can say why it cannot be used.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, tenantID, userCode string) (store.DeviceCode, error) {
	d, err := get(ctx, s, scanDevice,
		`SELECT `+deviceCols+` FROM device_codes WHERE tenant_id = $1 AND user_code = $2`, tenantID, userCode)
	return d, s.wrap("get device code by user code", err)
}

// PollDeviceCode implements store.Store. The read locks the row (where the
// engine needs it: SQLite's write transaction is already exclusive) before
// the update, so two polls at once, from two instances, cannot both see
// the same previous poll and both pass the slow_down check: the second
// waits, then reads the poll the first recorded.
func (s *Store) PollDeviceCode(ctx context.Context, tenantID string, hash []byte, now time.Time) (store.DeviceCode, error) {
	var d store.DeviceCode
	err := s.tx(ctx, func(c conn) error {
		var err error
		d, err = scanDevice(c.queryRow(ctx,
			`SELECT `+deviceCols+` FROM device_codes WHERE tenant_id = $1 AND hash = $2`+s.d.forUpdate(), tenantID, hash))
		if err != nil {
			return err
		}
		_, err = c.exec(ctx, `UPDATE device_codes SET last_poll_at = $1 WHERE tenant_id = $2 AND hash = $3`,
			now, tenantID, hash)
		return err
	})
	if err != nil {
		return store.DeviceCode{}, s.wrap("poll device code", err)
	}
	return d, nil
}

// DecideDeviceCode implements store.Store. A decision is taken once: a code
// already approved or denied is ErrNotLive, so that a second browser tab
// cannot turn a denial into an approval or swap the user. Of two decisions
// at once, the second waits for the first's row lock, then re-checks
// "status = 'pending'" against the decided row and changes nothing.
func (s *Store) DecideDeviceCode(ctx context.Context, tenantID string, hash []byte, d store.DeviceDecision, now time.Time) error {
	if d.Status != store.DeviceApproved && d.Status != store.DeviceDenied {
		return s.wrap("decide device code", fmt.Errorf("decision %q is neither approved nor denied", d.Status))
	}
	err := s.tx(ctx, func(c conn) error {
		n, err := rowsAffected(c.exec(ctx, `UPDATE device_codes
			SET status = $1, user_id = $2, session_id = $3, auth_time = $4, grant_json = $5, amr = $9
			WHERE tenant_id = $6 AND hash = $7 AND status = 'pending' AND expires_at > $8`,
			string(d.Status), d.UserID, d.SessionID, d.AuthTime, grantValue(d.Grant), tenantID, hash, now, amrValue(d.AMR)))
		if err != nil {
			return err
		}
		return updated(ctx, c, n, "device_codes", tenantID, hash)
	})
	return s.wrap("decide device code", err)
}

// RedeemDeviceCode implements store.Store. It returns ErrNotFound for a
// code that does not exist at all. The family and its first token are
// stored in tenantID, and the token in the family, whatever their fields
// say. The access token of r is not recorded: DeviceCode has no field for
// it. Concurrent redemptions are settled as in RedeemAuthCode.
func (s *Store) RedeemDeviceCode(ctx context.Context, tenantID string, hash []byte, now time.Time, r store.Redemption) error {
	if err := checkRedemption(r); err != nil {
		return s.wrap("redeem device code", err)
	}
	err := s.tx(ctx, func(c conn) error {
		n, err := rowsAffected(c.exec(ctx, `UPDATE device_codes SET used_at = $1
			WHERE tenant_id = $2 AND hash = $3 AND status = 'approved' AND used_at IS NULL AND expires_at > $1`,
			now, tenantID, hash))
		if err != nil {
			return err
		}
		if err := updated(ctx, c, n, "device_codes", tenantID, hash); err != nil {
			return err
		}
		return insertRedemption(ctx, c, tenantID, r)
	})
	return s.wrap("redeem device code", err)
}
