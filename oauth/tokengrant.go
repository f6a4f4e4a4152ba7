package oauth

import (
	"context"
	"errors"
	"time"

	"github.com/tessera-id/tessera/store"
)

// Access tokens are JWTs that resource servers check offline, so revoking
// a grant cannot reach the copies they hold. Introspection and userinfo
// are the two places Tessera answers for a token online, and there a token
// is worth no more than the grant it stands on:
//
//   - its user, still enabled;
//   - its refresh family, named by the private "fam" claim, when the token
//     was issued with a refresh token or from one (or derived, by
//     on-behalf-of or token exchange, from a token that was): not revoked
//     (refresh token revoked or reused, consent withdrawn for the user,
//     sign-out, user disabled) and not past its end. A family outlives its
//     sign-in session on purpose, so such a token is judged by the family
//     alone, not by the session;
//   - without a family, the sign-in session named by "sid": still there
//     and not expired (sign-out deletes it). The same rule as a code
//     redemption (sessionLive);
//   - the consents of its client: every scope in scp still granted by the
//     user or an admin for the token's audience (for an app token, every
//     role still granted by an admin).
//
// The "fam" claim is opaque: an id that means nothing outside Tessera's
// store, and that no endpoint accepts as a credential. Minting it costs
// nothing (the family is known when the token is signed); the reads are
// on introspection and userinfo only, and the consent read is served by
// the directory cache.

// grantState is what tokenGrant found out about a token's grant.
type grantState struct {
	user   store.User // the token's user; zero for an app token
	ended  string     // why the grant no longer stands; "" while it does
	number int        // the error code that goes with ended
}

// tokenGrant checks that the grant behind a verified access token still
// stands. An error is an internal failure, not a verdict.
func (p *Provider) tokenGrant(ctx context.Context, ep Endpoint, v verifiedAccess) (grantState, error) {
	if v.isApp() {
		consents, err := p.loadConsents(ctx, ep.Tenant.ID, v.ClientID, "")
		if err != nil {
			return grantState{}, err
		}
		for _, r := range v.Roles {
			if !consents.roles[v.Audience][r] {
				return grantState{ended: "The application permission '" + r + "' was withdrawn.", number: CodeConsentRequired}, nil
			}
		}
		return grantState{}, nil
	}

	user, err := p.store.GetUser(ctx, ep.Tenant.ID, v.Subject)
	if errors.Is(err, store.ErrNotFound) || (err == nil && user.Disabled) {
		return grantState{ended: "The token's user is disabled or was removed.", number: CodeUserDisabled}, nil
	}
	if err != nil {
		return grantState{}, err
	}
	st := grantState{user: user}
	now := p.now()
	switch {
	case v.FamilyID != "":
		fam, err := p.store.GetRefreshFamily(ctx, ep.Tenant.ID, v.FamilyID)
		// A family is deleted only once it has ended (expired rows are
		// collected), so one that is gone has ended too.
		if errors.Is(err, store.ErrNotFound) || (err == nil && (!fam.RevokedAt.IsZero() || !now.Before(fam.ExpiresAt))) {
			st.ended, st.number = "The grant this token was issued from was revoked (sign-out, revoked refresh token or withdrawn consent).", CodeRefreshRevoked
			return st, nil
		}
		if err != nil {
			return grantState{}, err
		}
	case v.SessionID != "":
		if ended, err := p.sessionEnded(ctx, ep, v.SessionID, now); err != nil || ended {
			if ended {
				st.ended, st.number = "The sign-in session this token was issued in has ended (the user signed out).", CodeSessionEnded
			}
			return st, err
		}
	}

	consents, err := p.loadConsents(ctx, ep.Tenant.ID, v.ClientID, user.ID)
	if err != nil {
		return grantState{}, err
	}
	for _, s := range v.scopes() {
		// Resource scopes cannot be named like OIDC ones (admin refuses
		// it), so the name tells which kind of consent covers it.
		granted := consents.oidc[s]
		if !isOIDCScope(s) {
			granted = consents.hasScope(v.Audience, s)
		}
		if !granted {
			st.ended, st.number = "The consent to '"+s+"' behind this token was withdrawn.", CodeConsentRequired
			return st, nil
		}
	}
	return st, nil
}

// sessionEnded reports whether a sign-in session is gone or expired.
func (p *Provider) sessionEnded(ctx context.Context, ep Endpoint, sessionID string, now time.Time) (bool, error) {
	s, err := p.store.GetSessionByID(ctx, ep.Tenant.ID, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return !now.Before(s.ExpiresAt), nil
}

// familyOf is the id of the family a redemption starts, or "".
func familyOf(r store.Redemption) string {
	if r.Family == nil {
		return ""
	}
	return r.Family.ID
}
