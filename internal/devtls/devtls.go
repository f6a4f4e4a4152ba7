// Package devtls makes a local development CA and a server certificate signed
// by it, so that `tessera serve` can speak HTTPS out of the box and clients
// (MSAL, browsers) can be told to trust one stable CA file.
//
// This is for development only: the CA key sits next to the certificate in
// the same directory.
package devtls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names inside the directory given to Ensure.
const (
	CACertFile = "ca.pem"
	CAKeyFile  = "ca-key.pem"
	CertFile   = "tls-cert.pem"
	KeyFile    = "tls-key.pem"
)

const (
	caCommonName = "Tessera development CA"
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 365 * 24 * time.Hour
	// renewBefore is how close to expiry a certificate is replaced, so that
	// a server started today does not run into expiry next week.
	renewBefore = 30 * 24 * time.Hour
	// backdate absorbs clock skew between this machine and its clients.
	backdate = time.Hour
)

// Files are the paths of the development CA and server certificate.
type Files struct {
	CACert, CAKey, Cert, Key string
}

// DefaultHosts are used when Ensure is given none.
func DefaultHosts() []string { return []string{"localhost", "127.0.0.1", "::1"} }

// Ensure makes sure dir holds a development CA and a server certificate for
// hosts (DNS names or IP addresses) valid at now, creating what is missing.
//
// The CA is created once and kept (trust set up once stays valid) unless it
// is within 30 days of expiry. The leaf is re-issued when it is missing,
// unreadable, not from the CA, expires within 30 days, or does not cover
// every host. Files are replaced atomically; keys are mode 0600.
func Ensure(dir string, hosts []string, now time.Time) (Files, error) {
	files := Files{
		CACert: filepath.Join(dir, CACertFile),
		CAKey:  filepath.Join(dir, CAKeyFile),
		Cert:   filepath.Join(dir, CertFile),
		Key:    filepath.Join(dir, KeyFile),
	}
	if len(hosts) == 0 {
		hosts = DefaultHosts()
	}
	for _, h := range hosts {
		if h == "" || (strings.ContainsAny(h, ":/ ") && net.ParseIP(h) == nil) {
			return Files{}, fmt.Errorf("devtls: %q is neither a host name nor an IP address", h)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Files{}, fmt.Errorf("devtls: create %s: %w", dir, err)
	}

	ca, caKey, err := loadCA(files, now)
	if err == nil && ca == nil {
		ca, caKey, err = createCA(files, now)
	}
	if err != nil {
		return Files{}, err
	}

	if leafUsable(files, ca, hosts, now) {
		return files, nil
	}
	if err := createLeaf(files, ca, caKey, hosts, now); err != nil {
		return Files{}, err
	}
	return files, nil
}

// loadCA returns the existing CA, or a nil certificate and no error when a
// new one should be made: there is none yet, or the old one is (nearly)
// expired, which breaks its trust anyway. A CA certificate without its
// matching key is an error rather than a reason to replace it, since
// replacing would silently invalidate trust the developer set up.
func loadCA(files Files, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	certPEM, err := os.ReadFile(files.CACert)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: read CA: %w", err)
	}
	ca, err := parseCert(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: %s: %w", files.CACert, err)
	}
	if !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, nil, fmt.Errorf("devtls: %s is not a CA certificate", files.CACert)
	}
	if now.Add(renewBefore).After(ca.NotAfter) {
		return nil, nil, nil
	}
	keyPEM, err := os.ReadFile(files.CAKey)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: %s has no usable key (remove it to create a new CA): %w", files.CACert, err)
	}
	key, err := parseKey(keyPEM)
	if err == nil && !publicKeysEqual(key.Public(), ca.PublicKey) {
		err = errors.New("key does not match the certificate")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: %s (remove %s to create a new CA): %w", files.CAKey, files.CACert, err)
	}
	return ca, key, nil
}

func createCA(files Files, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: generate CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		// SerialNumber nil: x509 draws a random RFC 5280 serial.
		Subject: pkix.Name{
			CommonName:   caCommonName,
			Organization: []string{"Tessera development"},
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// The CA signs leaves only, never intermediates.
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: create CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: parse CA certificate: %w", err)
	}
	// Key first: if we stop in between, ca.pem is missing (or the old,
	// expired one), and the next call starts over instead of failing on a
	// certificate without its key.
	if err := writeKey(files.CAKey, key); err != nil {
		return nil, nil, err
	}
	if err := writeCert(files.CACert, der); err != nil {
		return nil, nil, err
	}
	return ca, key, nil
}

// leafUsable reports whether the existing leaf can be kept. Any problem
// reading it just means "issue a new one": the leaf is disposable.
func leafUsable(files Files, ca *x509.Certificate, hosts []string, now time.Time) bool {
	certPEM, err := os.ReadFile(files.Cert)
	if err != nil {
		return false
	}
	keyPEM, err := os.ReadFile(files.Key)
	if err != nil {
		return false
	}
	leaf, err := parseCert(certPEM)
	if err != nil {
		return false
	}
	key, err := parseKey(keyPEM)
	if err != nil || !publicKeysEqual(key.Public(), leaf.PublicKey) {
		return false
	}
	if now.Add(renewBefore).After(leaf.NotAfter) {
		return false
	}
	// Also catches a leaf from an earlier CA, and one not yet valid.
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return false
	}
	return covers(leaf, hosts)
}

// covers reports whether every host is named in the leaf. Names are compared
// exactly (case aside), not by wildcard matching, so the leaf lists
// precisely what was asked for.
func covers(leaf *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		found := false
		if ip := net.ParseIP(h); ip != nil {
			for _, have := range leaf.IPAddresses {
				found = found || have.Equal(ip)
			}
		} else {
			for _, have := range leaf.DNSNames {
				found = found || strings.EqualFold(have, h)
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func createLeaf(files Files, ca *x509.Certificate, caKey crypto.Signer, hosts []string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("devtls: generate server key: %w", err)
	}
	notAfter := now.Add(leafLifetime)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		Subject: pkix.Name{
			CommonName:   hosts[0],
			Organization: []string{"Tessera development"},
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return fmt.Errorf("devtls: create server certificate: %w", err)
	}
	// Key first: a crash in between leaves a key that does not match the old
	// certificate, which the next call detects and repairs.
	if err := writeKey(files.Key, key); err != nil {
		return err
	}
	return writeCert(files.Cert, der)
}

func parseCert(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no CERTIFICATE PEM block")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseKey(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("no PRIVATE KEY PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	return s, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

func writeCert(path string, der []byte) error {
	return writeAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("devtls: encode key: %w", err)
	}
	return writeAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// writeAtomic replaces path with data: readers see the old file or the new
// one, never a part. The temporary file is created 0600, so a key is never
// readable by others even for an instant.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("devtls: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly once renamed

	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("devtls: write %s: %w", path, err)
	}
	return nil
}
