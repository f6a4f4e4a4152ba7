package admin

import (
	"context"
	"fmt"
	"strconv"

	"github.com/tessera-id/tessera/store"
)

// MFAPolicies are the values of a tenant's MFA policy, as `tenant set
// --mfa` and the API name them.
func MFAPolicies() []store.MFAPolicy {
	return []store.MFAPolicy{store.MFAOptional, store.MFAAdmins, store.MFAEveryone}
}

// EffectiveMFA is the tenant's MFA policy by its name: optional for a
// tenant that never set one.
func EffectiveMFA(t store.Tenant) store.MFAPolicy {
	if t.MFA == "" {
		return store.MFAOptional
	}
	return t.MFA
}

// SetMFAPolicy changes who of a tenant's users must sign in with a second
// factor. Every instance applies it from its next sign-in on (the tenant
// is cached, and the change flushes every cache); users it newly requires
// enrol an authenticator app at their next sign-in, and sessions signed
// in without one are stepped up at their next authorization request.
func (a *Admin) SetMFAPolicy(ctx context.Context, t store.Tenant, p store.MFAPolicy) (store.Tenant, error) {
	if err := a.may(PermDirectoryReadWrite); err != nil {
		return store.Tenant{}, err
	}
	switch p {
	case store.MFAOptional, store.MFAAdmins, store.MFAEveryone:
	case "":
		p = store.MFAOptional
	default:
		return store.Tenant{}, invalid("MFA policy %q: use optional, admins or everyone", p)
	}
	var c changes
	c.text("mfaPolicy", string(EffectiveMFA(t)), string(p))
	e := a.entry(catPolicy, "Update authentication methods policy", target{t.ID, "tenant", t.ID, t.Name}, c)
	stored := p
	if p == store.MFAOptional {
		stored = ""
	}
	if err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.SetTenantMFA(ctx, t.ID, stored) }); err != nil {
		return store.Tenant{}, fmt.Errorf("set mfa policy of tenant %s: %w", t.Name, err)
	}
	t.MFA = stored
	return t, nil
}

// AuthenticationMethods lists a user's second factors and how many
// recovery codes they have left.
func (a *Admin) AuthenticationMethods(ctx context.Context, u store.User) ([]store.Factor, int, error) {
	if err := a.may(PermUserReadWrite, PermDirectoryRead); err != nil {
		return nil, 0, err
	}
	fs, err := a.store.ListFactors(ctx, u.TenantID, u.ID)
	if err != nil {
		return nil, 0, fmt.Errorf("list factors of %s: %w", u.Username, err)
	}
	for i := range fs {
		fs[i].Secret = nil
	}
	n, err := a.store.CountRecoveryCodes(ctx, u.TenantID, u.ID)
	if err != nil {
		return nil, 0, fmt.Errorf("count recovery codes of %s: %w", u.Username, err)
	}
	return fs, n, nil
}

// ResetAuthenticationMethods removes every second factor and recovery
// code of a user, for one who lost them: under a policy that requires a
// factor, they enrol a new one at their next sign-in. Their sessions are
// left alone (Entra's "require re-register MFA" does the same); revoke
// them separately if the factor was stolen rather than lost.
func (a *Admin) ResetAuthenticationMethods(ctx context.Context, u store.User) error {
	if err := a.mayChangeUser(ctx, u); err != nil {
		return err
	}
	fs, n, err := a.AuthenticationMethods(ctx, u)
	if err != nil {
		return err
	}
	var c changes
	c.text("authenticationMethods", strconv.Itoa(len(fs)), "0")
	c.text("recoveryCodes", strconv.Itoa(n), "0")
	e := a.entry(catUser, "Reset user authentication methods", userTarget(u), c)
	if err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.ResetFactors(ctx, u.TenantID, u.ID) }); err != nil {
		return fmt.Errorf("reset authentication methods of %s: %w", u.Username, err)
	}
	return nil
}
