package server

import (
	"net/http"

	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/server/ui"
	"github.com/tessera-id/tessera/store"
)

// login is the sign-in page of a pending authorization request.
func (s *Server) login(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	if !s.allowMethods(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	ctx := r.Context()
	browser := cookieValue(r, browserCookie)
	if r.Method == http.MethodGet {
		pending, e := s.provider.LoadPending(ctx, ep, r.URL.Query().Get("request"), browser, "", false)
		if e == nil {
			// A request that used up its tries is over: a form would
			// only collect a password to refuse.
			e = s.provider.SignInStopped(ctx, ep, pending.ID)
		}
		if e != nil {
			s.errorPage(w, r, e)
			return
		}
		s.loginPage(w, r, ep, pending, pending.Request.LoginHint, "", http.StatusOK)
		return
	}
	form, e := readForm(w, r)
	if e != nil {
		s.errorPage(w, r, e)
		return
	}
	pending, e := s.provider.LoadPending(ctx, ep, form.Get("request"), browser, form.Get("csrf"), true)
	if e != nil {
		s.errorPage(w, r, e)
		return
	}
	user, e := s.provider.AuthenticateUser(ctx, ep, oauth.SignIn{Pending: pending.ID,
		Username: form.Get("username"), Password: form.Get("password"), Address: s.clientAddress(r)})
	if e != nil {
		if e.Code == oauth.ErrServerError || e.EndsSignIn() {
			s.errorPage(w, r, e)
			return
		}
		// The form again, with the message: 200, as Entra answers. A 401
		// would need a WWW-Authenticate challenge (RFC 9110 §15.5.2), and
		// there is no HTTP authentication scheme to name for a form.
		s.loginPage(w, r, ep, pending, form.Get("username"), e.Description, http.StatusOK)
		return
	}
	secret, sess, err := s.provider.StartSession(ctx, ep, user)
	if err == nil {
		err = s.provider.SignedIn(ctx, ep, &pending, sess, browser)
	}
	if err != nil {
		s.errorPage(w, r, oauth.ServerError(err))
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: ssoCookiePrefix + ep.Tenant.ID, Value: secret, Path: "/",
		MaxAge:   int(s.provider.Config().SessionLifetime.Seconds()),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	})
	step, resp, fail := s.provider.Decide(ctx, ep, &pending.Request, &sess, true)
	switch {
	case fail != nil:
		s.authorizeFailed(w, r, fail)
	case step == oauth.StepDone:
		s.respond(w, r, resp)
	default:
		http.Redirect(w, r, s.pagePath(ep, "/consent", pending.Ref), http.StatusSeeOther)
	}
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, pending oauth.Pending, username, errMsg string, status int) {
	s.render(w, r, status, "login", ui.Login{
		Action:     tenantPath(ep, "/login"),
		RequestID:  pending.Ref,
		CSRF:       pending.CSRF,
		ClientName: s.provider.ClientName(r.Context(), ep, pending.Request.ClientID),
		TenantName: ep.Tenant.Name,
		Username:   username,
		Error:      errMsg,
	})
}

// consent is the consent page of a pending request whose user signed in.
func (s *Server) consent(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	if !s.allowMethods(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	ctx := r.Context()
	browser := cookieValue(r, browserCookie)
	var form oauth.Params
	var pending oauth.Pending
	var e *oauth.Error
	if r.Method == http.MethodGet {
		pending, e = s.provider.LoadPending(ctx, ep, r.URL.Query().Get("request"), browser, "", false)
	} else if form, e = readForm(w, r); e == nil {
		pending, e = s.provider.LoadPending(ctx, ep, form.Get("request"), browser, form.Get("csrf"), true)
	}
	if e != nil {
		s.errorPage(w, r, e)
		return
	}
	sess, ok := s.pendingSession(w, r, ep, pending)
	if !ok {
		return
	}
	if r.Method == http.MethodGet {
		info, e := s.provider.ConsentView(ctx, ep, pending)
		if e != nil {
			s.errorPage(w, r, e)
			return
		}
		data := ui.Consent{Action: tenantPath(ep, "/consent"), RequestID: pending.Ref, CSRF: pending.CSRF,
			ClientName: info.ClientName, Username: info.Username}
		for _, p := range info.Permissions {
			data.Permissions = append(data.Permissions, ui.Permission{Scope: p.Scope, Description: p.Description})
		}
		s.render(w, r, http.StatusOK, "consent", data)
		return
	}
	switch form.Get("consent") {
	case "accept":
		resp, e := s.provider.Consent(ctx, ep, pending, *sess)
		if e != nil {
			s.authorizeFailed(w, r, oauth.FailureFor(ep, &pending.Request, e))
			return
		}
		s.respond(w, r, resp)
	case "cancel":
		s.authorizeFailed(w, r, s.provider.Deny(ctx, ep, pending))
	default:
		s.errorPage(w, r, oauth.MalformedRequest("The consent form must be answered with 'accept' or 'cancel'."))
	}
}

// pendingSession returns the SSO session that signed in for pending. When
// there is none (the user never signed in, or the session ended since),
// the browser is sent back to the sign-in page.
func (s *Server) pendingSession(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, pending oauth.Pending) (*store.Session, bool) {
	sess, err := s.provider.Session(r.Context(), ep, cookieValue(r, ssoCookiePrefix+ep.Tenant.ID))
	if err != nil {
		s.errorPage(w, r, oauth.ServerError(err))
		return nil, false
	}
	if sess == nil || pending.SessionID == "" || sess.ID != pending.SessionID {
		http.Redirect(w, r, s.pagePath(ep, "/login", pending.Ref), http.StatusSeeOther)
		return nil, false
	}
	return sess, true
}
