package oauth

import (
	"time"

	"github.com/tessera-id/tessera/store"
)

// refreshAction is what the refresh policy decides for a presented token.
type refreshAction int

const (
	// refreshRotate: the token is live; rotate it.
	refreshRotate refreshAction = iota
	// refreshRetry: the token was rotated moments ago; answer with the
	// same successor, because the caller most likely lost the response.
	refreshRetry
	// refreshReuse: the token was rotated long ago; someone replays it.
	// The whole family is revoked.
	refreshReuse
	// refreshDead: revoked, expired or not this client's; refuse.
	refreshDead
)

type refreshVerdict struct {
	action refreshAction
	number int
	reason string
}

// decideRefresh is the refresh policy, free of storage and clocks so it can
// be tested as a table: lifetimes are already folded into ExpiresAt by
// successorExpiry when each token is written.
func decideRefresh(tok store.RefreshToken, fam store.RefreshFamily, clientID string, now time.Time, grace time.Duration) refreshVerdict {
	switch {
	case fam.ClientID != clientID:
		return refreshVerdict{refreshDead, CodeGrantInvalid, "The refresh token was issued to another client."}
	case !fam.RevokedAt.IsZero():
		return refreshVerdict{refreshDead, CodeRefreshRevoked, "The refresh token has been revoked. Sign in again."}
	case !now.Before(fam.ExpiresAt):
		return refreshVerdict{refreshDead, CodeRefreshExpired, "The refresh token has passed its maximum lifetime. Sign in again."}
	case !tok.UsedAt.IsZero() && now.Sub(tok.UsedAt) <= grace:
		return refreshVerdict{refreshRetry, 0, ""}
	case !tok.UsedAt.IsZero():
		return refreshVerdict{refreshReuse, CodeRefreshRevoked, "The refresh token was already used. Every token of its family has been revoked; sign in again."}
	case !now.Before(tok.ExpiresAt):
		return refreshVerdict{refreshDead, CodeRefreshExpired, "The refresh token has expired due to inactivity. Sign in again."}
	}
	return refreshVerdict{refreshRotate, 0, ""}
}

// successorExpiry is when a token written now dies unless used: the idle
// lifetime from now, but never past the family's absolute end.
func successorExpiry(fam store.RefreshFamily, now time.Time, idle time.Duration) time.Time {
	if t := now.Add(idle); t.Before(fam.ExpiresAt) {
		return t
	}
	return fam.ExpiresAt
}
