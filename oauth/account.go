package oauth

import (
	"context"
	"errors"
	"net/http"

	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/store"
)

// wrongCurrentPassword answers a wrong current password on the account
// page: the user is known there, so the answer can say which field.
func wrongCurrentPassword() *Error {
	return newError(ErrAccessDenied, http.StatusUnauthorized, CodeBadCredentials, "Your current password is incorrect.")
}

// VerifyPassword checks that pw is the password of the signed-in user
// userID, for the account page's password change, counted as a sign-in
// attempt is: under the same account and address keys, so that guesses
// made there and on the sign-in page add up, a locked account or address
// is refused without checking, and attempts sent at once get no more
// checks than the lockout allows. The current-password field is thus no
// faster an oracle than the sign-in form. A success forgets the account's
// failures, as a sign-in does.
func (p *Provider) VerifyPassword(ctx context.Context, ep Endpoint, userID, pw, address string) *Error {
	if pw == "" || len(pw) > password.MaxLen {
		return wrongCurrentPassword()
	}
	user, err := p.store.GetUser(ctx, ep.Tenant.ID, userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && user.Disabled) {
		return badCredentials()
	}
	if err != nil {
		return ServerError(err)
	}
	pol := p.signInPolicies(ep.Tenant)
	now := p.now()
	const account, addr = 0, 1
	keys := []counted{
		account: {pol: pol.account, key: accountKey(user.Username, user.Username), reason: reasonAccountLocked, locked: accountLocked, what: "account"},
		addr:    {pol: pol.address, key: addressKey(address), reason: reasonAddressLocked, locked: addressThrottled, what: "address"},
	}
	refuse := func(reason string, e *Error) *Error {
		p.log.WarnContext(ctx, "password check refused", "tenant", ep.Tenant.ID, "user", user.ID, "address", address, "reason", reason)
		return e
	}
	for i := range keys {
		t, e := p.throttle(ctx, ep.Tenant.ID, keys[i].key)
		if e != nil {
			return e
		}
		if _, locked := keys[i].pol.Locked(t, now); locked {
			return refuse(keys[i].reason, keys[i].locked())
		}
		keys[i].prev = t
	}
	for i := range keys {
		t, admitted, e := p.reserve(ctx, keys[i].pol, keys[i].prev, now)
		if e != nil {
			p.settle(ctx, keys[:i], false, now)
			return e
		}
		keys[i].prev = t
		if !admitted {
			p.settle(ctx, keys[:i], false, now)
			if _, locked := keys[i].pol.Locked(t, now); locked {
				return refuse(keys[i].reason, keys[i].locked())
			}
			return refuse(reasonBusy, signInBusy())
		}
	}
	hash := user.PasswordHash
	if hash == "" {
		hash = p.dummyHash
	}
	select {
	case p.passwordSlots <- struct{}{}:
	case <-ctx.Done():
		p.settle(ctx, keys, false, now)
		return ServerError(ctx.Err())
	}
	ok, verr := password.Verify(pw, hash)
	<-p.passwordSlots
	p.collectPasswordGarbage(hash)
	if verr != nil {
		p.log.WarnContext(ctx, "unreadable password hash", "tenant", ep.Tenant.ID, "user", user.ID, "err", verr)
	}
	if ok && verr == nil && user.PasswordHash != "" {
		if err := p.store.DeleteThrottle(ctx, ep.Tenant.ID, keys[account].key); err != nil {
			return ServerError(err)
		}
		p.settle(ctx, keys[addr:], false, now)
		return nil
	}
	settled := p.settle(ctx, keys, true, now)
	for i, k := range keys {
		if _, locked := k.pol.Locked(settled[i], now); locked {
			return refuse(reasonBadCredentials, k.locked())
		}
	}
	return refuse(reasonBadCredentials, wrongCurrentPassword())
}

// ScopeDescription is how the consent page describes an OpenID Connect
// scope, for the pages that list what a user granted.
func ScopeDescription(scope string) string { return oidcScopeDescription(scope) }
