package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/passkey"
	"github.com/tessera-id/tessera/store"
)

// Passkeys in the sign-in interaction: as the second factor after the
// password (MethodPasskey on the second-factor page), and alone,
// passwordless, from the sign-in page (SubmitPasskeyLogin). The
// ceremonies run in package passkey; a passkey is a factor of kind
// store.FactorPasskey, so the policy, the account page, resets and the
// recovery codes treat it as they treat an authenticator app.

// MethodPasskey is a passkey as the second factor.
const MethodPasskey FactorMethod = "passkey"

// PasskeyChallenge is a begun passkey ceremony for a page: Options for
// the browser's navigator.credentials call (JSON), State to post back with
// its answer.
type PasskeyChallenge struct {
	Options json.RawMessage
	State   string
}

// PasskeyLoginForm is a passwordless sign-in posted from the sign-in
// page: the ceremony's state and the authenticator's answer.
type PasskeyLoginForm struct {
	Ref, CSRF  string
	State      string
	Credential string
}

// passkeyRefused is what a page says of an answer the relying party
// refused: the details (another user's key, a replay) are for the log.
func passkeyRefused() *Error {
	return newError(ErrInvalidGrant, http.StatusBadRequest, CodeBadCredentials,
		"That passkey could not be used. Try again, or use another way to sign in.")
}

// ceremony is where an interaction's passkey ceremonies run: its id binds
// them, so a challenge from one sign-in does not finish another.
func ceremony(ep Endpoint, in Interaction) passkey.Ceremony {
	return passkey.Ceremony{TenantID: ep.Tenant.ID, Origin: ep.Origin, Context: "sign-in\x00" + in.id}
}

// passkeyChallenge begins a sign-in ceremony for the page: for user (a
// second factor) or, nil, for whoever the authenticator names.
func (p *Provider) passkeyChallenge(ep Endpoint, in Interaction, user *store.User, fs []store.Factor) *PasskeyChallenge {
	var u *passkey.User
	if user != nil {
		u = &passkey.User{ID: user.ID, Username: user.Username, Name: user.Name, Factors: fs}
	}
	ch, err := p.passkeys.BeginSignIn(ceremony(ep, in), u)
	if err != nil {
		// A page on a plain-http origin other than localhost cannot use
		// passkeys: the page goes on without them.
		p.log.Debug("no passkey ceremony on this page", "tenant", ep.Tenant.ID, "err", err)
		return nil
	}
	return &PasskeyChallenge{Options: ch.Options, State: ch.State}
}

// verifyPasskey checks a passkey answer on the second-factor page: it
// must be one of user's passkeys. It returns the methods it adds.
func (p *Provider) verifyPasskey(ctx context.Context, ep Endpoint, in Interaction, user store.User, state, credential string) ([]string, *Error) {
	si, err := p.passkeys.FinishSignIn(ctx, ceremony(ep, in), state, []byte(credential))
	if errors.Is(err, passkey.ErrRefused) {
		p.log.InfoContext(ctx, "passkey refused", "tenant", ep.Tenant.ID, "user", user.ID, "reason", err.Error())
		return nil, passkeyRefused()
	}
	if err != nil {
		return nil, ServerError(err)
	}
	if si.UserID != user.ID {
		return nil, passkeyRefused()
	}
	return si.AMR(), nil
}

// SubmitPasskeyLogin signs a user in with a passkey alone, from the
// sign-in page: the authenticator names the user and verifies them (a
// PIN or a biometric), which is two factors in one. The session starts
// with the passkey's methods and the interaction moves on.
func (p *Provider) SubmitPasskeyLogin(ctx context.Context, ep Endpoint, f PasskeyLoginForm, b Browser) Step {
	in, e := p.open(ep, f.Ref, b.Binding, f.CSRF, true)
	if e != nil {
		return errorStep(in, e)
	}
	if st, ok := at(in, signInAgain()...); !ok {
		return st
	}
	si, err := p.passkeys.FinishSignIn(ctx, ceremony(ep, in), f.State, []byte(f.Credential))
	if errors.Is(err, passkey.ErrRefused) {
		p.log.InfoContext(ctx, "passkey refused", "tenant", ep.Tenant.ID, "reason", err.Error())
		return p.loginForm(ctx, ep, in, "", passkeyRefused().Description)
	}
	if err != nil {
		return errorStep(in, ServerError(err))
	}
	user, err := p.store.GetUser(ctx, ep.Tenant.ID, si.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && user.Disabled) {
		p.recordPasskeySignIn(ctx, ep, in, user, nil, b.Address, badCredentials())
		return p.loginForm(ctx, ep, in, "", passkeyRefused().Description)
	}
	if err != nil {
		return errorStep(in, ServerError(err))
	}
	amr := si.AMR()
	p.recordPasskeySignIn(ctx, ep, in, user, amr, b.Address, nil)
	// A new session for whoever the passkey names, whatever session the
	// interaction had: signing in again may be as someone else.
	in.userID, in.sessionID, in.amr, in.enrol = user.ID, "", nil, ""
	in, sess, secret, st, ok := p.establish(ctx, ep, in, user, amr, b)
	if !ok {
		return st
	}
	return p.proceed(ctx, ep, in, &sess, secret, b.Binding)
}

// recordPasskeySignIn adds a passwordless sign-in to the sign-in log.
func (p *Provider) recordPasskeySignIn(ctx context.Context, ep Endpoint, in Interaction, user store.User, amr []string, address string, e *Error) {
	now := p.now()
	entry := store.AuditEntry{
		TenantID: ep.Tenant.ID, ID: ids.NewOrdered(), Kind: store.AuditSignIn, Time: now,
		Category: "SignIn", Activity: "Sign-in with passkey", Result: store.AuditSuccess,
		ActorType: "user", ActorID: user.ID, ActorName: user.Username, ActorAddress: address,
		TargetType: "application", TargetID: in.request.ClientID, TargetName: p.clientName(ctx, ep, in.request.ClientID),
		ExpiresAt: now.Add(p.auditRetention()),
	}
	if e != nil {
		entry.Result, entry.Reason = store.AuditFailure, e.Description
	} else {
		entry.Changes = []store.AuditChange{{Property: "authenticationMethods", New: joinAMR(amr)}}
	}
	if err := p.store.AppendAudit(context.WithoutCancel(ctx), entry); err != nil {
		p.log.WarnContext(ctx, "sign-in event not recorded", "tenant", ep.Tenant.ID, "err", err)
	}
}

// The account page's passkey API.

// BeginPasskeyRegistration starts registering a passkey for user, from
// their account page; context names the page's session, so that the
// answer is accepted only there.
func (p *Provider) BeginPasskeyRegistration(ctx context.Context, ep Endpoint, user store.User, pageContext string) (PasskeyChallenge, error) {
	fs, err := p.store.ListFactors(ctx, ep.Tenant.ID, user.ID)
	if err != nil {
		return PasskeyChallenge{}, fmt.Errorf("begin passkey registration: %w", err)
	}
	ch, err := p.passkeys.BeginRegistration(accountCeremony(ep, pageContext),
		passkey.User{ID: user.ID, Username: user.Username, Name: user.Name, Factors: fs})
	if err != nil {
		return PasskeyChallenge{}, err
	}
	return PasskeyChallenge{Options: ch.Options, State: ch.State}, nil
}

// FinishPasskeyRegistration checks the authenticator's answer and stores
// the passkey, named name. A user's first factor comes with ten recovery
// codes, returned in clear this once, as an authenticator app's does.
func (p *Provider) FinishPasskeyRegistration(ctx context.Context, ep Endpoint, user store.User, pageContext, state, credential, name, address string) (store.Factor, []string, error) {
	fs, err := p.store.ListFactors(ctx, ep.Tenant.ID, user.ID)
	if err != nil {
		return store.Factor{}, nil, fmt.Errorf("finish passkey registration: %w", err)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Passkey"
	}
	if len(name) > 128 {
		name = name[:128]
	}
	f, err := p.passkeys.FinishRegistration(accountCeremony(ep, pageContext),
		passkey.User{ID: user.ID, Username: user.Username, Name: user.Name, Factors: fs}, state, []byte(credential), name)
	if err != nil {
		return store.Factor{}, nil, err
	}
	var plain []string
	var rows []store.RecoveryCode
	if len(fs) == 0 {
		plain, rows = newRecoveryCodes(ep, user.ID, p.now())
	}
	changes := []store.AuditChange{{Property: "method", New: "passkey (" + name + ")"}}
	if rows != nil {
		changes = append(changes, store.AuditChange{Property: "recoveryCodes", New: fmt.Sprintf("%d new", len(rows))})
	}
	entry := p.userEntry(ep, user, address, "Register passkey", f.ID, changes)
	if err := p.store.AddFactor(store.WithAudit(ctx, entry), f, rows); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.Factor{}, nil, fmt.Errorf("%w: this passkey is registered already", passkey.ErrRefused)
		}
		return store.Factor{}, nil, fmt.Errorf("store passkey: %w", err)
	}
	f.Data = nil
	return f, plain, nil
}

func accountCeremony(ep Endpoint, pageContext string) passkey.Ceremony {
	return passkey.Ceremony{TenantID: ep.Tenant.ID, Origin: ep.Origin, Context: "account\x00" + pageContext}
}
