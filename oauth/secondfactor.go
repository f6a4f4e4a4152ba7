package oauth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/internal/metrics"
	"github.com/tessera-id/tessera/store"
)

// The second-factor and enrolment steps of the sign-in interaction (see
// the transition table in interaction.go).

// afterPassword moves on from a right password: to the second factor
// when the user has one, to enrolment when they have none and must, and
// otherwise into a session signed in with the password alone.
func (p *Provider) afterPassword(ctx context.Context, ep Endpoint, in Interaction, user store.User, b Browser) Step {
	fs, err := p.store.ListFactors(ctx, ep.Tenant.ID, user.ID)
	if err != nil {
		return errorStep(in, ServerError(err))
	}
	in.userID, in.sessionID, in.amr, in.enrol = user.ID, "", []string{AMRPassword}, ""
	if len(fs) > 0 {
		in.State = StateSecondFactor
		return p.sealAndGo(ep, in, b.Binding)
	}
	need, err := p.mfaRequired(ctx, ep, user, &in.request)
	if err != nil {
		return errorStep(in, ServerError(err))
	}
	if need {
		k, err := newTOTPKey(ep, user)
		if err != nil {
			return errorStep(in, ServerError(err))
		}
		in.State, in.enrol = StateEnrol, k.Secret()
		return p.sealAndGo(ep, in, b.Binding)
	}
	in, sess, secret, st, ok := p.establish(ctx, ep, in, user, in.amr, b)
	if !ok {
		return st
	}
	return p.proceed(ctx, ep, in, &sess, secret, b.Binding)
}

// stepUp turns an interaction whose session lacks a second factor it
// needs into the second-factor step, or into enrolment for a user who has
// none: a user asked for more than they have is walked through enrolling
// an authenticator app, which every user can. The caller seals it.
func (p *Provider) stepUp(ctx context.Context, ep Endpoint, in Interaction, user store.User, sess store.Session) Step {
	fs, err := p.store.ListFactors(ctx, ep.Tenant.ID, user.ID)
	if err != nil {
		return p.failed(ep, in, ServerError(err))
	}
	in.userID, in.sessionID, in.amr, in.enrol = user.ID, sess.ID, slices.Clone(sess.AMR), ""
	if len(in.amr) == 0 {
		in.amr = []string{AMRPassword}
	}
	if len(fs) > 0 {
		in.State = StateSecondFactor
		return Step{Interaction: in}
	}
	k, err := newTOTPKey(ep, user)
	if err != nil {
		return p.failed(ep, in, ServerError(err))
	}
	in.State, in.enrol = StateEnrol, k.Secret()
	return Step{Interaction: in}
}

// sealAndGo seals in in its new state and sends the browser to its page.
func (p *Provider) sealAndGo(ep Endpoint, in Interaction, browser string) Step {
	if err := p.seal(ep, &in, browser); err != nil {
		return errorStep(in, ServerError(err))
	}
	return Step{Interaction: in, Goto: pageOf(in.State)}
}

// establish gives the user of in a session signed in with amr, and
// returns its cookie secret when the browser needs a new one: a new
// session, or the browser's own renewed when its user signs in again (see
// renewOrStartSession); or, stepping up, the session in names with its amr
// and auth_time moved to the step-up, under the same cookie (the
// browser's session must be that one). in comes back in Consent with the
// session, for what follows.
func (p *Provider) establish(ctx context.Context, ep Endpoint, in Interaction, user store.User, amr []string, b Browser) (Interaction, store.Session, string, Step, bool) {
	var sess store.Session
	var secret string
	if in.sessionID != "" {
		s, st, ok := p.consentSession(ctx, ep, in, b)
		if !ok {
			return in, sess, "", st, false
		}
		// The user has just authenticated again: auth_time moves with
		// the methods, so max_age counts from this sign-in.
		now := p.now()
		if err := p.store.UpgradeSession(ctx, ep.Tenant.ID, s.ID, amr, now); err != nil {
			return in, sess, "", errorStep(in, ServerError(err)), false
		}
		s.AMR, s.AuthTime = amr, now
		sess = *s
	} else {
		var err error
		if secret, sess, err = p.renewOrStartSession(ctx, ep, user, amr, b); err != nil {
			return in, sess, "", errorStep(in, ServerError(err)), false
		}
	}
	in.State, in.userID, in.sessionID, in.amr, in.enrol = StateConsent, sess.UserID, sess.ID, nil, ""
	return in, sess, secret, Step{}, true
}

// proceed moves an interaction whose user has just signed in (in this
// very interaction, which satisfies prompt=login and max_age) on as the
// session allows, sealing what waits; secret, when set, is a new session
// cookie for the browser.
func (p *Provider) proceed(ctx context.Context, ep Endpoint, in Interaction, sess *store.Session, secret, browser string) Step {
	st := p.decide(ctx, ep, in, sess, true)
	if st.waiting() {
		if err := p.seal(ep, &st.Interaction, browser); err != nil {
			return errorStep(in, ServerError(err))
		}
		st.Goto = pageOf(st.Interaction.State)
	}
	if secret != "" {
		st.SetSession, st.SessionMaxAge = secret, p.cfg.SessionLifetime
	}
	return st
}

// interactionUser is the user in names, who must still be allowed to
// sign in.
func (p *Provider) interactionUser(ctx context.Context, ep Endpoint, in Interaction) (store.User, *Error) {
	if in.userID == "" {
		return store.User{}, interactionGone()
	}
	user, err := p.store.GetUser(ctx, ep.Tenant.ID, in.userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && user.Disabled) {
		return store.User{}, badCredentials()
	}
	if err != nil {
		return store.User{}, ServerError(err)
	}
	return user, nil
}

// openSecondFactor opens the interaction of a second-factor request,
// which must be at that step, with its user and the factors they have;
// when ok is false st answers the request instead. A submission
// (submitted) must carry the form's CSRF token; the page, which has none,
// first refuses a sign-in that has used up its tries, so that no form
// collects a code only to refuse it (a submission meets the same limit
// in checkFactor).
func (p *Provider) openSecondFactor(ctx context.Context, ep Endpoint, ref, csrf string, submitted bool, b Browser) (Interaction, store.User, []store.Factor, Step, bool) {
	in, e := p.open(ep, ref, b.Binding, csrf, submitted)
	if e == nil && !submitted {
		e = p.stopped(ctx, ep, factorRequestKey(in.id))
	}
	if e != nil {
		return in, store.User{}, nil, errorStep(in, e), false
	}
	if st, ok := at(in, StateSecondFactor); !ok {
		return in, store.User{}, nil, st, false
	}
	user, e := p.interactionUser(ctx, ep, in)
	if e != nil {
		return in, store.User{}, nil, errorStep(in, e), false
	}
	fs, err := p.store.ListFactors(ctx, ep.Tenant.ID, user.ID)
	if err != nil {
		return in, store.User{}, nil, errorStep(in, ServerError(err)), false
	}
	return in, user, fs, Step{}, true
}

// SecondFactorPage is the second-factor form of a sealed interaction.
func (p *Provider) SecondFactorPage(ctx context.Context, ep Endpoint, ref string, method FactorMethod, b Browser) Step {
	in, user, fs, st, ok := p.openSecondFactor(ctx, ep, ref, "", false, b)
	if !ok {
		return st
	}
	return p.secondFactorForm(ctx, ep, in, user, fs, method, "", http.StatusOK)
}

// SubmitSecondFactor checks a second-factor code under the sign-in
// throttles; when it is right, the session starts (or, stepping up, is
// upgraded) with both methods and the interaction moves on.
func (p *Provider) SubmitSecondFactor(ctx context.Context, ep Endpoint, f SecondFactorForm, b Browser) Step {
	in, user, fs, st, ok := p.openSecondFactor(ctx, ep, f.Ref, f.CSRF, true, b)
	if !ok {
		return st
	}
	methods := methodsOf(fs)
	if len(methods) == 0 {
		// Reset by an admin meanwhile: the sign-in starts over, and the
		// policy decides again what it needs.
		in.State = StateLogin
		return Step{Interaction: in, Goto: PageLogin}
	}
	if !slices.Contains(methods, f.Method) {
		return p.secondFactorForm(ctx, ep, in, user, fs, "", noSuchMethod().Description, http.StatusBadRequest)
	}
	var added []string
	e := p.checkFactor(ctx, ep, in, user, b.Address, func() *Error {
		if f.Method == MethodPasskey {
			var e *Error
			added, e = p.verifyPasskey(ctx, ep, in, user, f.State, f.Credential)
			return e
		}
		added = []string{amrOfMethod(f.Method)}
		return p.verifyFactor(ctx, ep, user, fs, f.Method, f.Code)
	})
	amr := in.amr
	for _, m := range added {
		amr = withMethod(amr, m)
	}
	p.recordFactor(ctx, ep, in, user, f.Method, amr, b.Address, e)
	if e != nil {
		if e.Code == ErrServerError || e.endsSignIn {
			return errorStep(in, e)
		}
		return p.secondFactorForm(ctx, ep, in, user, fs, f.Method, e.Description, e.Status)
	}
	in, sess, secret, st, ok := p.establish(ctx, ep, in, user, amr, b)
	if !ok {
		return st
	}
	return p.proceed(ctx, ep, in, &sess, secret, b.Binding)
}

// secondFactorForm takes the factors its callers have just read, so the
// methods it offers and the passkey challenge come from that one read.
func (p *Provider) secondFactorForm(ctx context.Context, ep Endpoint, in Interaction, user store.User, fs []store.Factor, method FactorMethod, message string, status int) Step {
	methods := methodsOf(fs)
	if !slices.Contains(methods, method) && len(methods) > 0 {
		method = methods[0]
	}
	in.State = StateSecondFactor
	view := SecondFactorView{
		ClientName: p.clientName(ctx, ep, in.request.ClientID), Username: user.Username,
		Methods: methods, Method: method, Error: message, StepUp: in.sessionID != "",
	}
	if method == MethodPasskey {
		view.Passkey = p.passkeyChallenge(ep, in, &user, fs)
	}
	return Step{Interaction: in, Page: PageSecondFactor, Status: status, SecondFactor: view}
}

// EnrolPage is the enrolment form of a sealed interaction: the secret
// it carries, as a QR code and as text.
func (p *Provider) EnrolPage(ctx context.Context, ep Endpoint, ref string, b Browser) Step {
	in, e := p.open(ep, ref, b.Binding, "", false)
	if e != nil {
		return errorStep(in, e)
	}
	if st, ok := at(in, StateEnrol); !ok {
		return st
	}
	user, e := p.interactionUser(ctx, ep, in)
	if e != nil {
		return errorStep(in, e)
	}
	return p.enrolForm(ctx, ep, in, user, "", http.StatusOK)
}

// SubmitEnrol confirms the authenticator being enrolled with its first
// code: the factor and ten recovery codes are stored, the session starts
// (or is upgraded) with both methods, and the recovery codes are shown.
// Guessing here gains nothing (the secret is on the user's own screen),
// so it is not throttled; the CSRF token and the browser binding keep
// another site from enrolling its own secret.
func (p *Provider) SubmitEnrol(ctx context.Context, ep Endpoint, f EnrolForm, b Browser) Step {
	in, e := p.open(ep, f.Ref, b.Binding, f.CSRF, true)
	if e != nil {
		return errorStep(in, e)
	}
	if st, ok := at(in, StateEnrol); !ok {
		return st
	}
	user, e := p.interactionUser(ctx, ep, in)
	if e != nil {
		return errorStep(in, e)
	}
	if in.enrol == "" {
		return errorStep(in, interactionGone())
	}
	_, codes, e := p.confirmTOTP(ctx, ep, user, in.enrol, f.Code, "", b.Address)
	if e != nil {
		if e.Code == ErrServerError {
			return errorStep(in, e)
		}
		return p.enrolForm(ctx, ep, in, user, e.Description, e.Status)
	}
	amr := withMethod(in.amr, AMROTP)
	p.recordFactor(ctx, ep, in, user, MethodTOTP, amr, b.Address, nil)
	in, sess, secret, st, ok := p.establish(ctx, ep, in, user, amr, b)
	if !ok {
		return st
	}
	if len(codes) == 0 {
		// The user had enrolled elsewhere meanwhile and keeps the codes
		// they have.
		return p.proceed(ctx, ep, in, &sess, secret, b.Binding)
	}
	in.State = StateEnrolled
	if err := p.seal(ep, &in, b.Binding); err != nil {
		return errorStep(in, ServerError(err))
	}
	st = Step{Interaction: in, Page: PageRecovery, Status: http.StatusOK, Recovery: RecoveryView{Codes: codes}}
	if secret != "" {
		st.SetSession, st.SessionMaxAge = secret, p.cfg.SessionLifetime
	}
	return st
}

func (p *Provider) enrolForm(ctx context.Context, ep Endpoint, in Interaction, user store.User, message string, status int) Step {
	k, err := totpKeyFor(ep, user, in.enrol)
	if err != nil {
		return errorStep(in, ServerError(err))
	}
	qr, err := qrDataURL(k)
	if err != nil {
		return errorStep(in, ServerError(err))
	}
	in.State = StateEnrol
	return Step{Interaction: in, Page: PageEnrol, Status: status, Enrol: EnrolView{
		ClientName: p.clientName(ctx, ep, in.request.ClientID), Username: user.Username,
		Secret: k.Secret(), URI: k.URL(), QR: qr, Error: message,
	}}
}

// SubmitContinue goes on from the recovery codes page, as the session
// now allows.
func (p *Provider) SubmitContinue(ctx context.Context, ep Endpoint, f ContinueForm, b Browser) Step {
	in, e := p.open(ep, f.Ref, b.Binding, f.CSRF, true)
	if e != nil {
		return errorStep(in, e)
	}
	if st, ok := at(in, StateEnrolled); !ok {
		return st
	}
	sess, st, ok := p.consentSession(ctx, ep, in, b)
	if !ok {
		return st
	}
	in.State = StateConsent
	return p.proceed(ctx, ep, in, sess, "", b.Binding)
}

// recordFactor adds a second-factor step to the sign-in log: the method,
// and on success the methods the sign-in now has. e is nil on success.
func (p *Provider) recordFactor(ctx context.Context, ep Endpoint, in Interaction, user store.User, method FactorMethod, amr []string, address string, e *Error) {
	now := p.now()
	activity := "Sign-in with second factor"
	switch method {
	case MethodTOTP:
		activity = "Sign-in with authenticator app"
	case MethodRecovery:
		activity = "Sign-in with recovery code"
	case MethodPasskey:
		activity = "Sign-in with passkey"
	}
	entry := store.AuditEntry{
		TenantID: ep.Tenant.ID, ID: ids.NewOrdered(), Kind: store.AuditSignIn, Time: now,
		Category: "SignIn", Activity: activity, Result: store.AuditSuccess,
		ActorType: "user", ActorID: user.ID, ActorName: user.Username, ActorAddress: address,
		TargetType: "application", TargetID: in.request.ClientID, TargetName: p.clientName(ctx, ep, in.request.ClientID),
		ExpiresAt: now.Add(p.auditRetention()),
	}
	if e != nil {
		entry.Result, entry.Reason = store.AuditFailure, e.Description
		p.metrics.SignIn(ep.Tenant.Name, metrics.SignInMFAFailure)
	} else {
		entry.Changes = []store.AuditChange{{Property: "authenticationMethods", Old: joinAMR(in.amr), New: joinAMR(amr)}}
	}
	if err := p.store.AppendAudit(context.WithoutCancel(ctx), entry); err != nil {
		p.log.WarnContext(ctx, "sign-in event not recorded", "tenant", ep.Tenant.ID, "err", err)
	}
}

func joinAMR(amr []string) string { return strings.Join(amr, " ") }
