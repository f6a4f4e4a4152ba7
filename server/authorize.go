package server

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/server/ui"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

const (
	// browserCookie binds pending sign-in requests to the browser that
	// started them.
	browserCookie = "tessera_browser"
	// ssoCookiePrefix + tenant id names a tenant's SSO session cookie.
	ssoCookiePrefix = "tessera_sso_"
)

// authorize is the authorization endpoint (RFC 6749 §3.1, OpenID Connect
// Core §3.1.2). GET and POST are both allowed, as OIDC requires.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	params, ok := s.browserParams(w, r, s.errorPage)
	if !ok {
		return
	}
	ar, fail := s.provider.ParseAuthorize(r.Context(), ep, params)
	if fail != nil {
		s.authorizeFailed(w, r, fail)
		return
	}
	sess, err := s.provider.Session(r.Context(), ep, cookieValue(r, ssoCookiePrefix+ep.Tenant.ID))
	if err != nil {
		s.authorizeFailed(w, r, oauth.FailureFor(ep, ar, oauth.ServerError(err)))
		return
	}
	step, resp, fail := s.provider.Decide(r.Context(), ep, ar, sess, false)
	switch {
	case fail != nil:
		s.authorizeFailed(w, r, fail)
	case step == oauth.StepDone:
		s.respond(w, r, resp)
	default:
		var pendingSession *store.Session
		page := "/login"
		if step == oauth.StepConsent {
			pendingSession, page = sess, "/consent"
		}
		pending, err := s.provider.StartPending(r.Context(), ep, ar, s.browserID(w, r), pendingSession)
		if err != nil {
			s.authorizeFailed(w, r, oauth.FailureFor(ep, ar, oauth.ServerError(err)))
			return
		}
		http.Redirect(w, r, s.pagePath(ep, page, pending.Ref), http.StatusFound)
	}
}

// browserParams reads the parameters of an endpoint a browser reaches by
// GET (query) or POST (form), showing an error page when it cannot.
func (s *Server) browserParams(w http.ResponseWriter, r *http.Request, errorPage func(http.ResponseWriter, *http.Request, *oauth.Error)) (oauth.Params, bool) {
	if !s.allowMethods(w, r, http.MethodGet, http.MethodPost) {
		return nil, false
	}
	var params oauth.Params
	var e *oauth.Error
	if r.Method == http.MethodPost {
		params, e = readForm(w, r)
	} else {
		params, e = oauth.ParseForm(r.URL.RawQuery)
	}
	if e != nil {
		errorPage(w, r, e)
		return nil, false
	}
	return params, true
}

// pagePath is a sign-in page URL for a pending request (sealed), relative
// to the server root.
func (s *Server) pagePath(ep oauth.Endpoint, page, pendingRef string) string {
	return tenantPath(ep, page) + "?request=" + url.QueryEscape(pendingRef)
}

// tenantPath is a path under the tenant, relative to the server root.
func tenantPath(ep oauth.Endpoint, page string) string {
	base, _ := url.Parse(ep.Base)
	return base.Path + page
}

// browserID returns the browser-binding secret, setting the cookie the
// first time a browser arrives.
func (s *Server) browserID(w http.ResponseWriter, r *http.Request) string {
	if v := cookieValue(r, browserCookie); len(v) >= 32 && len(v) <= 64 {
		return v
	}
	v := token.NewOpaque()
	http.SetCookie(w, &http.Cookie{Name: browserCookie, Value: v, Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	return v
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// authorizeFailed sends an error to the client when its redirect URI is
// trusted, and shows it to the user otherwise.
func (s *Server) authorizeFailed(w http.ResponseWriter, r *http.Request, fail *oauth.AuthorizeFailure) {
	if fail.Redirect == nil {
		s.errorPage(w, r, fail.Err)
		return
	}
	s.logError(r, fail.Err)
	s.respond(w, r, fail.Redirect)
}

// respond delivers an authorization response in its response mode.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, resp *oauth.AuthorizeResponse) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if resp.Mode == oauth.ModeDevice {
		s.deviceResult(w, r, resp)
		return
	}
	if resp.Mode != oauth.ModeFormPost {
		status := http.StatusFound
		if r.Method == http.MethodPost {
			status = http.StatusSeeOther
		}
		http.Redirect(w, r, resp.Location(), status)
		return
	}
	nonce := scriptNonce()
	data := ui.FormPost{Action: resp.RedirectURI, Nonce: nonce}
	keys := make([]string, 0, len(resp.Params))
	for k := range resp.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		data.Fields = append(data.Fields, ui.Field{Name: k, Value: resp.Params.Get(k)})
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'")
	s.render(w, r, http.StatusOK, "form_post", data)
}

// deviceResult tells the user what became of the device they signed in.
func (s *Server) deviceResult(w http.ResponseWriter, r *http.Request, resp *oauth.AuthorizeResponse) {
	switch resp.Params.Get("status") {
	case "approved":
		s.render(w, r, http.StatusOK, "message", ui.Message{Title: "You're signed in", Text: "You have signed in to the application on your device. You can close this window."})
	case "denied":
		s.render(w, r, http.StatusOK, "message", ui.Message{Title: "Sign-in cancelled", Text: "You declined the sign-in. The application on your device will not get access.", Error: true})
	default:
		s.render(w, r, http.StatusBadRequest, "message", ui.Message{Title: "Sign-in failed", Text: resp.Params.Get("error_description"), Error: true})
	}
}

func scriptNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}

// errorPage shows an error the client cannot be told about. A caller that
// asks for JSON (a script, not a browser) gets the JSON error instead.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, e *oauth.Error) {
	s.errorPageTitled(w, r, e, ui.Error{})
}

// logoutErrorPage is errorPage for the sign-out endpoint, headed as such.
func (s *Server) logoutErrorPage(w http.ResponseWriter, r *http.Request, e *oauth.Error) {
	s.errorPageTitled(w, r, e, ui.Error{SignOut: true})
}

func (s *Server) errorPageTitled(w http.ResponseWriter, r *http.Request, e *oauth.Error, page ui.Error) {
	if !acceptsHTML(r) {
		s.writeError(w, r, e)
		return
	}
	s.logError(r, e)
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	page.Code, page.Description = e.Code, e.Description
	page.TraceID = requestIDs(r.Context()).trace
	page.Timestamp = time.Now().UTC().Format("2006-01-02 15:04:05Z")
	s.render(w, r, status, "error", page)
}

func acceptsHTML(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mediaType, _, _ := strings.Cut(part, ";")
		switch strings.TrimSpace(mediaType) {
		case "text/html", "application/xhtml+xml", "*/*", "text/*":
			return true
		}
	}
	return false
}

// render writes an HTML page with the headers every page carries.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	if h.Get("Content-Security-Policy") == "" {
		// No form-action: Chromium applies it to the redirect that follows
		// a form submission, which goes to the client's redirect URI.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'")
	}
	body, err := s.pages.Render(page, data)
	if err != nil {
		s.log.ErrorContext(r.Context(), "render page", "page", page, "err", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
