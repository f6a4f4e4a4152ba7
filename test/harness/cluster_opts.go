package harness

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Options describe a `tessera serve` process as a deployment runs it,
// rather than Start's development server: its own data directory and
// environment, and --dev only where asked.
type Options struct {
	// DataDir is the instance's data directory; required.
	DataDir string
	// Dev adds --dev: the instance bootstraps the demo tenant (if the store
	// has none) and prints the banner, which Ready reads into Demo.
	Dev bool
	// Env is added to the test process's environment (KEY=VALUE; a later
	// entry wins over an earlier one and over the inherited value).
	Env []string
	// Args follow "serve" (and "--dev" and "--data-dir DIR").
	Args []string
	// CAFile is the CA the served certificate chains to, which Tessera.HTTP
	// trusts; empty means DataDir/ca.pem, the development CA.
	CAFile string
}

// Starting is a launched process that has not been seen listening yet.
type Starting struct {
	s      *Tessera
	opts   Options
	stdout *syncBuffer
}

// Launch starts `tessera serve` with o and returns at once, so that
// several instances can start together (their migrations then race for
// real); Ready waits for one.
func Launch(t testing.TB, o Options) *Starting {
	t.Helper()
	if o.DataDir == "" {
		t.Fatal("harness.Launch: Options.DataDir is required")
	}
	s := &Tessera{DataDir: o.DataDir, Tenant: "demo", stderr: &syncBuffer{}, done: make(chan error, 1)}
	stdout := &syncBuffer{}
	args := []string{"serve"}
	if o.Dev {
		args = append(args, "--dev")
	}
	args = append(append(args, "--data-dir", o.DataDir), o.Args...)
	s.cmd = exec.Command(Binary(t), args...)
	s.cmd.Env = append(os.Environ(), o.Env...)
	s.cmd.Stdout, s.cmd.Stderr = stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		err := <-s.done
		s.done <- err
		if t.Failed() {
			t.Logf("tessera log (%s):\n%s", o.DataDir, tail(s.stderr.String(), 60))
		}
	})
	return &Starting{s: s, opts: o, stdout: stdout}
}

// StartWith is Launch followed by Ready.
func StartWith(t testing.TB, o Options) *Tessera {
	t.Helper()
	return Launch(t, o).Ready(t)
}

// Ready waits until the process listens (and, with Dev, has printed its
// banner) and returns it; it fails the test if the process exits first.
func (st *Starting) Ready(t testing.TB) *Tessera {
	t.Helper()
	s := st.s
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := listening.FindStringSubmatch(s.stderr.String()); m != nil && (!st.opts.Dev || bannerComplete(st.stdout.String())) {
			s.Port = m[1]
			s.Base = "https://localhost:" + m[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tessera (%s) did not start:\n%s\n%s", st.opts.DataDir, st.stdout.String(), s.stderr.String())
		}
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("tessera (%s) exited: %v\n%s", st.opts.DataDir, err, s.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if st.opts.Dev {
		out := st.stdout.String()
		ids := bannerValues(out, "Application (client) ID")
		if len(ids) != 2 {
			t.Fatalf("unexpected banner:\n%s", out)
		}
		s.Demo = Demo{
			TenantID: first(bannerValues(out, "Directory (tenant) ID")), WebClientID: ids[0], NativeClientID: ids[1],
			WebSecret: first(bannerValues(out, "Client secret")), Username: first(bannerValues(out, "Username")), Password: first(bannerValues(out, "Password")),
			PortalURL: first(bannerValues(out, "Portal URL")), AdminUsername: first(bannerValues(out, "Administrator")),
			AdminPassword: first(bannerValues(out, "Administrator password")),
		}
	}
	s.CAFile = st.opts.CAFile
	if s.CAFile == "" {
		s.CAFile = filepath.Join(s.DataDir, "ca.pem")
	}
	client, err := TrustingClient(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	s.HTTP = client
	return s
}

// Exited waits for a process that should refuse to start: it returns what
// the process wrote to stderr and its exit error once it exits, and fails
// the test if it listens instead or is still running after timeout.
func (st *Starting) Exited(t testing.TB, timeout time.Duration) (string, error) {
	t.Helper()
	s := st.s
	deadline := time.After(timeout)
	for {
		select {
		case err := <-s.done:
			s.done <- err
			return s.stderr.String(), err
		case <-deadline:
			t.Fatalf("tessera (%s) still runs after %s; want it to refuse to start:\n%s", st.opts.DataDir, timeout, s.stderr.String())
			return "", nil
		case <-time.After(20 * time.Millisecond):
			if listening.MatchString(s.stderr.String()) {
				t.Fatalf("tessera (%s) started; want it to refuse:\n%s", st.opts.DataDir, s.stderr.String())
			}
		}
	}
}

// TrustingClient is an HTTP client that trusts only the CA in caFile.
func TrustingClient(caFile string) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", caFile)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, nil
}
