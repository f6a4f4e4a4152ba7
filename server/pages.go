package server

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"

	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/server/ui"
)

// The sign-in pages. Each request is decoded into one call of the
// provider's interaction (oauth.Provider.BeginAuthorize and the rest),
// whose Step says what to answer: this file only reads forms and cookies
// and renders.

// interactionPage answers one page of an interaction: a GET shows it
// (show reads the query; nil for a page that is only ever posted to), a
// POST reads the form and submits it. Either way the provider's Step says
// what to answer.
func (s *Server) interactionPage(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint,
	show func(q url.Values, b oauth.Browser) oauth.Step, submit func(form oauth.Params, b oauth.Browser) oauth.Step) {
	methods := []string{http.MethodGet, http.MethodPost}
	if show == nil {
		methods = methods[1:]
	}
	if !s.allowMethods(w, r, methods...) {
		return
	}
	if r.Method == http.MethodGet {
		s.step(w, r, ep, show(r.URL.Query(), s.browser(r, ep)), http.StatusSeeOther)
		return
	}
	form, e := readForm(w, r)
	if e != nil {
		s.errorPage(w, r, e)
		return
	}
	s.step(w, r, ep, submit(form, s.browser(r, ep)), http.StatusSeeOther)
}

// login is the sign-in page of an interaction.
func (s *Server) login(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	ctx := r.Context()
	s.interactionPage(w, r, ep, func(q url.Values, b oauth.Browser) oauth.Step {
		return s.provider.LoginPage(ctx, ep, q.Get("request"), b)
	}, func(form oauth.Params, b oauth.Browser) oauth.Step {
		f := oauth.LoginForm{Ref: form.Get("request"), CSRF: form.Get("csrf"), Username: form.Get("username"), Password: form.Get("password")}
		return s.provider.SubmitLogin(ctx, ep, f, b)
	})
}

// consent is the consent page of an interaction whose user signed in.
func (s *Server) consent(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	ctx := r.Context()
	s.interactionPage(w, r, ep, func(q url.Values, b oauth.Browser) oauth.Step {
		return s.provider.ConsentPage(ctx, ep, q.Get("request"), b)
	}, func(form oauth.Params, b oauth.Browser) oauth.Step {
		f := oauth.ConsentForm{Ref: form.Get("request"), CSRF: form.Get("csrf"), Answer: form.Get("consent")}
		return s.provider.SubmitConsent(ctx, ep, f, b)
	})
}

// secondFactor is the second-factor page of an interaction whose user
// gave their password (or is stepping up): ?method= picks the form.
func (s *Server) secondFactor(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	ctx := r.Context()
	s.interactionPage(w, r, ep, func(q url.Values, b oauth.Browser) oauth.Step {
		return s.provider.SecondFactorPage(ctx, ep, q.Get("request"), oauth.FactorMethod(q.Get("method")), b)
	}, func(form oauth.Params, b oauth.Browser) oauth.Step {
		f := oauth.SecondFactorForm{Ref: form.Get("request"), CSRF: form.Get("csrf"), Method: oauth.FactorMethod(form.Get("method")), Code: form.Get("code"),
			State: form.Get("passkey_state"), Credential: form.Get("credential")}
		return s.provider.SubmitSecondFactor(ctx, ep, f, b)
	})
}

// enrol is the page where a user who must use a second factor sets up an
// authenticator app during sign-in.
func (s *Server) enrol(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	ctx := r.Context()
	s.interactionPage(w, r, ep, func(q url.Values, b oauth.Browser) oauth.Step {
		return s.provider.EnrolPage(ctx, ep, q.Get("request"), b)
	}, func(form oauth.Params, b oauth.Browser) oauth.Step {
		f := oauth.EnrolForm{Ref: form.Get("request"), CSRF: form.Get("csrf"), Code: form.Get("code")}
		return s.provider.SubmitEnrol(ctx, ep, f, b)
	})
}

// recovery goes on from the recovery codes page, which only the
// enrolment's answer shows (the codes are not kept to show again).
func (s *Server) recovery(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	s.interactionPage(w, r, ep, nil, func(form oauth.Params, b oauth.Browser) oauth.Step {
		f := oauth.ContinueForm{Ref: form.Get("request"), CSRF: form.Get("csrf")}
		return s.provider.SubmitContinue(r.Context(), ep, f, b)
	})
}

// uiPasskey is a passkey ceremony as a page shows it; nil for none.
func uiPasskey(action string, ch *oauth.PasskeyChallenge) *ui.Passkey {
	if ch == nil {
		return nil
	}
	return &ui.Passkey{Action: action, Options: string(ch.Options), State: ch.State}
}

// passkeyLogin is a passwordless sign-in posted from the sign-in page.
func (s *Server) passkeyLogin(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	if !s.allowMethods(w, r, http.MethodPost) {
		return
	}
	form, e := readForm(w, r)
	if e != nil {
		s.errorPage(w, r, e)
		return
	}
	f := oauth.PasskeyLoginForm{Ref: form.Get("request"), CSRF: form.Get("csrf"), State: form.Get("passkey_state"), Credential: form.Get("credential")}
	s.step(w, r, ep, s.provider.SubmitPasskeyLogin(r.Context(), ep, f, s.browser(r, ep)), http.StatusSeeOther)
}

// methodLabel is the text of the link to a second-factor form.
func methodLabel(m oauth.FactorMethod) string {
	switch m {
	case oauth.MethodTOTP:
		return "Use a code from your authenticator app"
	case oauth.MethodRecovery:
		return "Use a recovery code"
	case oauth.MethodPasskey:
		return "Use a passkey or security key"
	}
	return string(m)
}

// device is the verification page of the device flow: the user types the
// code, then signs in and consents on the usual pages.
func (s *Server) device(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	if !s.allowMethods(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	if r.Method == http.MethodGet {
		s.step(w, r, ep, s.provider.DevicePage(r.URL.Query().Get("user_code")), http.StatusSeeOther)
		return
	}
	form, e := readForm(w, r)
	if e != nil {
		s.errorPage(w, r, e)
		return
	}
	s.step(w, r, ep, s.provider.SubmitUserCode(r.Context(), ep, form.Get("user_code"), s.browser(r, ep)), http.StatusSeeOther)
}

// browser reads what the interaction needs to know of the browser.
func (s *Server) browser(r *http.Request, ep oauth.Endpoint) oauth.Browser {
	return oauth.Browser{
		Binding: cookieValue(r, browserCookie),
		Session: cookieValue(r, ssoCookiePrefix+ep.Tenant.ID),
		Address: s.clientAddress(r),
	}
}

// step answers as st says. gotoStatus is the redirect status for moving
// between the interaction's pages: 302 from the authorization endpoint,
// as clients expect of it, 303 after the pages' own forms.
func (s *Server) step(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, st oauth.Step, gotoStatus int) {
	if st.SetBinding != "" {
		http.SetCookie(w, &http.Cookie{Name: browserCookie, Value: st.SetBinding, Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	}
	if st.SetSession != "" {
		http.SetCookie(w, &http.Cookie{
			Name: ssoCookiePrefix + ep.Tenant.ID, Value: st.SetSession, Path: "/",
			MaxAge:   int(st.SessionMaxAge.Seconds()),
			HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
		})
	}
	in := st.Interaction
	switch {
	case st.Response != nil:
		if st.Err != nil {
			s.logError(r, st.Err)
		}
		s.respond(w, r, st.Response)
	case st.Goto != "":
		http.Redirect(w, r, s.pagePath(ep, "/"+string(st.Goto), in.Ref), gotoStatus)
	case st.Page == oauth.PageLogin:
		s.render(w, r, st.Status, "login", ui.Login{
			Action:     tenantPath(ep, "/login"),
			RequestID:  in.Ref,
			CSRF:       in.CSRF,
			ClientName: st.Login.ClientName,
			TenantName: ep.Tenant.Name,
			Username:   st.Login.Username,
			Error:      st.Login.Error,
			Passkey:    uiPasskey(tenantPath(ep, "/login/passkey"), st.Login.Passkey),
		})
	case st.Page == oauth.PageSecondFactor:
		v := st.SecondFactor
		data := ui.SecondFactor{Action: tenantPath(ep, "/second_factor"), RequestID: in.Ref, CSRF: in.CSRF,
			ClientName: v.ClientName, TenantName: ep.Tenant.Name, Username: v.Username, Method: string(v.Method),
			StepUp: v.StepUp, Error: v.Error, SignInAgain: s.pagePath(ep, "/login", in.Ref),
			Passkey: uiPasskey(tenantPath(ep, "/second_factor"), v.Passkey)}
		for _, m := range v.Methods {
			if m != v.Method {
				data.Others = append(data.Others, ui.Link{Href: s.pagePath(ep, "/second_factor", in.Ref) + "&method=" + string(m), Label: methodLabel(m)})
			}
		}
		s.render(w, r, st.Status, "second_factor", data)
	case st.Page == oauth.PageEnrol:
		// The QR code is an image in the page (a data: URL), so that the
		// secret goes nowhere else.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'")
		s.render(w, r, st.Status, "enrol", ui.Enrol{Action: tenantPath(ep, "/enrol"), RequestID: in.Ref, CSRF: in.CSRF,
			ClientName: st.Enrol.ClientName, TenantName: ep.Tenant.Name, Username: st.Enrol.Username,
			Secret: ui.GroupsOfFour(st.Enrol.Secret), QR: template.URL(st.Enrol.QR), Error: st.Enrol.Error})
	case st.Page == oauth.PageRecovery:
		s.render(w, r, st.Status, "recovery", ui.Recovery{Action: tenantPath(ep, "/recovery"), RequestID: in.Ref, CSRF: in.CSRF,
			TenantName: ep.Tenant.Name, Codes: st.Recovery.Codes})
	case st.Page == oauth.PageConsent:
		data := ui.Consent{Action: tenantPath(ep, "/consent"), RequestID: in.Ref, CSRF: in.CSRF,
			ClientName: st.Consent.ClientName, Username: st.Consent.Username, NeedsAdmin: st.Consent.NeedsAdmin}
		if s.account != nil {
			data.AccountURL = tenantPath(ep, "/account")
		}
		for _, p := range st.Consent.Permissions {
			data.Permissions = append(data.Permissions, ui.Permission{Scope: p.Scope, Description: p.Description, Detail: p.Detail})
		}
		s.render(w, r, st.Status, "consent", data)
	case st.Page == oauth.PageDevice:
		s.render(w, r, st.Status, "device", ui.Device{Action: tenantPath(ep, "/device"), TenantName: ep.Tenant.Name,
			UserCode: st.Device.UserCode, Error: st.Device.Error})
	case st.Page == oauth.PageDeviceResult:
		if st.Err != nil {
			s.logError(r, st.Err)
		}
		s.render(w, r, st.Status, "message", deviceMessage(st))
	case st.Page == oauth.PageError && st.Err != nil:
		s.errorPage(w, r, st.Err)
	default:
		// A step that asks for nothing is a bug: a 500, not a blank page.
		s.errorPage(w, r, oauth.ServerError(fmt.Errorf("sign-in step in state %q answers nothing", in.State)))
	}
}

// deviceMessage tells the user what became of the device they signed in.
func deviceMessage(st oauth.Step) ui.Message {
	switch st.Result {
	case oauth.DeviceApproved:
		return ui.Message{Title: "You're signed in", Text: "You have signed in to the application on your device. You can close this window."}
	case oauth.DeviceDenied:
		return ui.Message{Title: "Sign-in cancelled", Text: "You declined the sign-in. The application on your device will not get access.", Error: true}
	}
	return ui.Message{Title: "Sign-in failed", Text: st.Err.Description, Error: true}
}
