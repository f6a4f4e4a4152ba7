package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/internal/tracing"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// TokenResponse is the successful token endpoint answer (RFC 6749 §5.1),
// with the Entra ID fields MSAL reads.
type TokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in,omitempty"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
	// IssuedTokenType is set by token exchange (RFC 8693 §2.2.1).
	IssuedTokenType string `json:"issued_token_type,omitempty"`
	// ObjectID is the access token's oid (the user, or the app's service
	// principal), for the request log; it is not part of the response.
	ObjectID string `json:"-"`
}

// accessClaims are RFC 9068 claims plus the Entra ID ones (tid, oid, scp,
// roles, azp) that resource servers written for Entra read.
type accessClaims struct {
	Issuer          string   `json:"iss"`
	Subject         string   `json:"sub"`
	Audience        string   `json:"aud"`
	Expiry          int64    `json:"exp"`
	IssuedAt        int64    `json:"iat"`
	NotBefore       int64    `json:"nbf"`
	ID              string   `json:"jti"`
	ClientID        string   `json:"client_id"`
	AuthorizedParty string   `json:"azp"`
	TenantID        string   `json:"tid"`
	ObjectID        string   `json:"oid"`
	Scope           string   `json:"scope,omitempty"`
	Scp             string   `json:"scp,omitempty"`
	Roles           []string `json:"roles,omitempty"`
	Groups          []string `json:"groups,omitempty"`
	// ClaimNames and ClaimSources are the groups overage claim.
	ClaimNames        map[string]string      `json:"_claim_names,omitempty"`
	ClaimSources      map[string]claimSource `json:"_claim_sources,omitempty"`
	AuthTime          int64                  `json:"auth_time,omitempty"`
	AMR               []string               `json:"amr,omitempty"`
	ACR               string                 `json:"acr,omitempty"`
	SessionID         string                 `json:"sid,omitempty"`
	FamilyID          string                 `json:"fam,omitempty"` // opaque to resource servers: see tokengrant.go
	PreferredUsername string                 `json:"preferred_username,omitempty"`
	IdentityType      string                 `json:"idtyp,omitempty"`
	Version           string                 `json:"ver"`
}

// IDClaims are the ID token's claims (OpenID Connect Core §2).
type IDClaims struct {
	Issuer            string   `json:"iss"`
	Subject           string   `json:"sub"`
	Audience          string   `json:"aud"`
	Expiry            int64    `json:"exp"`
	IssuedAt          int64    `json:"iat"`
	NotBefore         int64    `json:"nbf"`
	AuthTime          int64    `json:"auth_time,omitempty"`
	AMR               []string `json:"amr,omitempty"`
	ACR               string   `json:"acr,omitempty"`
	Nonce             string   `json:"nonce,omitempty"`
	ObjectID          string   `json:"oid"`
	TenantID          string   `json:"tid"`
	SessionID         string   `json:"sid,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Name              string   `json:"name,omitempty"`
	Email             string   `json:"email,omitempty"`
	AccessTokenHash   string   `json:"at_hash,omitempty"`
	CodeHash          string   `json:"c_hash,omitempty"`
	// Roles are the client's app roles the user holds; Groups, or the
	// overage claim instead, the user's groups when the client asks.
	Roles        []string               `json:"roles,omitempty"`
	Groups       []string               `json:"groups,omitempty"`
	ClaimNames   map[string]string      `json:"_claim_names,omitempty"`
	ClaimSources map[string]claimSource `json:"_claim_sources,omitempty"`
	Version      string                 `json:"ver"`
}

// issuance is everything a token response is made of.
type issuance struct {
	ep           Endpoint
	client       store.App
	user         *store.User // nil for tokens the app gets as itself
	resource     *store.App  // nil: the client is the audience
	grant        store.Grant
	roles        []string
	authTime     time.Time
	amr          []string // how the user signed in; acr follows from it
	sessionID    string
	familyID     string // the refresh family the token stands on, if any
	nonce        string
	refreshToken string
	clientInfo   bool
	// accessID and issuedAt, when set, fix the access token's jti and
	// iat; a code redemption records them before minting.
	accessID string
	issuedAt time.Time
	act      map[string]any // RFC 8693 actor, for exchanged tokens
}

// mint signs the access token and, when openid is granted to a user, the
// ID token, with one key lookup; the refresh token was already persisted.
func (p *Provider) mint(ctx context.Context, is issuance) (*TokenResponse, *Error) {
	signer, err := p.keys.Signer(ctx, is.ep.Tenant.ID)
	if err != nil {
		return nil, ServerError(err)
	}
	now := is.issuedAt
	if now.IsZero() {
		now = p.now()
	}
	jti := is.accessID
	if jti == "" {
		jti = ids.New()
	}
	lifetime := p.accessLifetime(is.client)
	at := verifiedAccess{accessClaims: accessClaims{
		Issuer:          is.ep.Issuer,
		Audience:        is.client.ClientID,
		Expiry:          now.Add(lifetime).Unix(),
		IssuedAt:        now.Unix(),
		NotBefore:       now.Unix(),
		ID:              jti,
		ClientID:        is.client.ClientID,
		AuthorizedParty: is.client.ClientID,
		TenantID:        is.ep.Tenant.ID,
		Roles:           is.roles,
		Version:         "2.0",
	}, Act: is.act}
	audience := is.client
	if is.resource != nil {
		at.Audience = is.resource.ClientID
		audience = *is.resource
	}
	var held tokenAccess
	wantsID := is.user != nil && slices.Contains(is.grant.OIDCScopes, ScopeOpenID)
	if is.user != nil {
		// A user token's roles are the user's, never the app's own.
		if held, err = p.userAccess(ctx, is.ep, *is.user, audience, is.client, wantsID); err != nil {
			return nil, ServerError(err)
		}
		at.Roles, at.Groups = held.access.roles, held.access.groups
		at.ClaimNames, at.ClaimSources = held.access.claimNames, held.access.claimSrcs
	}
	scp := strings.Join(is.grant.Scopes, " ")
	if is.resource == nil {
		// A token for the client itself (only OIDC scopes asked) carries
		// the sign-in scopes, as Entra's do for its userinfo audience.
		var oidc []string
		for _, s := range is.grant.OIDCScopes {
			if s != ScopeOfflineAccess {
				oidc = append(oidc, s)
			}
		}
		scp = strings.Join(oidc, " ")
	}
	at.Scope, at.Scp = scp, scp
	if is.user != nil {
		at.Subject, at.ObjectID = is.user.ID, is.user.ID
		at.AuthTime = unixOrZero(is.authTime)
		at.AMR, at.ACR = is.amr, acrOf(is.amr)
		at.SessionID = is.sessionID
		at.FamilyID = is.familyID
		at.PreferredUsername = is.user.Username
	} else {
		at.Subject, at.ObjectID = is.client.ServicePrincipalID, is.client.ServicePrincipalID
		at.IdentityType = "app"
	}
	endSign := signSpan(ctx, signer)
	access, err := signer.Sign("at+jwt", at)
	endSign()
	if err != nil {
		return nil, ServerError(err)
	}
	resp := &TokenResponse{
		TokenType:    "Bearer",
		Scope:        scopeString(resourceName(is.grant, is.resource), is.grant),
		ExpiresIn:    int64(lifetime / time.Second),
		ExtExpiresIn: int64(lifetime / time.Second),
		AccessToken:  access,
		RefreshToken: is.refreshToken,
		ObjectID:     at.ObjectID,
	}
	if wantsID {
		atHash, err := token.HalfHash(signer.Alg(), access)
		if err != nil {
			return nil, ServerError(err)
		}
		claims := p.idClaims(is.ep, is.client, *is.user, is.grant, is.authTime, is.sessionID, is.nonce)
		claims.AccessTokenHash = atHash
		claims.Roles, claims.Groups = held.id.roles, held.id.groups
		claims.ClaimNames, claims.ClaimSources = held.id.claimNames, held.id.claimSrcs
		claims.AMR, claims.ACR = is.amr, acrOf(is.amr)
		endSign = signSpan(ctx, signer)
		resp.IDToken, err = signer.Sign("JWT", claims)
		endSign()
		if err != nil {
			return nil, ServerError(err)
		}
	}
	if is.user != nil && is.clientInfo {
		resp.ClientInfo = clientInfo(is.user.ID, is.ep.Tenant.ID)
	}
	return resp, nil
}

// idClaims builds an ID token's claims. sub is the user's object id on
// every grant, so MSAL's cache (keyed on it) finds the same account after
// a refresh.
func (p *Provider) idClaims(ep Endpoint, client store.App, user store.User, g store.Grant, authTime time.Time, sessionID, nonce string) IDClaims {
	now := p.now()
	c := IDClaims{
		Issuer:    ep.Issuer,
		Subject:   user.ID,
		Audience:  client.ClientID,
		Expiry:    now.Add(p.cfg.IDTokenLifetime).Unix(),
		IssuedAt:  now.Unix(),
		NotBefore: now.Unix(),
		AuthTime:  unixOrZero(authTime),
		Nonce:     nonce,
		ObjectID:  user.ID,
		TenantID:  ep.Tenant.ID,
		SessionID: sessionID,
		Version:   "2.0",
	}
	if slices.Contains(g.OIDCScopes, ScopeProfile) {
		c.PreferredUsername, c.Name = user.Username, user.Name
	}
	if slices.Contains(g.OIDCScopes, ScopeEmail) {
		c.Email = user.Email
	}
	return c
}

// clientInfo is MSAL's client_info: base64url of {"uid","utid"}, from which
// it builds the home account id "uid.utid".
func clientInfo(userID, tenantID string) string {
	b, _ := json.Marshal(struct {
		UID  string `json:"uid"`
		UTID string `json:"utid"`
	}{userID, tenantID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// signSpan times one signature in the request's trace.
func signSpan(ctx context.Context, signer *token.Signer) func() {
	_, end := tracing.StartAttr(ctx, "sign", "jwt.alg", signer.Alg())
	return end
}
