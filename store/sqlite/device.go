package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/store"
)

// Device codes (RFC 8628).

const deviceCols = `hash, tenant_id, client_id, user_code, grant_json, status, user_id, session_id,
	auth_time, interval_ms, created_at, expires_at, last_poll_at, used_at`

func scanDevice(row scanner) (store.DeviceCode, error) {
	var d store.DeviceCode
	err := row.Scan(&d.Hash, &d.TenantID, &d.ClientID, &d.UserCode, grantCol{&d.Grant}, &d.Status,
		&d.UserID, &d.SessionID, timeCol{&d.AuthTime}, durationCol{&d.Interval}, timeCol{&d.CreatedAt},
		timeCol{&d.ExpiresAt}, timeCol{&d.LastPollAt}, timeCol{&d.UsedAt})
	return d, err
}

// CreateDeviceCode implements store.Store. The code is stored pending,
// whatever its Status says: only DecideDeviceCode moves it on, after its
// checks.
func (s *Store) CreateDeviceCode(ctx context.Context, d store.DeviceCode) error {
	_, err := s.exec(ctx, `INSERT INTO device_codes (`+deviceCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.Hash, d.TenantID, d.ClientID, d.UserCode, grantValue(d.Grant), string(store.DevicePending),
		d.UserID, d.SessionID, millis(d.AuthTime), d.Interval.Milliseconds(), millis(d.CreatedAt),
		millis(d.ExpiresAt), millis(d.LastPollAt), millis(d.UsedAt))
	return wrap("create device code", err)
}

// GetDeviceCode implements store.Store.
func (s *Store) GetDeviceCode(ctx context.Context, tenantID string, hash []byte) (store.DeviceCode, error) {
	d, err := get(ctx, s, scanDevice,
		`SELECT `+deviceCols+` FROM device_codes WHERE tenant_id = ? AND hash = ?`, tenantID, hash)
	return d, wrap("get device code", err)
}

// GetDeviceCodeByUserCode implements store.Store. userCode is compared as
// given: normalizing it is the caller's, which owns the alphabet and the
// separators. The code is returned whatever its status or expiry, so that
// the verification page can say why it cannot be used.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, tenantID, userCode string) (store.DeviceCode, error) {
	d, err := get(ctx, s, scanDevice,
		`SELECT `+deviceCols+` FROM device_codes WHERE tenant_id = ? AND user_code = ?`, tenantID, userCode)
	return d, wrap("get device code by user code", err)
}

// PollDeviceCode implements store.Store. The read and the update share the
// write transaction, so two polls at once cannot both see the same previous
// poll and both pass the slow_down check.
func (s *Store) PollDeviceCode(ctx context.Context, tenantID string, hash []byte, now time.Time) (store.DeviceCode, error) {
	var d store.DeviceCode
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = scanDevice(tx.QueryRowContext(ctx,
			`SELECT `+deviceCols+` FROM device_codes WHERE tenant_id = ? AND hash = ?`, tenantID, hash))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE device_codes SET last_poll_at = ? WHERE tenant_id = ? AND hash = ?`,
			now.UnixMilli(), tenantID, hash)
		return err
	})
	if err != nil {
		return store.DeviceCode{}, wrap("poll device code", err)
	}
	return d, nil
}

// DecideDeviceCode implements store.Store. A decision is taken once: a code
// already approved or denied is ErrNotLive, so that a second browser tab
// cannot turn a denial into an approval or swap the user.
func (s *Store) DecideDeviceCode(ctx context.Context, tenantID string, hash []byte, d store.DeviceDecision, now time.Time) error {
	if d.Status != store.DeviceApproved && d.Status != store.DeviceDenied {
		return wrap("decide device code", fmt.Errorf("decision %q is neither approved nor denied", d.Status))
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE device_codes
			SET status = ?, user_id = ?, session_id = ?, auth_time = ?, grant_json = ?
			WHERE tenant_id = ? AND hash = ? AND status = 'pending' AND expires_at > ?`,
			string(d.Status), d.UserID, d.SessionID, millis(d.AuthTime), grantValue(d.Grant),
			tenantID, hash, now.UnixMilli())
		if err != nil {
			return err
		}
		return updated(ctx, tx, res, "device_codes", tenantID, hash)
	})
	return wrap("decide device code", err)
}

// RedeemDeviceCode implements store.Store. It returns ErrNotFound for a
// code that does not exist at all. The family and its first token are
// stored in tenantID, and the token in the family, whatever their fields
// say. The access token of r is not recorded: DeviceCode has no field for
// it.
func (s *Store) RedeemDeviceCode(ctx context.Context, tenantID string, hash []byte, now time.Time, r store.Redemption) error {
	if err := checkRedemption(r); err != nil {
		return wrap("redeem device code", err)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE device_codes SET used_at = ?1
			WHERE tenant_id = ?2 AND hash = ?3 AND status = 'approved' AND used_at IS NULL AND expires_at > ?1`,
			now.UnixMilli(), tenantID, hash)
		if err != nil {
			return err
		}
		if err := updated(ctx, tx, res, "device_codes", tenantID, hash); err != nil {
			return err
		}
		return insertRedemption(ctx, tx, tenantID, r)
	})
	return wrap("redeem device code", err)
}
