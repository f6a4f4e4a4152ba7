package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/store"
)

var (
	// ErrNoActiveKey means the tenant has no active signing key: it was
	// created without one, or the key source is inconsistent.
	ErrNoActiveKey = errors.New("token: no active signing key")
	// ErrInvalidToken wraps every reason a presented JWT is rejected (bad
	// syntax, unknown kid, algorithm mismatch, bad signature), so callers can
	// answer invalid_grant or invalid_token and keep 500s for real failures.
	ErrInvalidToken = errors.New("token: invalid token")
)

// KeySource lists a tenant's published signing keys: next, active, and
// retired ones whose ExpiresAt is after now. store.Store satisfies it.
type KeySource interface {
	ListSigningKeys(ctx context.Context, tenantID string, now time.Time) ([]store.SigningKey, error)
}

// Keyring signs and verifies tokens with tenants' keys.
//
// Keys are listed from the source on every call, so a rotation made by any
// instance takes effect at once; that query is cheap. What is expensive
// (unsealing, PKCS#8 and JWK parsing, encoding headers) is cached per
// (tenant, kid): a kid names one immutable key, so the cache cannot go stale.
// Each entry still remembers the public key bytes it was built from and is
// rebuilt if they differ (not the sealed private key's: a master-key
// rotation reseals a key without changing it), which costs a byte comparison and guards against a
// restored or hand-edited database reusing a kid. Entries are never evicted:
// they number the keys ever seen, a few per tenant per rotation.
//
// A Keyring is safe for concurrent use.
type Keyring struct {
	src    KeySource
	sealer *sealer
	now    func() time.Time

	// algs are the algorithms a token may be signed with, built once
	// rather than on every verification; never changed.
	algs []jose.SignatureAlgorithm

	signers sync.Map // cacheKey -> *Signer
	publics sync.Map // cacheKey -> *publicKey

	// slots admits one signature per core at a time. A signature is pure
	// CPU; more in flight than cores only time-slices them, so each takes
	// longer and tail latency grows. Queued in order, each finishes at
	// full speed.
	slots chan struct{}

	// reload, when set (ReloadMasterKey), reads the master key again for
	// a key the keyring's own does not open; reloaded is the sealer of
	// the last key it read, and reloadedAt when, so that a key nothing
	// opens costs one read a second, not one per request.
	reload     func() (MasterKey, error)
	reloadMu   sync.Mutex
	reloaded   *sealer
	reloadedAt time.Time
}

type cacheKey struct{ tenantID, kid string }

type publicKey struct {
	row []byte // the PublicJWK it was parsed from
	alg string
	key crypto.PublicKey
}

// NewKeyring returns a Keyring reading keys from src, unsealing them with mk.
// now is the clock used to list keys; nil means time.Now.
func NewKeyring(src KeySource, mk MasterKey, now func() time.Time) *Keyring {
	s, err := newKeySealer(mk)
	if err != nil {
		// AES-256-GCM with a 32-byte key cannot fail to initialise.
		panic(err)
	}
	if now == nil {
		now = time.Now
	}
	return &Keyring{src: src, sealer: s, now: now, algs: joseSigningAlgs(), slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// ReloadMasterKey lets the keyring read the master key again, with load,
// when a signing key does not open under the one it was made with: after
// tessera keys rotate-master resealed the keys under a new key file, a
// running server opens the keys it had not opened yet (another tenant's,
// a rotation's next key) with the new key instead of failing. What it
// opened before keeps signing either way. Call it before the keyring is
// used.
func (k *Keyring) ReloadMasterKey(load func() (MasterKey, error)) { k.reload = load }

// openWithReloaded opens key with the master key as reload reads it now.
func (k *Keyring) openWithReloaded(tenantID string, key *store.SigningKey) ([]byte, error) {
	if k.reload == nil {
		return nil, errors.New("token: no other master key to try")
	}
	k.reloadMu.Lock()
	if k.reloaded == nil || time.Since(k.reloadedAt) > time.Second {
		k.reloadedAt = time.Now()
		mk, err := k.reload()
		if err != nil {
			k.reloadMu.Unlock()
			return nil, fmt.Errorf("token: read the master key again: %w", err)
		}
		s, err := newKeySealer(mk)
		if err != nil {
			k.reloadMu.Unlock()
			return nil, err
		}
		k.reloaded = s
	}
	s := k.reloaded
	k.reloadMu.Unlock()
	return s.open(tenantID, key.ID, key.PrivateKey)
}

// Signer returns the signer of the tenant's active key.
func (k *Keyring) Signer(ctx context.Context, tenantID string) (*Signer, error) {
	keys, err := k.list(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var active *store.SigningKey
	for i := range keys {
		// There is one active key per tenant; should the source ever show
		// two (a torn read during rotation), the newest is the one rotation
		// meant, and choosing it deterministically keeps instances in step.
		if keys[i].Status == store.KeyActive && (active == nil || keys[i].CreatedAt.After(active.CreatedAt)) {
			active = &keys[i]
		}
	}
	if active == nil {
		return nil, fmt.Errorf("%w for tenant %s", ErrNoActiveKey, tenantID)
	}
	return k.signer(tenantID, active)
}

// JWKS returns the tenant's JSON Web Key Set: the public keys of every listed
// key, so tokens verify from before a key signs until after it retires.
func (k *Keyring) JWKS(ctx context.Context, tenantID string) ([]byte, error) {
	keys, err := k.list(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	set := struct {
		Keys []json.RawMessage `json:"keys"`
	}{Keys: make([]json.RawMessage, 0, len(keys))}
	for i := range keys {
		// Parsing (cached) makes sure nothing malformed is ever published.
		if _, err := k.public(tenantID, &keys[i]); err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, keys[i].PublicJWK)
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("token: encode JWKS of tenant %s: %w", tenantID, err)
	}
	return b, nil
}

// Verify checks a compact JWS signed by one of the tenant's listed keys and
// returns its payload. The header's kid picks the key and its alg must be the
// key's. Claims (exp, aud, iss...) are the caller's to check. Rejections wrap
// ErrInvalidToken; other errors are failures to read or use the keys.
func (k *Keyring) Verify(ctx context.Context, tenantID, compact string) ([]byte, error) {
	return k.verify(ctx, tenantID, compact, nil)
}

// VerifyType is Verify that also requires the typ header to be typ ("at+jwt",
// "JWT"...), compared as RFC 7515 asks: case-insensitively, with or without
// "application/". The header is not in the payload, so callers that must not
// take one kind of token for another (an ID token offered as an on-behalf-of
// assertion) cannot check it themselves.
func (k *Keyring) VerifyType(ctx context.Context, tenantID, compact, typ string) ([]byte, error) {
	return k.verify(ctx, tenantID, compact, &typ)
}

func (k *Keyring) verify(ctx context.Context, tenantID, compact string, wantTyp *string) ([]byte, error) {
	// Parse before listing keys, so garbage costs no key lookup. Only the
	// algorithms tenants sign with are accepted: never "none" or HMAC, so a
	// token cannot pick a weaker check.
	jws, err := jose.ParseSignedCompact(compact, k.algs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: %d signatures", ErrInvalidToken, len(jws.Signatures))
	}
	h := jws.Signatures[0].Protected
	if h.KeyID == "" {
		return nil, fmt.Errorf("%w: no kid", ErrInvalidToken)
	}
	if wantTyp != nil {
		got, _ := h.ExtraHeaders[jose.HeaderType].(string)
		if !sameMediaType(got, *wantTyp) {
			return nil, fmt.Errorf("%w: typ %q, want %q", ErrInvalidToken, got, *wantTyp)
		}
	}

	keys, err := k.list(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var key *store.SigningKey
	for i := range keys {
		if keys[i].ID == h.KeyID {
			key = &keys[i]
			break
		}
	}
	if key == nil {
		return nil, fmt.Errorf("%w: unknown kid %q", ErrInvalidToken, h.KeyID)
	}
	if h.Algorithm != key.Alg {
		return nil, fmt.Errorf("%w: alg %q does not match key %s (%s)", ErrInvalidToken, h.Algorithm, key.ID, key.Alg)
	}
	pub, err := k.public(tenantID, key)
	if err != nil {
		return nil, err
	}
	payload, err := jws.Verify(pub.key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return payload, nil
}

// sameMediaType compares typ values per RFC 7515 section 4.1.9.
func sameMediaType(a, b string) bool {
	const prefix = "application/"
	trim := func(s string) string {
		if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
			return s[len(prefix):]
		}
		return s
	}
	return strings.EqualFold(trim(a), trim(b))
}

// list returns the tenant's usable keys. Retired keys past ExpiresAt are
// dropped here too, so that verification never depends on how promptly a
// source (or a cache in front of it) forgets them.
func (k *Keyring) list(ctx context.Context, tenantID string) ([]store.SigningKey, error) {
	now := k.now()
	keys, err := k.src.ListSigningKeys(ctx, tenantID, now)
	if err != nil {
		return nil, fmt.Errorf("token: list signing keys of tenant %s: %w", tenantID, err)
	}
	usable := func(key *store.SigningKey) bool {
		switch key.Status {
		case store.KeyNext, store.KeyActive:
			return true
		case store.KeyRetired:
			return key.ExpiresAt.After(now)
		}
		return false
	}
	all := true
	for i := range keys {
		if keys[i].TenantID != tenantID {
			return nil, fmt.Errorf("token: key source returned key %s of tenant %q for tenant %q", keys[i].ID, keys[i].TenantID, tenantID)
		}
		all = all && usable(&keys[i])
	}
	if all {
		// The usual case, on every token: nothing to drop, nothing to copy.
		return keys, nil
	}
	out := keys[:0:0]
	for i := range keys {
		if usable(&keys[i]) {
			out = append(out, keys[i])
		}
	}
	return out, nil
}

// public returns the parsed public key of a row, from cache when possible.
func (k *Keyring) public(tenantID string, key *store.SigningKey) (*publicKey, error) {
	ck := cacheKey{tenantID, key.ID}
	if v, ok := k.publics.Load(ck); ok {
		p := v.(*publicKey)
		if p.alg == key.Alg && bytes.Equal(p.row, key.PublicJWK) {
			return p, nil
		}
	}

	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(key.PublicJWK); err != nil {
		return nil, fmt.Errorf("token: public key %s of tenant %s: %w", key.ID, tenantID, err)
	}
	switch {
	case !jwk.Valid() || !jwk.IsPublic():
		return nil, fmt.Errorf("token: public key %s of tenant %s: not a valid public key", key.ID, tenantID)
	case jwk.KeyID != key.ID:
		return nil, fmt.Errorf("token: public key %s of tenant %s: JWK has kid %q", key.ID, tenantID, jwk.KeyID)
	case jwk.Algorithm != "" && jwk.Algorithm != key.Alg:
		return nil, fmt.Errorf("token: public key %s of tenant %s: JWK alg %q, row alg %q", key.ID, tenantID, jwk.Algorithm, key.Alg)
	case !algMatchesKey(key.Alg, jwk.Key):
		return nil, fmt.Errorf("token: public key %s of tenant %s: %T cannot verify %s", key.ID, tenantID, jwk.Key, key.Alg)
	}
	p := &publicKey{row: bytes.Clone(key.PublicJWK), alg: key.Alg, key: jwk.Key}
	k.publics.Store(ck, p)
	return p, nil
}

// signer returns the signer of a row, from cache when possible.
func (k *Keyring) signer(tenantID string, key *store.SigningKey) (*Signer, error) {
	ck := cacheKey{tenantID, key.ID}
	if v, ok := k.signers.Load(ck); ok {
		s := v.(*Signer)
		// Compared by the public key, not the sealed bytes: a master-key
		// rotation reseals every key (new bytes, same key), and a running
		// server must go on signing with what it opened under the old
		// master key. A signer is built only for a private key matching
		// its published public key, so the same public key means the same
		// key pair.
		if s.alg == key.Alg && bytes.Equal(s.row, key.PublicJWK) {
			return s, nil
		}
	}

	// Concurrent first calls may each build a signer; the duplicates are
	// equivalent and the work is bounded by the number of goroutines, once.
	der, err := k.sealer.open(tenantID, key.ID, key.PrivateKey)
	if err != nil {
		var rerr error
		if der, rerr = k.openWithReloaded(tenantID, key); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
	}
	defer clear(der)
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("token: private key %s of tenant %s: %w", key.ID, tenantID, err)
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok || !algMatchesKey(key.Alg, priv) {
		return nil, fmt.Errorf("token: private key %s of tenant %s: %T cannot sign %s", key.ID, tenantID, parsed, key.Alg)
	}
	// A signature that the published key cannot verify would fail at every
	// relying party; better to refuse to sign at all.
	pub, err := k.public(tenantID, key)
	if err != nil {
		return nil, err
	}
	if eq, ok := priv.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(pub.key) {
		return nil, fmt.Errorf("token: private key %s of tenant %s does not match its published public key", key.ID, tenantID)
	}

	s := &Signer{kid: key.ID, alg: key.Alg, key: priv, row: bytes.Clone(key.PublicJWK), slots: k.slots}
	k.signers.Store(ck, s)
	return s, nil
}

// Signer signs JWTs with one key. It is safe for concurrent use.
type Signer struct {
	kid string
	alg string
	key crypto.Signer
	row []byte // the PublicJWK of the row it was built from

	// headers holds the encoded protected header per typ value. typ values
	// come from code (at+jwt, JWT...), never from requests, so the map
	// stays tiny.
	headers sync.Map // string -> string

	slots chan struct{} // the keyring's, shared by all its signers
}

// Alg returns the JWS algorithm, e.g. "RS256".
func (s *Signer) Alg() string { return s.alg }

// KeyID returns the kid written in every header.
func (s *Signer) KeyID() string { return s.kid }

// Sign returns the compact JWS of claims marshalled as JSON, with alg, kid
// and typ (omitted when empty) in the protected header.
func (s *Signer) Sign(typ string, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("token: encode claims: %w", err)
	}
	header, err := s.header(typ)
	if err != nil {
		return "", err
	}
	s.slots <- struct{}{}
	out, err := compactJWS(s.key, s.alg, header, payload)
	<-s.slots
	if err != nil {
		return "", fmt.Errorf("token: sign with %s: %w", s.kid, err)
	}
	return out, nil
}

func (s *Signer) header(typ string) (string, error) {
	if v, ok := s.headers.Load(typ); ok {
		return v.(string), nil
	}
	h, err := jwsHeader(s.alg, s.kid, typ)
	if err != nil {
		return "", err
	}
	v, _ := s.headers.LoadOrStore(typ, h)
	return v.(string), nil
}
