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
	s.step(w, r, ep, s.provider.BeginAuthorize(r.Context(), ep, params, s.browser(r, ep)), http.StatusFound)
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

// pagePath is a sign-in page URL for a sealed interaction, relative to
// the server root.
func (s *Server) pagePath(ep oauth.Endpoint, page, ref string) string {
	return tenantPath(ep, page) + "?request=" + url.QueryEscape(ref)
}

// tenantPath is a path under the tenant, relative to the server root.
func tenantPath(ep oauth.Endpoint, page string) string {
	base, _ := url.Parse(ep.Base)
	return base.Path + page
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// respond delivers an authorization response in its response mode.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, resp *oauth.AuthorizeResponse) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
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
		// script-src 'self' is passkey.js, the only script Tessera
		// serves, which runs the pages' WebAuthn ceremonies.
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'")
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
