package cache

import (
	"cmp"
	"slices"
	"time"
)

const (
	// staleAfter is how long past its expiry an access token is still kept:
	// the caller may want an expired token (to show it, or as a hint for
	// the refresh), but not forever.
	staleAfter = 24 * time.Hour
	// sweepEvery bounds how often Apply scans every access token for stale
	// ones; in between it only cleans the bucket it writes to.
	sweepEvery = time.Hour
	// evictSlackDiv: when a cap is exceeded, eviction goes down to
	// cap - cap/evictSlackDiv, so a full scan happens once per cap/64 saves
	// rather than on every save at the cap. Small caps are kept exactly.
	evictSlackDiv = 64
)

// Recency is a per-entry tick from a counter the Cache owns: a hit costs
// one atomic add and one atomic store under the read lock, and ordering
// work is only paid when a cap is exceeded, by a scan under the write lock
// (when no reader can move a tick). A list with move-to-front would need
// the write lock, or a mutex, on every hit.

func (s *state) sweep(now time.Time) {
	cutoff := now.Add(-staleAfter)
	var victims []*atEntry
	s.eachAT(func(e *atEntry) {
		if e.v.ExpiresOn.Before(cutoff) {
			victims = append(victims, e)
		}
	})
	for _, e := range victims {
		s.remove(secAccessToken, e)
	}
}

// lastUsed is when the account or any of its access tokens was last used:
// an access token hit stamps only the token, sparing the hot path a write
// to a second object.
func (u *user) lastUsed() uint64 {
	t := u.used.Load()
	for _, c := range u.creds {
		if at, ok := c.(*atEntry); ok {
			t = max(t, at.used.Load())
		}
	}
	return t
}

// evict enforces the cap on accounts (evicting an account evicts all it
// holds), on access tokens and on refresh tokens, least recently used
// first; ties, such as entries loaded from a store and not used since, go
// in stored order.
func (s *state) evict(maxEntries int) {
	if maxEntries <= 0 {
		return
	}
	target := maxEntries - maxEntries/evictSlackDiv
	if s.nAcc > maxEntries {
		var us []*user
		for _, u := range s.users {
			if len(u.accounts) > 0 {
				us = append(us, u)
			}
		}
		last := make(map[*user]uint64, len(us))
		for _, u := range us {
			last[u] = u.lastUsed()
		}
		slices.SortFunc(us, func(a, b *user) int {
			if c := cmp.Compare(last[a], last[b]); c != 0 {
				return c
			}
			return cmp.Compare(a.accounts[0].seq, b.accounts[0].seq)
		})
		for _, u := range us {
			if s.nAcc <= target {
				break
			}
			s.removeUser(u)
		}
	}
	if s.nAT > maxEntries {
		ats := make([]*atEntry, 0, s.nAT)
		s.eachAT(func(e *atEntry) { ats = append(ats, e) })
		slices.SortFunc(ats, func(a, b *atEntry) int {
			if c := cmp.Compare(a.used.Load(), b.used.Load()); c != 0 {
				return c
			}
			return cmp.Compare(a.seq, b.seq)
		})
		for _, e := range ats[:s.nAT-target] {
			s.remove(secAccessToken, e)
		}
	}
	if s.nRT > maxEntries {
		s.evictRTs(target)
	}
}

// oboKey names the access tokens a refresh token kept without an account
// (an on-behalf-of token) was issued with.
type oboKey struct{ env, client, uah string }

// evictRTs brings the refresh tokens down to target. A refresh token is as
// recent as its own last save or lookup, or as its account's last use; one
// without an account, as the most recent use of an access token for the
// same assertion. An on-behalf-of refresh token is looked up only when its
// access token needs renewing, and must not be evicted while that access
// token is in use, nor outlive it by long once it is not.
func (s *state) evictRTs(target int) {
	obo := map[oboKey]uint64{}
	s.eachAT(func(e *atEntry) {
		if e.user == nil && e.uah != "" {
			k := oboKey{e.env, e.client, e.uah}
			obo[k] = max(obo[k], e.used.Load())
		}
	})
	type ranked struct {
		e    *rtEntry
		used uint64
	}
	rts := make([]ranked, 0, s.nRT)
	lastUsed := map[*user]uint64{}
	for _, e := range s.rts {
		used := e.used.Load()
		if u := e.user; u != nil {
			last, ok := lastUsed[u]
			if !ok {
				last = u.lastUsed()
				lastUsed[u] = last
			}
			used = max(used, last)
		} else if e.uah != "" {
			used = max(used, obo[oboKey{e.env, e.client, e.uah}])
		}
		rts = append(rts, ranked{e, used})
	}
	slices.SortFunc(rts, func(a, b ranked) int {
		if c := cmp.Compare(a.used, b.used); c != 0 {
			return c
		}
		return cmp.Compare(a.e.seq, b.e.seq)
	})
	for _, r := range rts[:max(0, len(rts)-target)] {
		s.remove(secRefreshToken, r.e)
	}
}
