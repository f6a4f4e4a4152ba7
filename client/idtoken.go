package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// IDTokenClaims are the verified claims of an ID token.
type IDTokenClaims struct {
	Issuer            string         `json:"iss"`
	Subject           string         `json:"sub"`
	Audience          audience       `json:"aud"`
	Expiry            int64          `json:"exp"`
	IssuedAt          int64          `json:"iat"`
	AuthTime          int64          `json:"auth_time"`
	Nonce             string         `json:"nonce"`
	ObjectID          string         `json:"oid"`
	TenantID          string         `json:"tid"`
	PreferredUsername string         `json:"preferred_username"`
	Name              string         `json:"name"`
	Email             string         `json:"email"`
	Raw               map[string]any `json:"-"`
}

// audience reads aud as a string or an array.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("aud is neither a string nor an array")
	}
	*a = many
	return nil
}

const idTokenSkew = 5 * time.Minute

// jwksCache holds the authority's signing keys, refetched when a token
// names a key it does not know (at most once a minute), so key rotation
// needs no restart and a flood of bad tokens cannot hammer the server.
type jwksCache struct {
	app       *app
	mu        sync.Mutex
	keys      jose.JSONWebKeySet
	fetchedAt time.Time
}

func (j *jwksCache) key(ctx context.Context, au *authority, kid string) (*jose.JSONWebKey, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if k := j.find(kid); k != nil {
		return k, nil
	}
	if !j.fetchedAt.IsZero() && j.app.now().Sub(j.fetchedAt) < time.Minute {
		return nil, fmt.Errorf("client: ID token signed with unknown key %q", kid)
	}
	if err := j.fetch(ctx, au); err != nil {
		return nil, err
	}
	if k := j.find(kid); k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("client: ID token signed with unknown key %q", kid)
}

func (j *jwksCache) find(kid string) *jose.JSONWebKey {
	for i := range j.keys.Keys {
		k := &j.keys.Keys[i]
		if (kid == "" || k.KeyID == kid) && (k.Use == "" || k.Use == "sig") {
			return k
		}
	}
	return nil
}

func (j *jwksCache) fetch(ctx context.Context, au *authority) error {
	if au.JWKSURI == "" {
		return fmt.Errorf("client: the authority publishes no jwks_uri")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, au.JWKSURI, nil)
	if err != nil {
		return fmt.Errorf("client: jwks: %w", err)
	}
	resp, err := j.app.opts.httpClient.Do(req)
	if err != nil {
		return networkError(fmt.Errorf("jwks: %w", err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return networkError(fmt.Errorf("jwks %s: status %d: %v", au.JWKSURI, resp.StatusCode, err))
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return networkError(fmt.Errorf("jwks %s: %w", au.JWKSURI, err))
	}
	j.keys, j.fetchedAt = set, j.app.now()
	return nil
}

// verifyIDToken checks an ID token the way OpenID Connect Core §3.1.3.7
// asks: signature by the authority's published key, issuer, audience,
// expiry, and the nonce when one was sent.
func (a *app) verifyIDToken(ctx context.Context, au *authority, raw, nonce string) (IDTokenClaims, error) {
	sig, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.ES256, jose.ES384, jose.EdDSA})
	if err != nil || len(sig.Signatures) != 1 {
		return IDTokenClaims{}, fmt.Errorf("client: ID token is not a signed JWT: %v", err)
	}
	key, err := a.jwks.key(ctx, au, sig.Signatures[0].Header.KeyID)
	if err != nil {
		return IDTokenClaims{}, err
	}
	payload, err := sig.Verify(key)
	if err != nil {
		return IDTokenClaims{}, fmt.Errorf("client: ID token signature does not verify: %w", err)
	}
	var c IDTokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return IDTokenClaims{}, fmt.Errorf("client: ID token claims: %w", err)
	}
	_ = json.Unmarshal(payload, &c.Raw)
	now := a.now()
	issuer := au.Issuer
	if strings.Contains(issuer, "{tenantid}") {
		// Entra's multi-tenant documents template the issuer.
		issuer = strings.ReplaceAll(issuer, "{tenantid}", c.TenantID)
	}
	switch {
	case c.Issuer != issuer:
		return IDTokenClaims{}, fmt.Errorf("client: ID token issuer %q is not the authority's %q", c.Issuer, issuer)
	case !contains(c.Audience, a.clientID):
		return IDTokenClaims{}, fmt.Errorf("client: ID token audience %v does not include %s", []string(c.Audience), a.clientID)
	case c.Expiry == 0 || now.After(time.Unix(c.Expiry, 0).Add(idTokenSkew)):
		return IDTokenClaims{}, fmt.Errorf("client: ID token has expired")
	case nonce != "" && c.Nonce != nonce:
		return IDTokenClaims{}, fmt.Errorf("client: ID token nonce does not match the request's")
	}
	return c, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
