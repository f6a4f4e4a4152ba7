package oauth

import (
	"context"
	"errors"

	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// ClientCredentials is what a token request presented to authenticate the
// client: the HTTP Basic pair (already form-decoded by the server, per RFC
// 6749 §2.3.1) and/or body parameters.
type ClientCredentials struct {
	BasicID, BasicSecret string
	HasBasic             bool
}

// Client authentication methods, as named in discovery.
const (
	AuthNone        = "none"
	AuthSecretBasic = "client_secret_basic"
	AuthSecretPost  = "client_secret_post"
)

// authenticatedClient is the client a token request proved to be.
type authenticatedClient struct {
	app    store.App
	method string
}

// authenticateClient identifies and authenticates the client of a token
// request. Public clients identify themselves by client_id alone and must
// not present a secret; confidential clients must prove one of their
// unexpired secrets. A caller (tenant, client id, address) that failed too
// often recently is refused before anything else is looked at; checking
// that costs no I/O, and failures are counted only when they happen.
// mayOmit lets a confidential app with single-page or mobile redirect URIs,
// or that allows public client flows, present no credentials (its method
// is then AuthNone): the caller decides whether what it asks for was, or
// may be, issued to it as a public client.
func (p *Provider) authenticateClient(ctx context.Context, ep Endpoint, req TokenRequest, mayOmit bool) (authenticatedClient, *Error) {
	clientID, client, e := p.identifyClient(ctx, ep, req, mayOmit)
	if e == nil || clientID == "" || !isClientAuthFailure(e) {
		return client, e
	}
	return authenticatedClient{}, p.clientAuthFailed(ctx, callerOf(ep, clientID, req), e)
}

// identifyClient is authenticateClient without the limit; it returns the
// client id the request named, if any, even when it fails.
func (p *Provider) identifyClient(ctx context.Context, ep Endpoint, req TokenRequest, mayOmit bool) (string, authenticatedClient, *Error) {
	params, creds := req.Params, req.Client
	clientID, secret := params.Get("client_id"), params.Get("client_secret")
	assertion, assertionType := params.Get("client_assertion"), params.Get("client_assertion_type")
	method := AuthNone
	switch {
	case creds.HasBasic:
		if secret != "" || assertion != "" {
			return clientID, authenticatedClient{}, invalidRequest(CodeMalformedRequest, "The client presented credentials in both the Authorization header and the body; use one method.")
		}
		if clientID != "" && clientID != creds.BasicID {
			return clientID, authenticatedClient{}, invalidRequest(CodeMalformedRequest, "The client_id in the body differs from the one in the Authorization header.")
		}
		clientID, secret, method = creds.BasicID, creds.BasicSecret, AuthSecretBasic
		if secret == "" {
			// An empty password identifies the client without
			// authenticating it: golang.org/x/oauth2's default auth
			// style sends "Basic base64(client_id:)" for public clients,
			// which have no secret. A confidential client still fails.
			method = AuthNone
		}
	case assertion != "" || assertionType != "":
		if secret != "" {
			return clientID, authenticatedClient{}, invalidRequest(CodeMalformedRequest, "The client presented both a client_secret and a client_assertion; use one method.")
		}
		if assertionType != ClientAssertionType {
			return clientID, authenticatedClient{}, invalidClient(CodeClientAuthRequired, "client_assertion_type must be '%s'.", ClientAssertionType)
		}
		if assertion == "" {
			return clientID, authenticatedClient{}, MissingParameter("client_assertion")
		}
		if clientID == "" {
			clientID = assertionSubject(assertion)
		}
		method = AuthPrivateKeyJWT
	case secret != "":
		method = AuthSecretPost
	}
	if clientID == "" {
		return clientID, authenticatedClient{}, MissingParameter("client_id")
	}
	if e := p.clientBlocked(ep, clientID, req); e != nil {
		// Not counted again: a blocked caller costs no store write.
		return "", authenticatedClient{}, e
	}
	app, err := p.store.GetApp(ctx, ep.Tenant.ID, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return clientID, authenticatedClient{}, invalidClient(CodeAppNotFound, "Application with identifier '%s' was not found in the tenant '%s'.", truncate(clientID, 64), ep.Tenant.Name)
	}
	if err != nil {
		return clientID, authenticatedClient{}, ServerError(err)
	}
	if app.Public {
		if method != AuthNone {
			return clientID, authenticatedClient{}, invalidClient(CodePublicClientSecret, "The client is public, so it must not present a client_secret or client_assertion.")
		}
		return clientID, authenticatedClient{app: app, method: AuthNone}, nil
	}
	switch method {
	case AuthNone:
		if mayOmit && (len(app.SPARedirectURIs) > 0 || len(app.NativeRedirectURIs) > 0 || app.AllowPublicClientFlows) {
			return clientID, authenticatedClient{app: app, method: AuthNone}, nil
		}
		return clientID, authenticatedClient{}, invalidClient(CodeClientAuthRequired, "The request body must contain 'client_secret' or 'client_assertion' (or an HTTP Basic Authorization header) for a confidential client.")
	case AuthPrivateKeyJWT:
		if e := p.verifyClientAssertion(ctx, ep, app, assertion); e != nil {
			return clientID, authenticatedClient{}, e
		}
	default:
		if e := p.verifySecret(ctx, app, secret); e != nil {
			return clientID, authenticatedClient{}, e
		}
	}
	return clientID, authenticatedClient{app: app, method: method}, nil
}

// verifySecret compares the secret's SHA-256 with every stored hash of the
// app in constant time. Secrets are 256-bit random values, so a fast hash
// is as strong as a slow one here and keeps the token endpoint cheap.
func (p *Provider) verifySecret(ctx context.Context, app store.App, secret string) *Error {
	secrets, err := p.store.ListClientSecrets(ctx, app.TenantID, app.ClientID)
	if err != nil {
		return ServerError(err)
	}
	sum := token.Hash(secret)
	var match *store.ClientSecret
	for i := range secrets {
		if token.Equal(sum, secrets[i].Hash) {
			match = &secrets[i]
		}
	}
	if match == nil {
		return invalidClient(CodeInvalidSecret, "Invalid client secret provided. Ensure the secret being sent is the value, not the secret id, of a secret added to app '%s'.", app.ClientID)
	}
	if !match.ExpiresAt.IsZero() && !p.now().Before(match.ExpiresAt) {
		return invalidClient(CodeSecretExpired, "The client secret '%s…' of app '%s' expired on %s. Add a new secret.", match.Hint, app.ClientID, match.ExpiresAt.Format("2006-01-02"))
	}
	return nil
}
