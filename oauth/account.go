package oauth

import (
	"context"
	"errors"
	"net/http"

	"github.com/tessera-id/tessera/internal/ids"
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
	// refuseUnrecorded logs a refusal; refuse also records it in the
	// sign-in log, as the sign-in page records its failures (a key that was
	// locked already refuses on a read alone and writes nothing).
	refuseUnrecorded := func(reason string, e *Error) *Error {
		p.log.WarnContext(ctx, "password check refused", "tenant", ep.Tenant.ID, "user", user.ID, "address", address, "reason", reason)
		return e
	}
	refuse := func(reason, locked string, e *Error) *Error {
		p.recordPasswordCheck(ctx, ep, user, address, reason, locked)
		return refuseUnrecorded(reason, e)
	}
	r, e := p.admit(ctx, ep.Tenant.ID, keys, now)
	switch {
	case e != nil:
		return e
	case r != nil && r.early:
		return refuseUnrecorded(keys[r.key].reason, keys[r.key].locked())
	case r != nil && r.locked:
		return refuse(keys[r.key].reason, "", keys[r.key].locked())
	case r != nil:
		return refuse(reasonBusy, "", signInBusy())
	}
	hash := user.PasswordHash
	if hash == "" {
		hash = p.dummyHash
	}
	select {
	case p.passwordSlots <- struct{}{}:
	case <-ctx.Done():
		_, _ = p.settle(ctx, ep.Tenant.ID, keys, every(takeBack, len(keys)), now)
		return ServerError(ctx.Err())
	}
	ok, verr := password.Verify(pw, hash)
	<-p.passwordSlots
	p.collectPasswordGarbage(hash)
	if verr != nil {
		p.log.WarnContext(ctx, "unreadable password hash", "tenant", ep.Tenant.ID, "user", user.ID, "err", verr)
	}
	if ok && verr == nil && user.PasswordHash != "" {
		if _, err := p.settle(ctx, ep.Tenant.ID, keys, []ending{account: forget, addr: takeBack}, now); err != nil {
			return ServerError(err)
		}
		return nil
	}
	settled, _ := p.settle(ctx, ep.Tenant.ID, keys, every(countFailure, len(keys)), now)
	if i := lockedBy(keys, settled, now); i >= 0 {
		return refuse(reasonBadCredentials, keys[i].what, keys[i].locked())
	}
	return refuse(reasonBadCredentials, "", wrongCurrentPassword())
}

// recordPasswordCheck adds a failed current-password check of the account
// page to the tenant's sign-in log, beside the sign-in page's failures it
// counts with: whose, from where, why, and what it locked.
func (p *Provider) recordPasswordCheck(ctx context.Context, ep Endpoint, user store.User, address, reason, locked string) {
	now := p.now()
	e := store.AuditEntry{
		TenantID: ep.Tenant.ID, ID: ids.NewOrdered(), Kind: store.AuditSignIn, Time: now,
		Category: "SignIn", Activity: "Current password check (account page)", Result: store.AuditFailure, Reason: signInReasons[reason],
		ActorType: "user", ActorID: user.ID, ActorName: user.Username, ActorAddress: address,
		TargetType: "user", TargetID: user.ID, TargetName: user.Username,
		ExpiresAt: now.Add(p.auditRetention()),
	}
	if locked != "" {
		e.Reason += "; this failure locked the " + locked
	}
	if err := p.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		p.log.WarnContext(ctx, "password check not recorded", "tenant", ep.Tenant.ID, "err", err)
	}
}

// ScopeDescription is how the consent page describes an OpenID Connect
// scope, for the pages that list what a user granted.
func ScopeDescription(scope string) string { return oidcScopeDescription(scope) }
