package server

import (
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/server/ui"
)

// tokenRequest reads a client-authenticated POST (token, device
// authorization, revocation, introspection endpoints).
func (s *Server) tokenRequest(w http.ResponseWriter, r *http.Request) (oauth.TokenRequest, bool) {
	if !s.allowMethods(w, r, http.MethodPost) {
		return oauth.TokenRequest{}, false
	}
	params, e := readForm(w, r)
	if e == nil {
		var creds oauth.ClientCredentials
		ann := annotations(r.Context())
		ann.setClient(params.Get("client_id"))
		if creds, e = basicCredentials(r); e == nil {
			return oauth.TokenRequest{Params: params, Client: creds, Address: s.clientAddress(r)}, true
		}
	}
	s.writeError(w, r, e)
	return oauth.TokenRequest{}, false
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// deviceAuthorization is RFC 8628's device authorization endpoint, at the
// path MSAL derives from the token endpoint.
func (s *Server) deviceAuthorization(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	req, ok := s.tokenRequest(w, r)
	if !ok {
		return
	}
	resp, e := s.provider.DeviceAuthorize(r.Context(), ep, req)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, resp)
}

// revoke is RFC 7009's revocation endpoint: 200 with an empty JSON object.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	req, ok := s.tokenRequest(w, r)
	if !ok {
		return
	}
	if e := s.provider.Revoke(r.Context(), ep, req); e != nil {
		s.writeError(w, r, e)
		return
	}
	noStore(w)
	// RFC 7009 §2.2 asks only for a 200; an empty JSON object rather than
	// an empty body, because strict clients (simple-oauth2's JSON mode)
	// parse every answer of the server as JSON.
	writeJSON(w, http.StatusOK, struct{}{})
}

// introspect is RFC 7662's introspection endpoint.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	req, ok := s.tokenRequest(w, r)
	if !ok {
		return
	}
	resp, e := s.provider.Introspect(r.Context(), ep, req)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, resp)
}

// userinfo is the OpenID Connect UserInfo endpoint; it takes the token
// from the Authorization header (RFC 6750 §2.1).
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	if !s.allowMethods(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	var bearer string
	if scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		bearer = strings.TrimSpace(value)
	}
	claims, e := s.provider.UserInfo(r.Context(), ep, bearer)
	if e != nil {
		s.writeBearerError(w, r, e)
		return
	}
	if oid, ok := claims["oid"].(string); ok {
		annotations(r.Context()).objectID = oid
	}
	noStore(w)
	writeJSON(w, http.StatusOK, claims)
}

// writeBearerError is an RFC 6750 §3 error: the code goes in the
// WWW-Authenticate challenge as well as the body.
func (s *Server) writeBearerError(w http.ResponseWriter, r *http.Request, e *oauth.Error) {
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		challenge := `Bearer realm="tessera", error="` + e.Code + `", error_description="` + strings.ReplaceAll(e.Description, `"`, `'`) + `"`
		s.writeErrorChallenge(w, r, e, challenge)
		return
	}
	s.writeError(w, r, e)
}

// logout is RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
// A request whose id_token_hint names the session's user signs out at
// once; any other asks the user first, on a form that only a page this
// server showed to this browser can submit.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	params, ok := s.browserParams(w, r, s.logoutErrorPage)
	if !ok {
		return
	}
	secret := cookieValue(r, ssoCookiePrefix+ep.Tenant.ID)
	lr, e := s.provider.ParseLogout(r.Context(), ep, params, secret)
	if e != nil {
		s.logoutErrorPage(w, r, e)
		return
	}
	confirmed := lr.Confirmed
	if r.Method == http.MethodPost && params.Get("csrf") != "" {
		// The answer to the confirmation form.
		if lr.Session == nil || !oauth.CheckLogoutCSRF(secret, params.Get("csrf")) {
			s.logoutErrorPage(w, r, oauth.FormForgery("The sign-out form could not be verified, or you were signed out already. Reload the page and try again."))
			return
		}
		switch params.Get("logout") {
		case "confirm":
			confirmed = true
		case "cancel":
			s.render(w, r, http.StatusOK, "message", ui.Message{Title: "You're still signed in", Text: "You stayed signed in to " + ep.Tenant.Name + ". You can close this window."})
			return
		default:
			s.logoutErrorPage(w, r, oauth.MalformedRequest("The sign-out form must be answered with 'confirm' or 'cancel'."))
			return
		}
	}
	if lr.Session != nil && !confirmed {
		page := ui.LogoutConfirm{Action: tenantPath(ep, "/oauth2/v2.0/logout"), CSRF: oauth.LogoutCSRF(secret),
			TenantName: ep.Tenant.Name, ClientName: lr.ClientName, Username: lr.Username}
		for _, p := range lr.Carry {
			page.Fields = append(page.Fields, ui.Field{Name: p.Name, Value: p.Value})
		}
		s.render(w, r, http.StatusOK, "logout", page)
		return
	}
	notify, e := s.provider.EndSession(r.Context(), ep, lr)
	if e != nil {
		s.logoutErrorPage(w, r, e)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: ssoCookiePrefix + ep.Tenant.ID, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	if len(notify) > 0 {
		s.signedOut(w, r, ep, lr.Redirect, notify)
		return
	}
	if lr.Redirect != "" {
		status := http.StatusFound
		if r.Method == http.MethodPost {
			status = http.StatusSeeOther
		}
		http.Redirect(w, r, lr.Redirect, status)
		return
	}
	s.render(w, r, http.StatusOK, "message", ui.Message{Title: "You signed out", Text: "You have signed out of " + ep.Tenant.Name + ". You can close this window."})
}

// signedOut is the page that tells the session's applications, each in a
// hidden iframe, that it ended (OpenID Connect Front-Channel Logout 1.0),
// then continues to redirect, if any. Its Content-Security-Policy allows
// framing exactly those applications' origins, on this response only; an
// origin that a CSP source cannot express is not framed at all.
func (s *Server) signedOut(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, redirect string, notify []oauth.FrontChannelLogout) {
	page := ui.SignedOut{TenantName: ep.Tenant.Name, Continue: template.URL(redirect), Nonce: scriptNonce()}
	var origins []string
	for _, n := range notify {
		if !cspOrigin(n.Origin) {
			s.log.WarnContext(r.Context(), "front-channel logout URI not framed: its origin cannot be allowed", "client_id", n.ClientID)
			continue
		}
		page.FrontChannel = append(page.FrontChannel, n.URI)
		if !slices.Contains(origins, n.Origin) {
			origins = append(origins, n.Origin)
		}
	}
	csp := "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'nonce-" + page.Nonce + "'; base-uri 'none'; frame-ancestors 'none'"
	if len(origins) > 0 {
		csp += "; frame-src " + strings.Join(origins, " ")
	}
	w.Header().Set("Content-Security-Policy", csp)
	s.render(w, r, http.StatusOK, "signed_out", page)
}

// cspOrigin reports whether origin (scheme://host[:port]) can stand in a
// Content-Security-Policy source list as it is: http or https, a host of
// letters, digits, dots and hyphens, and a numeric port. Anything else
// (an IPv6 literal, or characters such as ';' or ',' that URL parsing
// lets through in a host) could end the directive or the policy.
func cspOrigin(origin string) bool {
	rest, ok := strings.CutPrefix(origin, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(origin, "http://"); !ok {
			return false
		}
	}
	host, port, hasPort := strings.Cut(rest, ":")
	if host == "" || (hasPort && port == "") {
		return false
	}
	for _, c := range host {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// clientAddress is the client's IP address: behind the configured
// trusted proxies, the one they forwarded; else the peer's. X-Forwarded-For
// from anyone else is ignored: a client could write any address there, and
// without it every request behind a proxy shares the proxy's address, which
// makes the limit stricter, never looser. Without trusted proxies it is a
// substring of RemoteAddr, found without allocating, which is what the
// token endpoint pays on every request (failed client authentications are
// limited by address).
func (s *Server) clientAddress(r *http.Request) string {
	if s.cfg.TrustedProxies.Empty() {
		return peerHost(r.RemoteAddr)
	}
	return s.cfg.TrustedProxies.ClientAddress(r)
}
