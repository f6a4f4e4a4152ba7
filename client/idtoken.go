package client

import (
	"context"
	"encoding/base64"
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
		return nil, idTokenError(fmt.Sprintf("signed with key %q, which the authority does not publish", kid), nil)
	}
	if err := j.fetch(ctx, au); err != nil {
		return nil, err
	}
	if k := j.find(kid); k != nil {
		return k, nil
	}
	return nil, idTokenError(fmt.Sprintf("signed with key %q, which the authority does not publish", kid), nil)
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
		return idTokenError("cannot be verified: the authority publishes no jwks_uri", nil)
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
	if err != nil {
		return IDTokenClaims{}, idTokenError("not a signed JWT", err)
	}
	if len(sig.Signatures) != 1 {
		return IDTokenClaims{}, idTokenError("not a JWT with one signature", nil)
	}
	key, err := a.jwks.key(ctx, au, sig.Signatures[0].Header.KeyID)
	if err != nil {
		return IDTokenClaims{}, err
	}
	payload, err := sig.Verify(key)
	if err != nil {
		return IDTokenClaims{}, idTokenError("the signature does not verify with the authority's key", err)
	}
	c, err := decodeClaims(payload)
	if err != nil {
		return IDTokenClaims{}, idTokenError("unreadable claims", err)
	}
	now := a.now()
	issuer := au.Issuer
	if strings.Contains(issuer, "{tenantid}") {
		// Entra's multi-tenant documents template the issuer.
		issuer = strings.ReplaceAll(issuer, "{tenantid}", c.TenantID)
	}
	switch {
	case c.Issuer != issuer:
		return IDTokenClaims{}, idTokenError(fmt.Sprintf("issuer %q is not the authority's %q", c.Issuer, issuer), nil)
	case !contains(c.Audience, a.clientID):
		return IDTokenClaims{}, idTokenError(fmt.Sprintf("audience %v does not include %s", []string(c.Audience), a.clientID), nil)
	case c.Expiry == 0 || now.After(time.Unix(c.Expiry, 0).Add(idTokenSkew)):
		return IDTokenClaims{}, idTokenError(fmt.Sprintf("expired at %s", time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339)), nil)
	case nonce != "" && c.Nonce != nonce:
		return IDTokenClaims{}, idTokenError("the nonce does not match the authorization request's", nil)
	}
	return c, nil
}

func decodeClaims(payload []byte) (IDTokenClaims, error) {
	var c IDTokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return IDTokenClaims{}, err
	}
	if err := json.Unmarshal(payload, &c.Raw); err != nil {
		return IDTokenClaims{}, err
	}
	return c, nil
}

// maxMemoClaims bounds the memo of cached ID tokens' claims; past it the
// memo starts over.
const maxMemoClaims = 4096

// cachedClaims returns the claims of an ID token read from the cache. It
// was verified when it was stored, so it is only decoded, once per token:
// silent acquisition hands the same claims out again and again. Results
// share them; callers must not modify Result.IDTokenClaims.
func (a *app) cachedClaims(raw string) (*IDTokenClaims, bool) {
	key := memoKey(raw)
	if v, ok := a.claimsMemo.Load(key); ok {
		if m := v.(*memoClaims); m.raw == raw {
			return m.claims, true
		}
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false
	}
	c, err := decodeClaims(payload)
	if err != nil {
		return nil, false
	}
	if a.claimsMemoN.Add(1) > maxMemoClaims {
		a.claimsMemo.Clear()
		a.claimsMemoN.Store(1)
	}
	a.claimsMemo.Store(key, &memoClaims{raw: raw, claims: &c})
	return &c, true
}

type memoClaims struct {
	raw    string
	claims *IDTokenClaims
}

// memoKey is the end of an ID token's signature, which tells tokens apart
// as well as the whole token does (a rare clash only costs a decode): the
// memo then hashes a few dozen bytes per lookup rather than a kilobyte.
// The cache hands out the same string every time, so the check against
// the whole token compares two pointers to the same bytes.
func memoKey(raw string) string {
	const n = 32
	if len(raw) <= n {
		return raw
	}
	return raw[len(raw)-n:]
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
