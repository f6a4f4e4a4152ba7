package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tessera-id/tessera/internal/redirecturi"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// Response modes (OAuth 2.0 Multiple Response Type Encoding Practices and
// Form Post Response Mode).
const (
	ModeQuery    = "query"
	ModeFragment = "fragment"
	ModeFormPost = "form_post"
)

// PKCE methods (RFC 7636).
const (
	PKCES256  = "S256"
	PKCEPlain = "plain"
)

// AuthorizeRequest is a validated authorization request. It is kept while
// the user signs in and consents, so it carries only what is needed to
// finish.
type AuthorizeRequest struct {
	ClientID            string   `json:"client_id"`
	RedirectURI         string   `json:"redirect_uri"`
	ResponseType        string   `json:"response_type"`
	ResponseMode        string   `json:"response_mode"`
	State               string   `json:"state,omitempty"`
	Nonce               string   `json:"nonce,omitempty"`
	CodeChallenge       string   `json:"code_challenge,omitempty"`
	CodeChallengeMethod string   `json:"code_challenge_method,omitempty"`
	Prompt              []string `json:"prompt,omitempty"`
	LoginHint           string   `json:"login_hint,omitempty"`
	MaxAge              int      `json:"max_age"` // -1: not given
	// ACRValues are the authentication context classes asked for, in
	// order of preference (OpenID Connect Core §3.1.2.1).
	ACRValues []string    `json:"acr_values,omitempty"`
	Grant     store.Grant `json:"grant"`
}

func (ar *AuthorizeRequest) hasPrompt(v string) bool { return slices.Contains(ar.Prompt, v) }
func (ar *AuthorizeRequest) wantsIDToken() bool      { return ar.ResponseType == "code id_token" }

// AuthorizeResponse sends the browser back to the client: in the query,
// the fragment, or an auto-submitted form.
type AuthorizeResponse struct {
	RedirectURI string
	Mode        string
	Params      url.Values
}

// Location is the redirect target for the query and fragment modes.
func (r *AuthorizeResponse) Location() string {
	u, err := url.Parse(r.RedirectURI)
	if err != nil {
		// Registered redirect URIs were parsed at registration.
		return r.RedirectURI
	}
	if r.Mode == ModeFragment {
		u.Fragment = ""
		return u.String() + "#" + r.Params.Encode()
	}
	q := u.Query()
	for k, vs := range r.Params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// authorizeFailure is a failed authorization request. With redirect set,
// the error goes back to the client's registered redirect URI; without, the
// client or redirect URI could not be trusted and the user sees an error
// page (RFC 6749 §4.1.2.1: never redirect to an unverified URI).
type authorizeFailure struct {
	err      *Error
	redirect *AuthorizeResponse
}

func pageFailure(e *Error) *authorizeFailure { return &authorizeFailure{err: e} }

// responseParams starts the parameters of an authorization response to
// the client, error or success: state echoed, and iss, the issuer of the
// tenant the request was addressed to (RFC 9207). Every tenant is an
// issuer of its own on the same host, so a client that talks to several
// tenants (or to Tessera and another server) can only tell from iss which
// one a response came from, and so refuse a code a mix-up attacker routed
// to the wrong token endpoint.
func responseParams(ep Endpoint, state string) url.Values {
	v := url.Values{"iss": {ep.Issuer}}
	if state != "" {
		v.Set("state", state)
	}
	return v
}

// redirectFailure is the response that sends e to the client, with the
// request's state.
func redirectFailure(ep Endpoint, redirectURI, mode, state string, e *Error) *AuthorizeResponse {
	v := responseParams(ep, state)
	v.Set("error", e.Code)
	v.Set("error_description", e.Description)
	return &AuthorizeResponse{RedirectURI: redirectURI, Mode: mode, Params: v}
}

// parseAuthorize validates an authorization request. The client and
// redirect URI are checked first: until both are known good, errors are
// shown to the user; after, they are redirected to the client.
func (p *Provider) parseAuthorize(ctx context.Context, ep Endpoint, params Params) (*AuthorizeRequest, *authorizeFailure) {
	clientID := params.Get("client_id")
	if clientID == "" {
		return nil, pageFailure(MissingParameter("client_id"))
	}
	client, err := p.store.GetApp(ctx, ep.Tenant.ID, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, pageFailure(newError(ErrUnauthorizedClient, http.StatusBadRequest, CodeAppNotFound,
			"Application with identifier '%s' was not found in the tenant '%s'.", truncate(clientID, 64), ep.Tenant.Name))
	}
	if err != nil {
		return nil, pageFailure(ServerError(err))
	}
	redirectURI := params.Get("redirect_uri")
	switch all := client.AllRedirectURIs(); {
	case redirectURI == "" && len(all) == 1:
		redirectURI = all[0]
	case redirectURI == "":
		// A request object may hold the redirect URI; when the client
		// sent one, say that it was not read rather than that the URI is
		// missing.
		if e := requestObjectError(params); e != nil {
			return nil, pageFailure(e)
		}
		return nil, pageFailure(MissingParameter("redirect_uri"))
	case !redirectRegistered(client, redirectURI):
		return nil, pageFailure(invalidRequest(CodeRedirectMismatch,
			"The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'.", truncate(redirectURI, 300), client.ClientID))
	}

	ar := &AuthorizeRequest{ClientID: client.ClientID, RedirectURI: redirectURI, State: params.Get("state"), MaxAge: -1}
	fail := func(mode string, e *Error) (*AuthorizeRequest, *authorizeFailure) {
		return nil, &authorizeFailure{err: e, redirect: redirectFailure(ep, redirectURI, mode, ar.State, e)}
	}

	responseType := strings.Fields(params.Get("response_type"))
	slices.Sort(responseType)
	switch strings.Join(responseType, " ") {
	case "code":
		ar.ResponseType, ar.ResponseMode = "code", ModeQuery
	case "code id_token":
		ar.ResponseType, ar.ResponseMode = "code id_token", ModeFragment
	case "":
		return fail(ModeQuery, MissingParameter("response_type"))
	default:
		return fail(ModeQuery, newError(ErrUnsupportedResponseType, http.StatusBadRequest, CodeUnsupportedResponse,
			"The response_type '%s' is not supported; use 'code' or 'code id_token'.", truncate(params.Get("response_type"), 100)))
	}
	switch mode := params.Get("response_mode"); mode {
	case "":
	case ModeQuery:
		if ar.wantsIDToken() {
			return fail(ModeFragment, invalidRequest(CodeMalformedRequest, "An ID token must not be returned in the query; use response_mode fragment or form_post."))
		}
		ar.ResponseMode = mode
	case ModeFragment, ModeFormPost:
		ar.ResponseMode = mode
	default:
		return fail(ar.ResponseMode, invalidRequest(CodeMalformedRequest, "The response_mode '%s' is not supported; use query, fragment or form_post.", truncate(mode, 100)))
	}

	if e := requestObjectError(params); e != nil {
		return fail(ar.ResponseMode, e)
	}

	for _, v := range strings.Fields(params.Get("prompt")) {
		switch v {
		case "none", "login", "consent", "select_account":
			if !slices.Contains(ar.Prompt, v) {
				ar.Prompt = append(ar.Prompt, v)
			}
		}
	}
	if ar.hasPrompt("none") && len(ar.Prompt) > 1 {
		return fail(ar.ResponseMode, invalidRequest(CodeMalformedRequest, "prompt=none cannot be combined with other prompt values."))
	}
	if v := params.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fail(ar.ResponseMode, invalidRequest(CodeMalformedRequest, "max_age must be a non-negative number of seconds."))
		}
		ar.MaxAge = n
	}
	ar.LoginHint = params.Get("login_hint")
	ar.ACRValues = strings.Fields(params.Get("acr_values"))
	ar.Nonce = params.Get("nonce")
	if ar.wantsIDToken() && ar.Nonce == "" {
		return fail(ar.ResponseMode, MissingParameter("nonce"))
	}

	if e := p.parsePKCE(client, params, ar); e != nil {
		return fail(ar.ResponseMode, e)
	}

	raw := params.Get("scope")
	if raw == "" {
		return fail(ar.ResponseMode, MissingParameter("scope"))
	}
	sr, e := p.parseScope(ctx, ep.Tenant.ID, raw)
	if e != nil {
		return fail(ar.ResponseMode, e)
	}
	if ar.Grant, e = authorizeGrant(client, sr); e != nil {
		return fail(ar.ResponseMode, e)
	}
	if ar.wantsIDToken() && !slices.Contains(ar.Grant.OIDCScopes, ScopeOpenID) {
		return fail(ar.ResponseMode, invalidScope("response_type 'code id_token' requires the 'openid' scope."))
	}
	return ar, nil
}

// requestObjectError refuses request objects (OpenID Connect Core §6),
// which Tessera does not read (discovery says request_parameter_supported
// and request_uri_parameter_supported false): answering the request
// without the parameters the object holds would ignore what the client
// asked for, perhaps a narrower scope or a stricter prompt.
func requestObjectError(params Params) *Error {
	switch {
	case params.Get("request") != "":
		return newError(ErrRequestNotSupported, http.StatusBadRequest, CodeMalformedRequest,
			"Request objects (the 'request' parameter) are not supported; send the authorization parameters in the query or form.")
	case params.Get("request_uri") != "":
		return newError(ErrRequestURINotSupported, http.StatusBadRequest, CodeMalformedRequest,
			"Request objects by reference (the 'request_uri' parameter) are not supported; send the authorization parameters in the query or form.")
	}
	return nil
}

// authorizeGrant is what the user is asked to grant. "{resource}/.default"
// means every permission the client is configured to need on the
// resource, the OIDC scopes included (they are configured by default), so
// a later token request may add offline_access as seed 002 does. For the
// client's own API that is everything it exposes, without setup; for
// another app on which the client is configured to need no scope it is
// refused (notListed), rather than granting a token for that audience with
// no scope in it.
//
// Scopes asked by name need no configured permission: the user is asked
// for them (Entra's dynamic consent), and the token carries them.
func authorizeGrant(client store.App, sr scopeRequest) (store.Grant, *Error) {
	g := store.Grant{Default: sr.isDefault}
	oidc := map[string]bool{}
	for s := range sr.oidc {
		oidc[s] = true
	}
	if sr.resource != nil {
		g.ResourceID, g.ResourceName = sr.resource.ClientID, sr.prefix
		g.Scopes = sr.values
		if sr.isDefault {
			g.Scopes = configuredScopes(client, *sr.resource)
			if len(g.Scopes) == 0 && sr.resource.ClientID != client.ClientID {
				return store.Grant{}, notListed(client, sr.prefix, kindDelegated)
			}
			for _, s := range OIDCScopes() {
				oidc[s] = true
			}
		}
	}
	g.OIDCScopes = orderOIDC(oidc)
	return g, nil
}

// redirectRegistered reports whether uri is a redirect URI of one of the
// app's platforms: Web and Single-page application ones exactly, Mobile
// and desktop ones exactly or, for http loopback, on any port, as native
// apps listen wherever is free (RFC 8252 §7.3).
func redirectRegistered(app store.App, uri string) bool {
	return redirecturi.Match(app.WebRedirectURIs(), uri, false) || redirecturi.Match(app.SPARedirectURIs, uri, false) ||
		redirecturi.Match(app.MobileRedirectURIs(), uri, true)
}

// publicRedirect reports whether a code sent to uri is the app's as a
// public client: redeemed without credentials, so bound by PKCE. Every
// redirect URI of a public app is; of a confidential app, the single-page
// and mobile ones are (a browser or a device holds no secret), the Web
// ones are not, even where a mobile loopback URI's any-port rule would
// cover one too (a Web http://localhost:8080 beside a mobile
// http://localhost): the exact registration wins.
func publicRedirect(app store.App, uri string) bool {
	if app.Public {
		return true
	}
	for _, web := range app.WebRedirectURIs() {
		if strings.TrimSuffix(web, "/") == strings.TrimSuffix(uri, "/") {
			return false
		}
	}
	return redirecturi.Match(app.SPARedirectURIs, uri, false) || redirecturi.Match(app.NativeRedirectURIs, uri, true)
}

// How a confidential app got a grant without its credentials
// (store.Grant.PublicVia).
const (
	publicSPA    = "spa"
	publicMobile = "mobile"
	publicDevice = "device"
)

// publicPlatform is the platform a public redirect URI of a confidential
// app is on.
func publicPlatform(app store.App, uri string) string {
	if redirecturi.Match(app.SPARedirectURIs, uri, false) {
		return publicSPA
	}
	return publicMobile
}

// stillPublic reports whether the app still has the platform or setting
// a grant it got without credentials came through.
func stillPublic(app store.App, via string) bool {
	switch via {
	case publicSPA:
		return len(app.SPARedirectURIs) > 0
	case publicMobile:
		return len(app.NativeRedirectURIs) > 0
	case publicDevice:
		return app.AllowPublicClientFlows
	}
	return false
}

func (p *Provider) parsePKCE(client store.App, params Params, ar *AuthorizeRequest) *Error {
	challenge, method := params.Get("code_challenge"), params.Get("code_challenge_method")
	if challenge == "" {
		if method != "" {
			return MissingParameter("code_challenge")
		}
		if publicRedirect(client, ar.RedirectURI) {
			return invalidRequest(CodeMalformedRequest, "Proof Key for Code Exchange is required for public clients (and single-page and mobile redirect URIs): send code_challenge and code_challenge_method=S256.")
		}
		return nil
	}
	if method == "" {
		method = PKCEPlain // RFC 7636 §4.3 default
	}
	switch method {
	case PKCES256:
		if len(challenge) != 43 || !isPKCEChars(challenge) {
			return invalidRequest(CodeMalformedRequest, "The code_challenge is not a base64url-encoded SHA-256 digest (43 characters).")
		}
	case PKCEPlain:
		if !client.AllowPlainPKCE {
			return invalidRequest(CodeMalformedRequest, "code_challenge_method 'plain' is not allowed for this client; use S256.")
		}
		if len(challenge) < 43 || len(challenge) > 128 || !isPKCEChars(challenge) {
			return invalidRequest(CodeMalformedRequest, "The code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~].")
		}
	default:
		return invalidRequest(CodeMalformedRequest, "The code_challenge_method '%s' is not supported; use S256.", truncate(method, 50))
	}
	ar.CodeChallenge, ar.CodeChallengeMethod = challenge, method
	return nil
}

// isPKCEChars reports whether s holds only RFC 7636 unreserved characters.
func isPKCEChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// missingConsent lists the permissions of ar the user (or an admin for
// everyone) has not granted the client yet.
func (p *Provider) missingConsent(ctx context.Context, ep Endpoint, ar *AuthorizeRequest, userID string) ([]store.Permission, error) {
	set, err := p.loadConsents(ctx, ep.Tenant.ID, ar.ClientID, userID)
	if err != nil {
		return nil, err
	}
	var missing []store.Permission
	for _, s := range ar.Grant.OIDCScopes {
		if !set.oidc[s] {
			missing = append(missing, store.Permission{Kind: store.KindScope, Value: s})
		}
	}
	for _, s := range ar.Grant.Scopes {
		if !set.hasScope(ar.Grant.ResourceID, s) {
			missing = append(missing, store.Permission{ResourceID: ar.Grant.ResourceID, Kind: store.KindScope, Value: s})
		}
	}
	return missing, nil
}

// issueCode issues the authorization code for a signed-in, consenting
// user and builds the response to the client.
func (p *Provider) issueCode(ctx context.Context, ep Endpoint, ar *AuthorizeRequest, user store.User, sess store.Session) (*AuthorizeResponse, *Error) {
	now := p.now()
	code := token.NewOpaque()
	err := p.store.CreateAuthCode(ctx, store.AuthCode{
		Hash:                token.Hash(code),
		TenantID:            ep.Tenant.ID,
		ClientID:            ar.ClientID,
		UserID:              user.ID,
		SessionID:           sess.ID,
		RedirectURI:         ar.RedirectURI,
		Grant:               ar.Grant,
		Nonce:               ar.Nonce,
		CodeChallenge:       ar.CodeChallenge,
		CodeChallengeMethod: ar.CodeChallengeMethod,
		AuthTime:            sess.AuthTime,
		AMR:                 sess.AMR,
		CreatedAt:           now,
		ExpiresAt:           now.Add(p.cfg.CodeLifetime),
	})
	if err != nil {
		return nil, ServerError(err)
	}
	v := responseParams(ep, ar.State)
	v.Set("code", code)
	v.Set("session_state", sess.ID)
	if ar.wantsIDToken() {
		idToken, e := p.hybridIDToken(ctx, ep, ar, user, sess, code)
		if e != nil {
			return nil, e
		}
		v.Set("id_token", idToken)
	}
	return &AuthorizeResponse{RedirectURI: ar.RedirectURI, Mode: ar.ResponseMode, Params: v}, nil
}

// hybridIDToken is the ID token of response_type "code id_token", bound to
// the code by c_hash (OpenID Connect Core §3.3.2.11).
func (p *Provider) hybridIDToken(ctx context.Context, ep Endpoint, ar *AuthorizeRequest, user store.User, sess store.Session, code string) (string, *Error) {
	client, err := p.store.GetApp(ctx, ep.Tenant.ID, ar.ClientID)
	if err != nil {
		return "", ServerError(err)
	}
	signer, err := p.keys.Signer(ctx, ep.Tenant.ID)
	if err != nil {
		return "", ServerError(err)
	}
	claims := p.idClaims(ep, client, user, ar.Grant, sess.AuthTime, sess.ID, ar.Nonce)
	claims.AMR, claims.ACR = sess.AMR, acrOf(sess.AMR)
	if claims.CodeHash, err = token.HalfHash(signer.Alg(), code); err != nil {
		return "", ServerError(err)
	}
	s, err := signer.Sign("JWT", claims)
	if err != nil {
		return "", ServerError(err)
	}
	return s, nil
}
