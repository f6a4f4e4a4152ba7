package token

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"

	"github.com/tessera-id/tessera/store"
)

// SharedStore is a store several processes share, which records the check
// value (MasterKey.StoreCheck) of the master key it was set up with
// (PostgreSQL, MySQL).
type SharedStore interface {
	store.Store
	MasterKeyCheck(ctx context.Context) ([]byte, error)
	RecordMasterKeyCheck(ctx context.Context, check []byte) ([]byte, error)
}

var (
	// ErrKeyOpensNoSigningKey: the store records no master key yet, and
	// the key given does not open the signing keys already in it.
	ErrKeyOpensNoSigningKey = errors.New("token: the master key opens no signing key of the store")
	// ErrOtherMasterKey: the store was set up with another master key.
	ErrOtherMasterKey = errors.New("token: the master key is not the one this store was set up with")
)

// CheckSharedStore refuses a master key other than the one st was set up
// with. Processes sharing a store must share the key: it seals the signing
// keys and derives refresh-token successors, so one with another key would
// seal keys no other can open and issue successors no other recognizes.
// The first process to open the store records the key's check value; every
// later one compares. A store that predates the check, or that a first
// start left without one, has its first tenant's active signing key opened
// before the check is recorded, so that the recorded key is the one the
// keys are sealed with.
func (k MasterKey) CheckSharedStore(ctx context.Context, st SharedStore) error {
	want := k.StoreCheck()
	got, err := st.MasterKeyCheck(ctx)
	if errors.Is(err, store.ErrNotFound) {
		if err := k.opensSigningKeys(ctx, st); err != nil {
			return fmt.Errorf("%w: %w", ErrKeyOpensNoSigningKey, err)
		}
		got, err = st.RecordMasterKeyCheck(ctx, want)
	}
	if err != nil {
		return fmt.Errorf("check the master key against the store: %w", err)
	}
	if !hmac.Equal(got, want) {
		return ErrOtherMasterKey
	}
	return nil
}

// opensSigningKeys unseals the active signing key of the store's first
// tenant with k, if there is a tenant.
func (k MasterKey) opensSigningKeys(ctx context.Context, st store.Store) error {
	tenants, err := st.ListTenants(ctx)
	if err != nil || len(tenants) == 0 {
		return err
	}
	_, err = NewKeyring(st, k, nil).Signer(ctx, tenants[0].ID)
	if errors.Is(err, ErrNoActiveKey) {
		return nil // nothing sealed to try
	}
	return err
}
