package devtls

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func readAll(t *testing.T, f Files) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range []string{f.CACert, f.CAKey, f.Cert, f.Key} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

func loadLeaf(t *testing.T, f Files) (*x509.Certificate, *x509.CertPool) {
	t.Helper()
	b, err := os.ReadFile(f.Cert)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := parseCert(b)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(f.CACert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	return leaf, pool
}

func TestEnsureCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	f, err := Ensure(dir, []string{"localhost", "127.0.0.1", "tessera.test"}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := Files{
		CACert: filepath.Join(dir, "ca.pem"), CAKey: filepath.Join(dir, "ca-key.pem"),
		Cert: filepath.Join(dir, "tls-cert.pem"), Key: filepath.Join(dir, "tls-key.pem"),
	}
	if f != want {
		t.Fatalf("Files = %+v, want %+v", f, want)
	}
	for path, mode := range map[string]os.FileMode{f.CAKey: 0o600, f.Key: 0o600, f.CACert: 0o644, f.Cert: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %o, want %o", filepath.Base(path), fi.Mode().Perm(), mode)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 4 {
		t.Errorf("%d files in dir, want 4 (temporary files left over?)", len(entries))
	}

	leaf, pool := loadLeaf(t, f)
	caBlock, _ := os.ReadFile(f.CACert)
	ca, _ := parseCert(caBlock)
	if ca.Subject.CommonName != "Tessera development CA" || !ca.IsCA {
		t.Errorf("CA subject %q, IsCA %v", ca.Subject.CommonName, ca.IsCA)
	}
	if got := ca.NotAfter.Sub(now); got < 9*365*24*time.Hour {
		t.Errorf("CA valid for %v, want about 10 years", got)
	}
	if got := leaf.NotAfter.Sub(now); got < 360*24*time.Hour || got > 366*24*time.Hour {
		t.Errorf("leaf valid for %v, want about a year", got)
	}

	for _, host := range []string{"localhost", "127.0.0.1", "tessera.test"} {
		t.Run(host, func(t *testing.T) {
			_, err := leaf.Verify(x509.VerifyOptions{
				DNSName:     host,
				Roots:       pool,
				CurrentTime: now,
				KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: pool, CurrentTime: now}); err == nil {
		t.Error("leaf verifies for a host it was not issued for")
	}
}

func TestEnsureReuseAndReissue(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	hosts := []string{"localhost", "127.0.0.1"}

	f, err := Ensure(dir, hosts, now)
	if err != nil {
		t.Fatal(err)
	}
	first := readAll(t, f)

	tests := []struct {
		name      string
		hosts     []string
		now       time.Time
		wantLeaf  bool // leaf re-issued
		wantHosts []string
	}{
		{"same hosts", hosts, now, false, nil},
		{"subset, order and case", []string{"LOCALHOST"}, now.Add(time.Hour), false, nil},
		{"later, far from expiry", hosts, now.Add(300 * 24 * time.Hour), false, nil},
		{"extra host", []string{"localhost", "127.0.0.1", "::1", "dev.test"}, now, true, []string{"::1", "dev.test"}},
		{"leaf within 30 days of expiry", hosts, now.Add(340 * 24 * time.Hour), true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each case starts from the first generation.
			for name, b := range first {
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			f, err := Ensure(dir, tt.hosts, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, f)
			if !bytes.Equal(got["ca.pem"], first["ca.pem"]) || !bytes.Equal(got["ca-key.pem"], first["ca-key.pem"]) {
				t.Fatal("CA changed")
			}
			reissued := !bytes.Equal(got["tls-cert.pem"], first["tls-cert.pem"])
			if reissued != tt.wantLeaf {
				t.Fatalf("leaf re-issued = %v, want %v", reissued, tt.wantLeaf)
			}
			if bytes.Equal(got["tls-key.pem"], first["tls-key.pem"]) == reissued {
				t.Errorf("leaf key changed = %v, leaf changed = %v", !reissued, reissued)
			}
			leaf, pool := loadLeaf(t, f)
			for _, h := range append(tt.hosts, tt.wantHosts...) {
				if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: pool, CurrentTime: tt.now}); err != nil {
					t.Errorf("%s: %v", h, err)
				}
			}
		})
	}
}

func TestEnsureRepairs(t *testing.T) {
	now := time.Now()
	hosts := []string{"localhost"}

	t.Run("damaged leaf", func(t *testing.T) {
		dir := t.TempDir()
		f, err := Ensure(dir, hosts, now)
		if err != nil {
			t.Fatal(err)
		}
		caBefore, _ := os.ReadFile(f.CACert)
		// A key from another generation: as if a crash hit between the writes.
		other := t.TempDir()
		of, err := Ensure(other, hosts, now)
		if err != nil {
			t.Fatal(err)
		}
		key, _ := os.ReadFile(of.Key)
		if err := os.WriteFile(f.Key, key, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Ensure(dir, hosts, now); err != nil {
			t.Fatal(err)
		}
		if _, err := tls.LoadX509KeyPair(f.Cert, f.Key); err != nil {
			t.Fatalf("pair not repaired: %v", err)
		}
		if caAfter, _ := os.ReadFile(f.CACert); !bytes.Equal(caBefore, caAfter) {
			t.Fatal("CA replaced to repair a leaf")
		}
	})

	t.Run("CA without its key is an error, not a replacement", func(t *testing.T) {
		dir := t.TempDir()
		f, err := Ensure(dir, hosts, now)
		if err != nil {
			t.Fatal(err)
		}
		caBefore, _ := os.ReadFile(f.CACert)
		if err := os.Remove(f.CAKey); err != nil {
			t.Fatal(err)
		}
		if _, err := Ensure(dir, hosts, now); err == nil {
			t.Fatal("Ensure succeeded without the CA key")
		}
		if caAfter, _ := os.ReadFile(f.CACert); !bytes.Equal(caBefore, caAfter) {
			t.Fatal("trusted CA was replaced")
		}
	})

	t.Run("expiring CA is replaced", func(t *testing.T) {
		dir := t.TempDir()
		f, err := Ensure(dir, hosts, now)
		if err != nil {
			t.Fatal(err)
		}
		caBefore, _ := os.ReadFile(f.CACert)
		later := now.Add(10*365*24*time.Hour - 10*24*time.Hour)
		if _, err := Ensure(dir, hosts, later); err != nil {
			t.Fatal(err)
		}
		if caAfter, _ := os.ReadFile(f.CACert); bytes.Equal(caBefore, caAfter) {
			t.Fatal("CA within 30 days of expiry was kept")
		}
		leaf, pool := loadLeaf(t, f)
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: pool, CurrentTime: later}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("bad host", func(t *testing.T) {
		if _, err := Ensure(t.TempDir(), []string{"localhost:8443"}, now); err == nil {
			t.Fatal("host with a port accepted")
		}
	})

	t.Run("default hosts", func(t *testing.T) {
		f, err := Ensure(t.TempDir(), nil, now)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := loadLeaf(t, f)
		if !covers(leaf, DefaultHosts()) {
			t.Fatalf("leaf names %v %v", leaf.DNSNames, leaf.IPAddresses)
		}
	})
}

// TestTLSHandshake serves HTTPS with the leaf and connects with a client that
// trusts only ca.pem, for a DNS name and an IP address.
func TestTLSHandshake(t *testing.T) {
	f, err := Ensure(t.TempDir(), []string{"localhost", "127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatal(err)
	}
	_, pool := loadLeaf(t, f)

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello over TLS")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	// The untrusting client below makes the server log a handshake error.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			// localhost may resolve to ::1 while the server listens on IPv4
			// only, so dial the listener and name the host in TLS only.
			tr := &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: host},
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
				},
			}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Get("https://" + net.JoinHostPort(host, port) + "/")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != "hello over TLS" {
				t.Fatalf("body %q", body)
			}
		})
	}

	// The default trust store does not know the development CA.
	if resp, err := http.Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Fatal("handshake succeeded without trusting ca.pem")
	}
}
