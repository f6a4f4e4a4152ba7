package admin

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1" // x5t is a SHA-1 thumbprint by definition (RFC 7515 §4.1.7); it only names a key
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/store"
)

// AddCredential registers a public key the app signs client assertions
// with: a PEM certificate (what MSAL's clientCertificate uses) or a public
// JWK. It returns the credential, whose ID is the certificate's x5t#S256
// or the JWK's RFC 7638 thumbprint.
func (a *Admin) AddCredential(ctx context.Context, app store.App, data []byte, description string) (store.AppCredential, error) {
	if err := a.mayChangeApp(app); err != nil {
		return store.AppCredential{}, err
	}
	if app.Public {
		return store.AppCredential{}, invalid("app %s is public: public clients cannot hold credentials", app.ClientID)
	}
	description = strings.TrimSpace(description)
	if len(description) > 120 {
		return store.AppCredential{}, invalid("description longer than 120 characters")
	}
	now := a.now()
	c := store.AppCredential{TenantID: app.TenantID, ClientID: app.ClientID, Description: description, CreatedAt: now}
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.Contains(trimmed, []byte("-----BEGIN CERTIFICATE-----")):
		cert, err := firstCertificate(trimmed)
		if err != nil {
			return store.AppCredential{}, err
		}
		if !now.Before(cert.NotAfter) {
			return store.AppCredential{}, invalid("the certificate expired on %s", cert.NotAfter.Format("2006-01-02"))
		}
		if err := acceptableKey(cert.PublicKey); err != nil {
			return store.AppCredential{}, err
		}
		s1 := sha1.Sum(cert.Raw)
		s256 := sha256.Sum256(cert.Raw)
		c.Kind, c.PublicKey, c.ExpiresAt = store.CredentialCertificate, cert.Raw, cert.NotAfter.UTC()
		c.SHA1Thumbprint, c.SHA256Thumbprint = s1[:], s256[:]
	case bytes.HasPrefix(trimmed, []byte("{")):
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(trimmed); err != nil {
			return store.AppCredential{}, invalid("the file is not a JWK: %v", err)
		}
		if !k.IsPublic() {
			return store.AppCredential{}, invalid("the JWK holds a private key; register only its public part")
		}
		if err := acceptableKey(k.Key); err != nil {
			return store.AppCredential{}, err
		}
		thumb, err := k.Thumbprint(crypto.SHA256)
		if err != nil {
			return store.AppCredential{}, invalid("the JWK has no thumbprint: %v", err)
		}
		pub, err := k.MarshalJSON()
		if err != nil {
			return store.AppCredential{}, fmt.Errorf("add credential: %w", err)
		}
		c.Kind, c.PublicKey, c.SHA256Thumbprint = store.CredentialJWK, pub, thumb
	default:
		return store.AppCredential{}, invalid("the file is neither a PEM certificate nor a JSON Web Key")
	}
	c.ID = base64.RawURLEncoding.EncodeToString(c.SHA256Thumbprint)
	e := a.entry(catApplication, secretsActivity, appTarget(app), []store.AuditChange{{
		Property: "keyCredentials", New: string(c.Kind) + " " + c.ID + descriptionText(c.Description)}})
	if err := a.audited(ctx, e, func(ctx context.Context) error { return a.store.AddAppCredential(ctx, c) }); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.AppCredential{}, invalid("this key is already registered for app %s", app.ClientID)
		}
		return store.AppCredential{}, fmt.Errorf("add credential: %w", err)
	}
	return c, nil
}

func firstCertificate(data []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, invalid("no certificate in the PEM file")
		}
		if block.Type == "CERTIFICATE" {
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, invalid("the certificate cannot be parsed: %v", err)
			}
			return cert, nil
		}
	}
}

// acceptableKey refuses keys too weak to authenticate a client.
func acceptableKey(key any) error {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return invalid("RSA keys must have at least 2048 bits (this one has %d)", k.N.BitLen())
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return invalid("unsupported key type %T: use RSA, ECDSA or Ed25519", key)
	}
	return nil
}

// Credentials lists an app's registered keys.
func (a *Admin) Credentials(ctx context.Context, app store.App) ([]store.AppCredential, error) {
	if err := a.may(PermApplicationReadWrite, PermDirectoryRead); err != nil {
		return nil, err
	}
	return a.store.ListAppCredentials(ctx, app.TenantID, app.ClientID)
}

// RemoveCredential deletes a registered key by id (its thumbprint).
func (a *Admin) RemoveCredential(ctx context.Context, app store.App, id string) error {
	if err := a.mayChangeApp(app); err != nil {
		return err
	}
	id = strings.TrimSpace(id)
	e := a.entry(catApplication, secretsActivity, appTarget(app), []store.AuditChange{{Property: "keyCredentials", Old: id}})
	err := a.audited(ctx, e, func(ctx context.Context) error {
		return a.store.RemoveAppCredential(ctx, app.TenantID, app.ClientID, id)
	})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("app %s has no credential %q", app.ClientID, id)
	}
	return err
}

func descriptionText(d string) string {
	if d == "" {
		return ""
	}
	return " (" + d + ")"
}
