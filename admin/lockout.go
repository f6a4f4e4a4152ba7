package admin

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/tessera-id/tessera/store"
)

// LockoutOptions are the settings of `tenant set`: nil leaves a setting
// as it is, zero gives it back to the server's default.
type LockoutOptions struct {
	Threshold        *int
	Duration         *time.Duration
	MaxDuration      *time.Duration
	ResetAfter       *time.Duration
	AddressThreshold *int
	RequestAttempts  *int
}

// Bounds of the lockout settings: wide enough for any policy worth having,
// narrow enough that a typo cannot switch protection off (a threshold of a
// million) or lock people out for good (a lockout of a year).
const (
	maxLockoutThreshold = 1000
	maxAddressThreshold = 1_000_000
	maxRequestAttempts  = 100
	minLockoutDuration  = time.Second
	maxLockoutDuration  = 24 * time.Hour
	minLockoutReset     = time.Minute
	maxLockoutReset     = 90 * 24 * time.Hour
)

// SetLockout changes a tenant's sign-in lockout settings. Every instance
// applies them from its next sign-in on (the tenant is cached, and the
// change flushes every cache).
func (a *Admin) SetLockout(ctx context.Context, t store.Tenant, o LockoutOptions) (store.Tenant, error) {
	if err := a.may(PermDirectoryReadWrite); err != nil {
		return store.Tenant{}, err
	}
	l := t.Lockout
	count := func(name string, v *int, limit int, dst *int) error {
		if v == nil {
			return nil
		}
		if *v < 0 || *v > limit {
			return invalid("%s %d: use 1 to %d, or 0 for the server default", name, *v, limit)
		}
		*dst = *v
		return nil
	}
	length := func(name string, v *time.Duration, lo, hi time.Duration, dst *time.Duration) error {
		if v == nil {
			return nil
		}
		if *v != 0 && (*v < lo || *v > hi) {
			return invalid("%s %s: use %s to %s, or 0 for the server default", name, *v, lo, hi)
		}
		*dst = *v
		return nil
	}
	for _, err := range []error{
		count("lockout threshold", o.Threshold, maxLockoutThreshold, &l.Threshold),
		length("lockout duration", o.Duration, minLockoutDuration, maxLockoutDuration, &l.Duration),
		length("lockout max duration", o.MaxDuration, minLockoutDuration, maxLockoutDuration, &l.MaxDuration),
		length("lockout reset after", o.ResetAfter, minLockoutReset, maxLockoutReset, &l.ResetAfter),
		count("address lockout threshold", o.AddressThreshold, maxAddressThreshold, &l.AddressThreshold),
		count("request attempts", o.RequestAttempts, maxRequestAttempts, &l.RequestAttempts),
	} {
		if err != nil {
			return store.Tenant{}, err
		}
	}
	if l.Duration > 0 && l.MaxDuration > 0 && l.MaxDuration < l.Duration {
		return store.Tenant{}, invalid("lockout max duration %s is shorter than the lockout duration %s", l.MaxDuration, l.Duration)
	}
	old := t.Lockout
	var c changes
	c.text("threshold", strconv.Itoa(old.Threshold), strconv.Itoa(l.Threshold))
	c.duration("duration", old.Duration, l.Duration)
	c.duration("maxDuration", old.MaxDuration, l.MaxDuration)
	c.duration("resetAfter", old.ResetAfter, l.ResetAfter)
	c.text("addressThreshold", strconv.Itoa(old.AddressThreshold), strconv.Itoa(l.AddressThreshold))
	c.text("requestAttempts", strconv.Itoa(old.RequestAttempts), strconv.Itoa(l.RequestAttempts))
	e := a.entry(catPolicy, "Update sign-in lockout policy", target{t.ID, "tenant", t.ID, t.Name}, c)
	err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.SetTenantLockout(ctx, t.ID, l) })
	if err != nil {
		return store.Tenant{}, fmt.Errorf("set lockout of tenant %s: %w", t.Name, err)
	}
	t.Lockout = l
	return t, nil
}
