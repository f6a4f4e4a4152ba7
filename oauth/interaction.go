package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// The sign-in interaction is everything between a browser arriving with an
// authorization request, or with a device's user code, and the answer: the
// sign-in form, the consent form, and the response to the client or the
// device. It is one state machine, run here; package server only decodes
// each HTTP request into one call of an entry point below and renders the
// Step that comes back, so no page can skip or reorder a step.
//
// An interaction in progress is kept by the browser, not the server:
// sealed (encrypted and authenticated) into the pages' URLs and forms,
// bound to the browser that started it. Storing it would let anyone grow
// the database with anonymous authorization requests; sealed, a request
// costs no row until a password is checked (the sign-in's throttles) and a
// user signs in (the session).
//
// Transitions, one per HTTP request:
//
//	state         input (entry point)                     next state
//	-             authorization request (BeginAuthorize)  Login, SecondFactor or Enrol (step-up of
//	                                                      a session without mfa), Consent, Done or
//	                                                      Failed
//	UserCode      device page (DevicePage)                UserCode
//	UserCode      a user code (SubmitUserCode)            as BeginAuthorize; UserCode again for a
//	                                                      wrong code; Failed
//	Login         sign-in page (LoginPage)                Login; Failed when gone or stopped
//	Login         credentials (SubmitLogin)               SecondFactor when the user has a factor;
//	                                                      Enrol when they have none and the policy
//	                                                      or acr_values require one; otherwise
//	                                                      Consent, Done or Failed. Login again with
//	                                                      the reason when wrong; Failed when the
//	                                                      request used up its tries
//	SecondFactor  its page (SecondFactorPage)             SecondFactor; Failed when stopped
//	SecondFactor  a code (SubmitSecondFactor)             Consent, Done or Failed when right (the
//	                                                      session starts, or is upgraded, here);
//	                                                      SecondFactor again with the reason when
//	                                                      wrong; Failed when the tries are used up
//	Enrol         its page (EnrolPage)                    Enrol
//	Enrol         the first code (SubmitEnrol)            Enrolled (the recovery codes page; the
//	                                                      session starts or is upgraded); Enrol
//	                                                      again when wrong
//	Enrolled      continue (SubmitContinue)               Consent, Done or Failed
//	Consent       consent page (ConsentPage)              Consent; Login when the browser's session
//	                                                      is not the one that signed in
//	Consent       accept (SubmitConsent)                  Done or Failed
//	Consent       cancel (SubmitConsent)                  Failed (access_denied, device denied)
//
// Each entry point opens only the states listed for it: a sealed
// interaction presented elsewhere is sent to its own page, so that no
// form (the consent form with the ref of a second-factor step, say) skips
// a step. No session exists until every factor asked for was given; a
// step-up (SecondFactor or Enrol with the session that signed in with the
// password alone) upgrades that session's amr. finish, which issues
// codes and approves devices, checks once more that the session has what
// the request and the tenant's policy require.
//
// An interaction in Consent, SecondFactor or Enrol may also be signed in
// to again on the sign-in page (its session may have ended). Done and
// Failed are final: nothing is sealed for them.

// InteractionKind says what an interaction ends in.
type InteractionKind string

const (
	// KindAuthorize answers an authorization request: a code, or an
	// error, sent to the client's registered redirect URI.
	KindAuthorize InteractionKind = "authorize"
	// KindDeviceApproval approves or denies a device polling the token
	// endpoint (RFC 8628); the user sees the result on Tessera's own page,
	// as no client is there to read it.
	KindDeviceApproval InteractionKind = "device_approval"
)

// InteractionState is where an interaction stands.
type InteractionState string

const (
	// StateUserCode waits for the user code a device shows (device
	// approval only).
	StateUserCode InteractionState = "user_code"
	// StateLogin waits for the user to sign in.
	StateLogin InteractionState = "login"
	// StateSecondFactor has checked the user's password (or, stepping up,
	// has their session) and waits for a second factor.
	StateSecondFactor InteractionState = "second_factor"
	// StateEnrol waits for the first code of an authenticator app the
	// user must enrol before they may sign in.
	StateEnrol InteractionState = "enrol"
	// StateEnrolled has a signed-in user who was just shown their
	// recovery codes, and waits for them to go on.
	StateEnrolled InteractionState = "enrolled"
	// StateConsent has a signed-in user and waits for their consent.
	StateConsent InteractionState = "consent"
	// StateDone has answered: the client has its code, or the device is
	// approved.
	StateDone InteractionState = "done"
	// StateFailed ended without success: an error page, an error sent to
	// the client, or a device refused.
	StateFailed InteractionState = "failed"
)

// Interaction is one sign-in in progress.
type Interaction struct {
	Kind  InteractionKind
	State InteractionState
	// Ref is the sealed interaction, for the pages' URLs and forms; CSRF
	// is the token those forms carry.
	Ref  string
	CSRF string

	// id names this sign-in, unique and unguessable, for what counts
	// password attempts per sign-in.
	id string
	// request is the validated authorization request; for a device
	// approval, only its client and grant are set.
	request AuthorizeRequest
	// device is the device authorization a device approval decides
	// (base64url of its device code's hash).
	device string
	// userID and sessionID are who signed in, and with which SSO session,
	// once the user has. In SecondFactor and Enrol, userID is who gave
	// their password, and sessionID the session being stepped up, if any.
	userID    string
	sessionID string
	// amr are the methods used so far in SecondFactor and Enrol.
	amr []string
	// enrol is the TOTP secret being enrolled in Enrol (sealed with the
	// rest: only the server reads it).
	enrol string
}

// asksConsent reports whether the user is asked to consent even to what
// they granted before. A device approval always asks, so that a user
// tricked into typing someone else's code sees which app they would let in.
func (in *Interaction) asksConsent() bool {
	return in.Kind == KindDeviceApproval || in.request.hasPrompt("consent")
}

// Page is a page of the interaction.
type Page string

const (
	PageLogin        Page = "login"         // the sign-in form (Step.Login)
	PageConsent      Page = "consent"       // the consent form (Step.Consent)
	PageSecondFactor Page = "second_factor" // the second-factor form (Step.SecondFactor)
	PageEnrol        Page = "enrol"         // authenticator enrolment (Step.Enrol)
	PageRecovery     Page = "recovery"      // the new recovery codes (Step.Recovery)
	PageDevice       Page = "device"        // the user code form (Step.Device)
	PageDeviceResult Page = "device_result" // what became of the device (Step.Result)
	PageError        Page = "error"         // Step.Err, which the client cannot be told
)

// Step is what one request of the interaction comes to: exactly one of
// Response (send it to the client), Goto (send the browser to that page of
// the interaction, carrying Interaction.Ref) and Page (render it, with the
// view named beside it and Status).
type Step struct {
	Interaction Interaction

	Response *AuthorizeResponse
	Goto     Page
	Page     Page
	Status   int

	// Err is the error the error page shows; beside a Response or a device
	// result, the failure they report, for the server's log.
	Err *Error

	Login        LoginView
	SecondFactor SecondFactorView
	Enrol        EnrolView
	Recovery     RecoveryView
	Consent      ConsentView
	Device       DeviceView
	Result       DeviceResult

	// SetBinding is a new browser-binding secret, for the cookie that ties
	// sealed interactions to this browser.
	SetBinding string
	// SetSession is a new SSO session secret, for the tenant's session
	// cookie, which lives SessionMaxAge.
	SetSession    string
	SessionMaxAge time.Duration
}

// waiting reports whether the step leaves the interaction waiting for the
// user, so it must be sealed for the next page.
func (s *Step) waiting() bool {
	switch s.Interaction.State {
	case StateLogin, StateSecondFactor, StateEnrol, StateEnrolled, StateConsent:
		return true
	}
	return false
}

// LoginView is what the sign-in page shows.
type LoginView struct {
	ClientName string
	Username   string // prefilled: the login_hint, or what was typed
	Error      string
	// Passkey is the passwordless ceremony the page offers ("Sign in
	// with a passkey", and the username field's autofill); nil where the
	// page's origin cannot use passkeys.
	Passkey *PasskeyChallenge
}

// SecondFactorView is what the second-factor page shows: the methods
// the user has, the one chosen (the first by default) and why the last
// try failed.
type SecondFactorView struct {
	ClientName string
	Username   string
	Methods    []FactorMethod
	Method     FactorMethod
	Error      string
	// StepUp says the user is signed in and the app asks for more.
	StepUp bool
	// Passkey is the ceremony the page runs when Method is MethodPasskey.
	Passkey *PasskeyChallenge
}

// EnrolView is what the enrolment page shows: the authenticator's
// secret as a QR code and as text.
type EnrolView struct {
	ClientName string
	Username   string
	Secret     string
	URI        string
	QR         string // data: URL of a PNG
	Error      string
}

// RecoveryView shows a user their new recovery codes, once.
type RecoveryView struct {
	Codes []string
}

// ConsentView is what the consent page shows: the client's name and each
// permission it asks for, by name.
type ConsentView struct {
	ClientName  string
	Username    string
	Permissions []PermissionView
	// NeedsAdmin says that a permission asked for is one only an admin
	// may grant, and none has: the page cannot be accepted, only left
	// (answer "back"), and says an admin must approve the app.
	NeedsAdmin bool
}

// PermissionView is one line of the consent page: Description is the line
// (the scope's user consent display name, or a generic text), Detail the
// scope's user consent description under it, if it has one.
type PermissionView struct {
	Scope       string
	Description string
	Detail      string
	// AdminOnly marks a scope only an admin may grant.
	AdminOnly bool
}

// DeviceView is what the user code page shows.
type DeviceView struct {
	UserCode string // prefilled
	Error    string
}

// DeviceResult is what became of a device approval.
type DeviceResult string

const (
	DeviceApproved DeviceResult = "approved"
	DeviceDenied   DeviceResult = "denied"
	DeviceFailed   DeviceResult = "failed" // Step.Err says why
)

// Browser is what the server read about the browser making a request.
type Browser struct {
	// Binding is the browser-binding cookie's value, "" without one.
	Binding string
	// Session is the tenant's SSO session cookie's value, "" without one.
	Session string
	// Address is the client's IP address.
	Address string
}

// LoginForm is a submitted sign-in form.
type LoginForm struct {
	Ref, CSRF          string
	Username, Password string
}

// SecondFactorForm is a submitted second-factor form: Method is one the
// page offered, Code what was typed for it.
type SecondFactorForm struct {
	Ref, CSRF string
	Method    FactorMethod
	Code      string
	// State and Credential are a passkey ceremony's state and the
	// authenticator's answer, for MethodPasskey.
	State, Credential string
}

// EnrolForm is a submitted enrolment form: the app's first code.
type EnrolForm struct {
	Ref, CSRF string
	Code      string
}

// ContinueForm goes on from the recovery codes page.
type ContinueForm struct {
	Ref, CSRF string
}

// ConsentForm is a submitted consent form; Answer is "accept" or "cancel",
// or "back" from the page that says an admin must approve.
type ConsentForm struct {
	Ref, CSRF string
	Answer    string
}

// BeginAuthorize handles an authorization request. The client and
// redirect URI are checked first: until both are known good, errors are
// shown on the error page; after, they go to the client.
func (p *Provider) BeginAuthorize(ctx context.Context, ep Endpoint, params Params, b Browser) Step {
	ar, fail := p.parseAuthorize(ctx, ep, params)
	if fail != nil {
		failed := Interaction{Kind: KindAuthorize, State: StateFailed}
		if fail.redirect == nil {
			return Step{Interaction: failed, Page: PageError, Err: fail.err}
		}
		return Step{Interaction: failed, Response: fail.redirect, Err: fail.err}
	}
	in := Interaction{Kind: KindAuthorize, request: *ar}
	sess, err := p.session(ctx, ep, b.Session)
	if err != nil {
		return p.failed(ep, in, ServerError(err))
	}
	st := p.decide(ctx, ep, in, sess, false)
	if !st.waiting() {
		return st
	}
	secret, set := binding(b.Binding)
	next, err := p.start(ep, st.Interaction, sess, secret)
	if err != nil {
		return p.failed(ep, in, ServerError(err))
	}
	next.SetBinding = set
	return next
}

// DevicePage is the user code page as a browser first opens it, perhaps
// from the verification_uri_complete with the code filled in.
func (p *Provider) DevicePage(userCode string) Step {
	return Step{Interaction: Interaction{Kind: KindDeviceApproval, State: StateUserCode},
		Page: PageDevice, Status: http.StatusOK, Device: deviceView(userCode, "")}
}

// SubmitUserCode handles a user code typed on the device page: a live
// one starts the approval of its device, with sign-in and consent.
func (p *Provider) SubmitUserCode(ctx context.Context, ep Endpoint, typed string, b Browser) Step {
	// The browser is bound before the code is checked, because the
	// attempts are counted per browser too.
	secret, set := binding(b.Binding)
	st := p.submitUserCode(ctx, ep, typed, b, secret)
	st.SetBinding = set
	return st
}

func (p *Provider) submitUserCode(ctx context.Context, ep Endpoint, typed string, b Browser, secret string) Step {
	in := Interaction{Kind: KindDeviceApproval, State: StateUserCode}
	d, e := p.checkUserCode(ctx, ep, typed, deviceSource{address: b.Address, browser: secret})
	if e != nil {
		if e.Code == ErrServerError {
			return errorStep(in, e)
		}
		return Step{Interaction: in, Page: PageDevice, Status: e.Status, Device: deviceView(typed, e.Description)}
	}
	in.device = base64.RawURLEncoding.EncodeToString(d.Hash)
	in.request = AuthorizeRequest{ClientID: d.ClientID, Grant: d.Grant, MaxAge: -1}
	sess, err := p.session(ctx, ep, b.Session)
	if err != nil {
		return errorStep(in, ServerError(err))
	}
	st := p.decide(ctx, ep, in, sess, false)
	if !st.waiting() {
		return st
	}
	next, err := p.start(ep, st.Interaction, sess, secret)
	if err != nil {
		return errorStep(in, ServerError(err))
	}
	return next
}

// deviceView prefills the user code form with what was typed, unless it
// is too long to be a code (then it is not worth showing back).
func deviceView(typed, message string) DeviceView {
	if len(typed) > 32 {
		typed = ""
	}
	return DeviceView{UserCode: typed, Error: message}
}

// LoginPage is the sign-in form of a sealed interaction. A sign-in that
// used up its tries is over: a form would only collect a password to
// refuse.
func (p *Provider) LoginPage(ctx context.Context, ep Endpoint, ref string, b Browser) Step {
	in, e := p.open(ep, ref, b.Binding, "", false)
	if e == nil {
		e = p.stopped(ctx, ep, requestKey(in.id))
	}
	if e != nil {
		return errorStep(in, e)
	}
	if st, ok := at(in, signInAgain()...); !ok {
		return st
	}
	return p.loginForm(ctx, ep, in, in.request.LoginHint, "")
}

// SubmitLogin checks the credentials of the sign-in form, under the
// tenant's lockout policy; when they are right, the user gets an SSO
// session and the interaction moves on as the session now allows.
func (p *Provider) SubmitLogin(ctx context.Context, ep Endpoint, f LoginForm, b Browser) Step {
	in, e := p.open(ep, f.Ref, b.Binding, f.CSRF, true)
	if e != nil {
		return errorStep(in, e)
	}
	if st, ok := at(in, signInAgain()...); !ok {
		return st
	}
	user, e := p.authenticate(ctx, ep, signIn{interaction: in.id, username: f.Username, password: f.Password, address: b.Address, client: in.request.ClientID})
	if e != nil {
		if e.Code == ErrServerError || e.endsSignIn {
			return errorStep(in, e)
		}
		// The form again, with the reason.
		return p.loginForm(ctx, ep, in, f.Username, e.Description)
	}
	return p.afterPassword(ctx, ep, in, user, b)
}

func (p *Provider) loginForm(ctx context.Context, ep Endpoint, in Interaction, username, message string) Step {
	in.State = StateLogin
	return Step{Interaction: in, Page: PageLogin, Status: http.StatusOK,
		Login: LoginView{ClientName: p.clientName(ctx, ep, in.request.ClientID), Username: username, Error: message,
			Passkey: p.passkeyChallenge(ep, in, nil, nil)}}
}

// ConsentPage is the consent form of a sealed interaction whose user
// signed in.
func (p *Provider) ConsentPage(ctx context.Context, ep Endpoint, ref string, b Browser) Step {
	in, e := p.open(ep, ref, b.Binding, "", false)
	if e != nil {
		return errorStep(in, e)
	}
	if st, ok := at(in, StateConsent); !ok {
		return st
	}
	if _, st, ok := p.consentSession(ctx, ep, in, b); !ok {
		return st
	}
	view, e := p.consentView(ctx, ep, in)
	if e != nil {
		return errorStep(in, e)
	}
	in.State = StateConsent
	return Step{Interaction: in, Page: PageConsent, Status: http.StatusOK, Consent: view}
}

// SubmitConsent handles the consent form's answer.
func (p *Provider) SubmitConsent(ctx context.Context, ep Endpoint, f ConsentForm, b Browser) Step {
	in, e := p.open(ep, f.Ref, b.Binding, f.CSRF, true)
	if e != nil {
		return errorStep(in, e)
	}
	if st, ok := at(in, StateConsent); !ok {
		return st
	}
	sess, st, ok := p.consentSession(ctx, ep, in, b)
	if !ok {
		return st
	}
	switch f.Answer {
	case "accept":
		return p.accept(ctx, ep, in, *sess, b.Address)
	case "cancel":
		return p.deny(ctx, ep, in)
	case "back":
		// From the page that says an admin must approve: back to the
		// client, which is told why.
		return p.needAdmin(ctx, ep, in)
	}
	return errorStep(in, MalformedRequest("The consent form must be answered with 'accept', 'cancel' or 'back'."))
}

// consentSession returns the SSO session that signed in for in. When
// there is none (the user never signed in, or the session ended since),
// the step sends the browser back to the sign-in page.
func (p *Provider) consentSession(ctx context.Context, ep Endpoint, in Interaction, b Browser) (*store.Session, Step, bool) {
	sess, err := p.session(ctx, ep, b.Session)
	if err != nil {
		return nil, errorStep(in, ServerError(err)), false
	}
	if sess == nil || in.sessionID == "" || sess.ID != in.sessionID {
		in.State = StateLogin
		return nil, Step{Interaction: in, Goto: PageLogin}, false
	}
	return sess, Step{}, true
}

// decide moves in on from the browser's session: to Login when nobody is
// signed in or the request wants a fresh sign-in, to Consent when the user
// has not granted everything asked (or must be asked anyway), and
// otherwise to Done, answering. prompt=none turns the first two into
// failures. authenticated says the user signed in during this very
// request, which satisfies prompt=login and max_age. A Login or Consent
// step is not sealed yet: the caller does that.
func (p *Provider) decide(ctx context.Context, ep Endpoint, in Interaction, sess *store.Session, authenticated bool) Step {
	ar := &in.request
	var user *store.User
	if sess != nil {
		u, err := p.store.GetUser(ctx, ep.Tenant.ID, sess.UserID)
		switch {
		case err == nil && !u.Disabled:
			user = &u
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return p.failed(ep, in, ServerError(err))
		}
	}
	fresh := authenticated
	if user != nil && !fresh {
		fresh = !ar.hasPrompt("login") && !ar.hasPrompt("select_account")
		if ar.MaxAge >= 0 && p.now().Sub(sess.AuthTime) >= time.Duration(ar.MaxAge)*time.Second {
			fresh = false
		}
	}
	if user == nil || !fresh {
		if ar.hasPrompt("none") {
			return p.failed(ep, in, newError(ErrLoginRequired, http.StatusBadRequest, CodeLoginRequired, "The user is not signed in and prompt=none forbids asking."))
		}
		in.State = StateLogin
		return Step{Interaction: in}
	}
	// Before consent, as Entra checks it: a user the app will not let in
	// is not asked to grant it anything. finish checks again, for the
	// ways that reach it without coming through here.
	if refused := p.assigned(ctx, ep, in, *user); refused != nil {
		return *refused
	}
	if !slices.Contains(sess.AMR, AMRMFA) {
		need, err := p.mfaRequired(ctx, ep, *user, ar)
		if err != nil {
			return p.failed(ep, in, ServerError(err))
		}
		if need {
			if ar.hasPrompt("none") {
				return p.failed(ep, in, newError(ErrInteractionRequired, http.StatusBadRequest, CodeLoginRequired,
					"The sign-in needs a second factor and prompt=none forbids asking."))
			}
			return p.stepUp(ctx, ep, in, *user, *sess)
		}
	}
	missing, err := p.missingConsent(ctx, ep, ar, user.ID)
	if err != nil {
		return p.failed(ep, in, ServerError(err))
	}
	if len(missing) > 0 || in.asksConsent() {
		if ar.hasPrompt("none") {
			admin, err := p.adminOnly(ctx, ep, missing)
			if err != nil {
				return p.failed(ep, in, ServerError(err))
			}
			if len(admin) > 0 {
				return p.failed(ep, in, needsAdminConsent(ErrConsentRequired))
			}
			return p.failed(ep, in, newError(ErrConsentRequired, http.StatusBadRequest, CodeConsentRequired, "The user has not consented to the requested permissions and prompt=none forbids asking."))
		}
		// The consent page itself tells a user who cannot consent (a
		// scope only an admin may grant) that an admin must.
		in.State = StateConsent
		return Step{Interaction: in}
	}
	return p.finish(ctx, ep, in, *user, *sess)
}

// accept records the user's consent to everything in asks for and
// finishes it.
func (p *Provider) accept(ctx context.Context, ep Endpoint, in Interaction, sess store.Session, address string) Step {
	user, e := p.signedInUser(ctx, ep, in, sess)
	if e != nil {
		return p.failed(ep, in, e)
	}
	// The page offered no Accept if an admin must consent, but a form can
	// be posted without the page, and an admin may have withdrawn the
	// grant since it was shown.
	missing, err := p.missingConsent(ctx, ep, &in.request, user.ID)
	if err != nil {
		return p.failed(ep, in, ServerError(err))
	}
	admin, err := p.adminOnly(ctx, ep, missing)
	if err != nil {
		return p.failed(ep, in, ServerError(err))
	}
	if len(admin) > 0 {
		return p.needAdmin(ctx, ep, in)
	}
	if err := p.addConsents(ctx, ep, &in.request, user, address); err != nil {
		return p.failed(ep, in, ServerError(err))
	}
	return p.finish(ctx, ep, in, user, sess)
}

// deny answers an interaction whose user cancelled consent: the client
// gets access_denied, and a waiting device is told so when it polls.
func (p *Provider) deny(ctx context.Context, ep Endpoint, in Interaction) Step {
	denied := newError(ErrAccessDenied, http.StatusBadRequest, CodeUserCancelled, "The user declined to consent to the requested permissions.")
	if in.Kind != KindDeviceApproval {
		return p.failed(ep, in, denied)
	}
	if e := p.decideDevice(ctx, ep, in.device, store.DeviceDecision{Status: store.DeviceDenied}); e != nil {
		return p.failed(ep, in, e)
	}
	in.State = StateFailed
	return Step{Interaction: in, Page: PageDeviceResult, Status: http.StatusOK, Result: DeviceDenied, Err: denied}
}

// needAdmin answers an interaction that asks for a scope only an admin
// may consent to: the client gets access_denied saying an admin must
// grant consent, and a waiting device is denied, as when the user
// cancels.
func (p *Provider) needAdmin(ctx context.Context, ep Endpoint, in Interaction) Step {
	refused := needsAdminConsent(ErrAccessDenied)
	if in.Kind != KindDeviceApproval {
		return p.failed(ep, in, refused)
	}
	if e := p.decideDevice(ctx, ep, in.device, store.DeviceDecision{Status: store.DeviceDenied}); e != nil {
		return p.failed(ep, in, e)
	}
	in.State = StateFailed
	return Step{Interaction: in, Page: PageDeviceResult, Status: http.StatusBadRequest, Result: DeviceFailed, Err: refused}
}

// finish answers for a signed-in, consenting user: the code goes to the
// client, or the device is approved.
func (p *Provider) finish(ctx context.Context, ep Endpoint, in Interaction, user store.User, sess store.Session) Step {
	if e := p.assigned(ctx, ep, in, user); e != nil {
		return *e
	}
	// The last check before anything is issued: whatever page was posted,
	// a session without the second factor the request or the policy
	// requires gets nothing.
	if !slices.Contains(sess.AMR, AMRMFA) {
		need, err := p.mfaRequired(ctx, ep, user, &in.request)
		if err != nil {
			return p.failed(ep, in, ServerError(err))
		}
		if need {
			return p.failed(ep, in, newError(ErrInteractionRequired, http.StatusBadRequest, CodeLoginRequired,
				"The sign-in did not complete the second factor it requires. Sign in again."))
		}
	}
	if e := p.noteFrontChannel(ctx, ep, in.request.ClientID, sess); e != nil {
		return p.failed(ep, in, e)
	}
	if in.Kind == KindDeviceApproval {
		e := p.decideDevice(ctx, ep, in.device, store.DeviceDecision{
			Status: store.DeviceApproved, UserID: user.ID, SessionID: sess.ID, AuthTime: sess.AuthTime, AMR: sess.AMR, Grant: in.request.Grant,
		})
		if e != nil {
			return p.failed(ep, in, e)
		}
		in.State = StateDone
		return Step{Interaction: in, Page: PageDeviceResult, Status: http.StatusOK, Result: DeviceApproved}
	}
	resp, e := p.issueCode(ctx, ep, &in.request, user, sess)
	if e != nil {
		return p.failed(ep, in, e)
	}
	in.State = StateDone
	return Step{Interaction: in, Response: resp}
}

// assigned refuses, for an app that requires assignment, a user assigned
// to it neither in person nor through a group: the client gets
// access_denied with Entra's 50105, and a device is denied. It runs here,
// where every way through the interaction (a session, a password, a
// consent, any later factor) meets just before a code is issued or a
// device approved, so none can skip it; the consent a user may have given
// on the way stays, as it does in Entra, and is harmless without the
// assignment.
func (p *Provider) assigned(ctx context.Context, ep Endpoint, in Interaction, user store.User) *Step {
	client, err := p.store.GetApp(ctx, ep.Tenant.ID, in.request.ClientID)
	if err != nil {
		step := p.failed(ep, in, ServerError(err))
		return &step
	}
	refused := p.checkAssigned(ctx, ep, client, user.ID, ErrAccessDenied)
	if refused == nil {
		return nil
	}
	if in.Kind == KindDeviceApproval {
		if e := p.decideDevice(ctx, ep, in.device, store.DeviceDecision{Status: store.DeviceDenied}); e != nil {
			refused = e
		}
	}
	step := p.failed(ep, in, refused)
	return &step
}

// noteFrontChannel records on the session that the client takes part in
// it, when the client has a front-channel logout URI: it is then told when
// the session signs out (OpenID Connect Front-Channel Logout 1.0). Other
// clients cost no write, and the app comes from the read cache. It runs
// before the code is issued, so that no client holds a code from the
// session without being on its list.
func (p *Provider) noteFrontChannel(ctx context.Context, ep Endpoint, clientID string, sess store.Session) *Error {
	if slices.Contains(sess.FrontChannelClients, clientID) {
		return nil
	}
	app, err := p.store.GetApp(ctx, ep.Tenant.ID, clientID)
	if err != nil {
		return ServerError(err)
	}
	if app.FrontChannelLogoutURI == "" {
		return nil
	}
	if err := p.store.AddSessionFrontChannelClient(ctx, ep.Tenant.ID, sess.ID, clientID); err != nil {
		return ServerError(err)
	}
	return nil
}

// failed ends in with e, an error met after the request was validated
// (sign-in, consent, code issuance; server errors included, as the
// redirect URI is known to be the client's). An authorization request's
// error goes to the client, naming the issuer as ep addressed it; a device
// approval's is shown to the user on Tessera's own page: no client reads
// it.
func (p *Provider) failed(ep Endpoint, in Interaction, e *Error) Step {
	in.State = StateFailed
	if in.Kind == KindDeviceApproval {
		return Step{Interaction: in, Page: PageDeviceResult, Status: http.StatusBadRequest, Result: DeviceFailed, Err: e}
	}
	ar := &in.request
	return Step{Interaction: in, Response: redirectFailure(ep, ar.RedirectURI, ar.ResponseMode, ar.State, e), Err: e}
}

// errorStep ends in on the error page: there is nothing to continue, or
// no one else to tell.
func errorStep(in Interaction, e *Error) Step {
	in.State = StateFailed
	return Step{Interaction: in, Page: PageError, Err: e}
}

// pageOf is the page on which an interaction waiting in state waits.
func pageOf(state InteractionState) Page {
	switch state {
	case StateConsent:
		return PageConsent
	case StateSecondFactor:
		return PageSecondFactor
	case StateEnrol:
		return PageEnrol
	case StateEnrolled:
		return PageRecovery
	}
	return PageLogin
}

// signInAgain are the states whose interaction the sign-in page may
// start over: any that waits for the user.
func signInAgain() []InteractionState {
	return []InteractionState{StateLogin, StateSecondFactor, StateEnrol, StateEnrolled, StateConsent}
}

// at checks that in, as sealed, waits in one of states: an entry point
// opens only the interactions it is the next step of. Otherwise the step
// sends the browser to the page in waits on, so a form posted with the
// ref of another step (the consent form with a second-factor step's ref)
// lands where the user really is and skips nothing.
func at(in Interaction, states ...InteractionState) (Step, bool) {
	if slices.Contains(states, in.State) {
		return Step{}, true
	}
	if !(&Step{Interaction: in}).waiting() {
		return errorStep(in, interactionGone()), false
	}
	return Step{Interaction: in, Goto: pageOf(in.State)}, false
}

// binding returns the browser-binding secret in the cookie, or a new one
// (then set is it too) when the cookie holds nothing that could be one.
func binding(cookie string) (secret, set string) {
	if len(cookie) >= 32 && len(cookie) <= 64 {
		return cookie, ""
	}
	v := token.NewOpaque()
	return v, v
}

// sealedInteraction is what Interaction.Ref carries. The browser binding
// (a hash of the binding cookie's secret) and the CSRF token make a forged
// form submission fail: the cookie is HttpOnly, and a page of another site
// can read neither the cookie nor this page.
type sealedInteraction struct {
	ID        string           `json:"id"`
	Kind      InteractionKind  `json:"k"`
	State     InteractionState `json:"st"`
	Browser   []byte           `json:"b"`
	CSRF      string           `json:"c"`
	Expires   int64            `json:"e"` // Unix seconds
	UserID    string           `json:"u,omitempty"`
	SessionID string           `json:"s,omitempty"`
	Device    string           `json:"d,omitempty"`
	AMR       []string         `json:"m,omitempty"`
	Enrol     string           `json:"t,omitempty"`
	Request   AuthorizeRequest `json:"r"`
}

// maxRef bounds a sealed interaction presented to the pages before it is
// decoded: the largest authorization request Tessera accepts seals to far
// less.
const maxRef = 48 << 10

// sealLabel binds a sealed interaction to its purpose and tenant, so it
// does not open under another tenant's pages. v2: the interaction has a
// kind and a state; a v1 pending request from before does not open, and
// its page says the sign-in expired.
func sealLabel(ep Endpoint) string { return "tessera sign-in interaction v2\x00" + ep.Tenant.ID }

// interactionGone is shown when a page is used after its interaction
// expired, was finished, or from another browser.
func interactionGone() *Error {
	return newError(ErrInvalidRequest, http.StatusBadRequest, CodeMalformedRequest,
		"This sign-in request has expired or was started in another browser. Go back to the application and sign in again.")
}

// start seals an interaction that waits for the user, new: its own id and
// CSRF token, bound to the browser whose binding secret is given. sess is
// attached when only consent or a step-up is missing.
func (p *Provider) start(ep Endpoint, in Interaction, sess *store.Session, browser string) (Step, error) {
	in.id, in.CSRF = token.NewOpaque(), token.NewOpaque()
	switch {
	case in.State == StateConsent && sess != nil:
		in.userID, in.sessionID = sess.UserID, sess.ID
	case in.State == StateSecondFactor || in.State == StateEnrol:
		// stepUp set the user, the session and its methods.
	default:
		in.userID, in.sessionID, in.amr, in.enrol = "", "", nil, ""
	}
	if err := p.seal(ep, &in, browser); err != nil {
		return Step{}, err
	}
	return Step{Interaction: in, Goto: pageOf(in.State)}, nil
}

// seal sets in.Ref: in, bound to the browser and live for the
// authorization request lifetime from now.
func (p *Provider) seal(ep Endpoint, in *Interaction, browser string) error {
	raw, err := json.Marshal(sealedInteraction{
		ID: in.id, Kind: in.Kind, State: in.State, Browser: token.Hash(browser), CSRF: in.CSRF,
		Expires: p.now().Add(p.cfg.AuthRequestLifetime).Unix(),
		UserID:  in.userID, SessionID: in.sessionID, Device: in.device, AMR: in.amr, Enrol: in.enrol, Request: in.request,
	})
	if err != nil {
		return fmt.Errorf("encode sign-in interaction: %w", err)
	}
	in.Ref = p.state.Seal(sealLabel(ep), raw)
	return nil
}

// open unseals an interaction if it is live and belongs to the browser.
// When checkCSRF is set (a form submission) csrf must match.
func (p *Provider) open(ep Endpoint, ref, browser, csrf string, checkCSRF bool) (Interaction, *Error) {
	if ref == "" || browser == "" || len(ref) > maxRef {
		return Interaction{}, interactionGone()
	}
	raw, err := p.state.Open(sealLabel(ep), ref)
	if err != nil {
		return Interaction{}, interactionGone()
	}
	var si sealedInteraction
	if err := json.Unmarshal(raw, &si); err != nil {
		return Interaction{}, ServerError(fmt.Errorf("decode sealed sign-in interaction: %w", err))
	}
	if !p.now().Before(time.Unix(si.Expires, 0)) || !token.Equal(token.Hash(browser), si.Browser) {
		return Interaction{}, interactionGone()
	}
	if checkCSRF && subtle.ConstantTimeCompare([]byte(csrf), []byte(si.CSRF)) != 1 {
		return Interaction{}, FormForgery("The form could not be verified. Reload the page and try again.")
	}
	return Interaction{Kind: si.Kind, State: si.State, Ref: ref, CSRF: si.CSRF, id: si.ID, request: si.Request,
		device: si.Device, userID: si.UserID, sessionID: si.SessionID, amr: si.AMR, enrol: si.Enrol}, nil
}
