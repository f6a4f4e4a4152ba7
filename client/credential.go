package client

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Credential proves a confidential app's identity in token requests.
type Credential interface {
	// apply adds the credential's parameters to a token request made at
	// now (the app's clock).
	apply(ctx context.Context, form url.Values, req AssertionRequest, now time.Time) error
}

// AssertionRequest tells an assertion callback what to sign for.
type AssertionRequest struct {
	ClientID      string
	TokenEndpoint string
}

type secretCredential string

func (s secretCredential) apply(_ context.Context, form url.Values, _ AssertionRequest, _ time.Time) error {
	form.Set("client_secret", string(s))
	return nil
}

// SecretCredential authenticates with a client secret (client_secret_post,
// as MSAL sends it).
func SecretCredential(secret string) Credential { return secretCredential(secret) }

type assertionCredential func(context.Context, AssertionRequest) (string, error)

func (f assertionCredential) apply(ctx context.Context, form url.Values, req AssertionRequest, _ time.Time) error {
	a, err := f(ctx, req)
	if err != nil {
		return fmt.Errorf("client: client assertion callback: %w", err)
	}
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", a)
	return nil
}

// AssertionCredential authenticates with a client assertion the callback
// makes for each request (a workload identity token, an HSM signature).
func AssertionCredential(fn func(context.Context, AssertionRequest) (string, error)) Credential {
	return assertionCredential(fn)
}

type certificateCredential struct {
	signer jose.Signer
}

// CertificateCredential authenticates with a private_key_jwt assertion
// signed by key and naming cert by its SHA-256 thumbprint (x5t#S256): PS256
// for RSA keys, as MSAL signs, ES256 for P-256 keys, EdDSA for Ed25519.
func CertificateCredential(cert *x509.Certificate, key crypto.Signer) (Credential, error) {
	var alg jose.SignatureAlgorithm
	switch k := key.(type) {
	case *rsa.PrivateKey:
		alg = jose.PS256
	case *ecdsa.PrivateKey:
		if k.Curve.Params().BitSize != 256 {
			return nil, fmt.Errorf("client: only P-256 ECDSA keys are supported")
		}
		alg = jose.ES256
	case ed25519.PrivateKey:
		alg = jose.EdDSA
	default:
		return nil, fmt.Errorf("client: unsupported key type %T", key)
	}
	sum := sha256.Sum256(cert.Raw)
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t#S256", base64.RawURLEncoding.EncodeToString(sum[:]))
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return nil, fmt.Errorf("client: certificate credential: %w", err)
	}
	return &certificateCredential{signer: signer}, nil
}

// ParseCertificateKey reads a PEM certificate and its PEM private key
// (PKCS#8, PKCS#1 or SEC 1), e.g. from the files MSAL's samples use.
func ParseCertificateKey(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	var cert *x509.Certificate
	for rest := certPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("client: certificate: %w", err)
			}
			cert = c
			break
		}
	}
	if cert == nil {
		return nil, nil, fmt.Errorf("client: no CERTIFICATE block in the certificate file")
	}
	for rest := keyPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, nil, fmt.Errorf("client: no private key block in the key file")
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("client: private key: %w", err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, nil, fmt.Errorf("client: private key of type %T cannot sign", key)
		}
		return cert, signer, nil
	}
}

// apply signs an assertion valid from now (the app's clock, so that a
// test clock or a corrected clock is honoured) for ten minutes.
func (c *certificateCredential) apply(_ context.Context, form url.Values, req AssertionRequest, now time.Time) error {
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	claims, _ := json.Marshal(map[string]any{
		"iss": req.ClientID, "sub": req.ClientID, "aud": req.TokenEndpoint,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"jti": hex.EncodeToString(jti),
	})
	jws, err := c.signer.Sign(claims)
	if err != nil {
		return fmt.Errorf("client: sign client assertion: %w", err)
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		return fmt.Errorf("client: sign client assertion: %w", err)
	}
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", compact)
	return nil
}
