package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/store"
)

// An attempt is one guess at a secret (a password, a second-factor code)
// counted under several throttle keys at once: the request, the account
// and the source address. admit counts it in flight on all of them before
// the secret is checked, and settle ends it on all of them after, each in
// one store write that holds the keys meanwhile: a sign-in costs two
// commits of the throttles, however many keys it counts under and however
// many sign-ins race on one key.

// counted is one key an attempt is counted under.
type counted struct {
	pol    LockoutPolicy
	key    string
	reason string        // logged when the key refuses an attempt
	locked func() *Error // the answer while it is locked
	what   string        // logged as what a failure locked
}

// refusal tells which key refused an attempt, and how.
type refusal struct {
	key int // the index of the key that refused
	// early: the key was locked already, seen on a read alone, and
	// nothing was written. A flood against a locked account or from a
	// locked address thus never reaches the store's writer.
	early bool
	// locked: the key is locked; else it has as many attempts in flight
	// as failures left before a lock.
	locked bool
}

// errRefused ends admit's store write without writing.
var errRefused = errors.New("oauth: attempt refused")

// admit counts an attempt in flight on every key, unless one of them
// refuses it (see LockoutPolicy.Reserve), and then on none. Attempts sent
// all at once thus get no more checks than failures would be allowed one
// by one.
func (p *Provider) admit(ctx context.Context, tenantID string, keys []counted, now time.Time) (*refusal, *Error) {
	for i, k := range keys {
		t, e := p.throttle(ctx, tenantID, k.key)
		if e != nil {
			return nil, e
		}
		if _, locked := k.pol.Locked(t, now); locked {
			return &refusal{key: i, early: true, locked: true}, nil
		}
	}
	names := keyNames(keys)
	var refused refusal
	_, err := p.store.UpdateThrottles(ctx, tenantID, names, func(cur []store.Throttle) ([]store.ThrottleUpdate, error) {
		ups := make([]store.ThrottleUpdate, len(cur))
		for i, t := range cur {
			next, admitted := keys[i].pol.Reserve(t, now)
			if !admitted {
				_, locked := keys[i].pol.Locked(t, now)
				refused = refusal{key: i, locked: locked}
				return nil, errRefused
			}
			ups[i] = store.ThrottleUpdate{Op: store.ThrottleStore, Next: next}
		}
		return ups, nil
	})
	switch {
	case errors.Is(err, errRefused):
		return &refused, nil
	case err != nil:
		return nil, ServerError(fmt.Errorf("count sign-in attempt: %w", err))
	}
	return nil, nil
}

// keyNames is the store keys of keys, in order.
func keyNames(keys []counted) []string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.key
	}
	return names
}

// ending is how settle ends an admitted attempt on one key.
type ending int

const (
	// takeBack: the attempt did not count; it is no longer in flight.
	takeBack ending = iota
	// countFailure: the attempt failed, counted as LockoutPolicy.Fail
	// counts a failure (which may lock the key).
	countFailure
	// forget: the attempt succeeded and forgets the key's history.
	forget
	// leave: the key stays as it is (a signed-in request asks for no
	// more tries, so its count can stay).
	leave
)

// every is n keys ended alike.
func every(e ending, n int) []ending {
	out := make([]ending, n)
	for i := range out {
		out[i] = e
	}
	return out
}

// settle ends an attempt admit counted on keys, each as ends says (one
// for each key), in one write, and returns the keys' histories after. On
// an error it logs it and returns zero histories, which lock nothing: a
// count not taken back errs on the strict side until it is taken as dead,
// and a failure not counted is in the log.
func (p *Provider) settle(ctx context.Context, tenantID string, keys []counted, ends []ending, now time.Time) ([]store.Throttle, error) {
	if len(ends) != len(keys) {
		return make([]store.Throttle, len(keys)), fmt.Errorf("settle %d keys with %d endings", len(keys), len(ends))
	}
	// The attempt has ended whatever became of its request: a settle
	// skipped because the client went away would hold the keys' room until
	// inFlightBound, and lose a failure.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	names := keyNames(keys)
	after, err := p.store.UpdateThrottles(ctx, tenantID, names, func(cur []store.Throttle) ([]store.ThrottleUpdate, error) {
		ups := make([]store.ThrottleUpdate, len(cur))
		for i, t := range cur {
			switch ends[i] {
			case takeBack, countFailure:
				ups[i] = store.ThrottleUpdate{Op: store.ThrottleStore, Next: keys[i].pol.Settle(t, now, ends[i] == countFailure)}
			case forget:
				ups[i] = store.ThrottleUpdate{Op: store.ThrottleForget}
			case leave:
				ups[i] = store.ThrottleUpdate{Op: store.ThrottleKeep}
			}
		}
		return ups, nil
	})
	if err != nil {
		p.log.WarnContext(ctx, "settle a sign-in attempt's count", "keys", names, "ends", ends, "err", err)
		return make([]store.Throttle, len(keys)), err
	}
	return after, nil
}

// lockedBy returns the first of keys (in the order their locks are
// reported) that settled is locked, or -1.
func lockedBy(keys []counted, settled []store.Throttle, now time.Time) int {
	for i, k := range keys {
		if _, locked := k.pol.Locked(settled[i], now); locked {
			return i
		}
	}
	return -1
}
