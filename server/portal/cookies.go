package portal

import (
	"fmt"
	"time"

	"github.com/tessera-id/tessera/internal/cookieseal"
	"github.com/tessera-id/tessera/internal/firstparty"
)

// KeyPurpose names the key, derived from the server's master key
// (token.MasterKey.Derive), that seals the portal's cookies. Every instance
// on one store shares the master key, so each opens what another sealed;
// the name is part of the cookie format: changing it signs every portal
// user out.
const KeyPurpose = "portal-cookie-encryption"

// The two kinds of sealed cookie. Each has its own subkey and its own
// additional data, so one kind never opens as the other.
const (
	purposeSession = "session"
	purposePending = "pending-sign-in"
)

// cookieLabels name the portal's cookie format (see cookieseal.Labels):
// changing either signs every portal user out.
var cookieLabels = cookieseal.Labels{Key: "tessera portal", AAD: "tessera portal cookie v1"}

// errBadCookie is a cookie that does not open: altered, truncated, of
// another tenant or kind, or sealed under another master key.
var errBadCookie = cookieseal.ErrBadCookie

// sealer encrypts the state the portal keeps in the browser instead of in
// one process's memory, so that any instance behind the load balancer,
// or this one after a restart, can read it (package cookieseal).
type sealer struct{ s *cookieseal.Sealer }

func newSealer(key []byte) (*sealer, error) {
	s, err := cookieseal.New(key, cookieLabels, purposeSession, purposePending)
	if err != nil {
		return nil, fmt.Errorf("portal: the cookie key (derive it from the master key for %q): %w", KeyPurpose, err)
	}
	return &sealer{s: s}, nil
}

// seal returns v as JSON, encrypted for purpose and tenant, base64url:
// a cookie value.
func (s *sealer) seal(purpose, tenantID string, v any) (string, error) {
	return s.s.Seal(purpose, tenantID, v)
}

// open decrypts what seal returned for the same purpose and tenant into v.
func (s *sealer) open(purpose, tenantID, value string, v any) error {
	return s.s.Open(purpose, tenantID, value, v)
}

// sealedSession is a signed-in portal user, as the session cookie carries
// it. The tenant is in the additional data, not here.
type sealedSession struct {
	// AccessToken is the admin API token the portal got for the user. It
	// reaches the browser only sealed: the browser holds it but cannot
	// read or use it.
	AccessToken string `json:"at"`
	// SessionID is the SSO session the token was issued in (its "sid"):
	// sign-out ends it, which ends this portal session on every instance.
	SessionID string `json:"sid"`
	CSRF      string `json:"csrf"`
	Expires   int64  `json:"exp"` // Unix seconds
}

// tokenSessionID reads the "sid" claim of a JWT the provider has just
// issued in process. The signature is not checked: the token never left
// this process, and every request checks it in full (authorize).
func tokenSessionID(jwt string) string {
	var c struct {
		SessionID string `json:"sid"`
	}
	if !firstparty.Claims(jwt, &c) {
		return ""
	}
	return c.SessionID
}

func unixTime(sec int64) time.Time { return time.Unix(sec, 0) }
