package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/testbrowser"
)

// These tests run the real binary as a newcomer does: serve --dev on a
// fresh data directory, admin commands from another process while it
// runs, and restarts (including a crash) on the same data.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func tesseraBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tessera-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "tessera")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type serverProcess struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	base   string // https://localhost:PORT
	done   chan error
}

var listeningAddr = regexp.MustCompile(`(?:msg="tessera listening" addr=|"msg":"tessera listening","addr":")127\.0\.0\.1:(\d+)`)

func startServer(t *testing.T, dataDir string, args ...string) *serverProcess {
	t.Helper()
	return startBinary(t, tesseraBinary(t), dataDir, args...)
}

// startBinary is startServer with another build of tessera (an earlier
// release's, for the upgrade test).
func startBinary(t *testing.T, bin, dataDir string, args ...string) *serverProcess {
	t.Helper()
	p := &serverProcess{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"serve", "--dev", "--data-dir", dataDir, "--addr", "127.0.0.1:0"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	for time.Since(start) < 30*time.Second {
		if m := listeningAddr.FindStringSubmatch(p.stderr.String()); m != nil {
			p.base = "https://localhost:" + m[1]
			// The banner is written to standard output before the log
			// line, but the two pipes are copied apart: wait for it.
			for wait := time.Now(); time.Since(wait) < 5*time.Second && !strings.Contains(p.stdout.String(), "Application (client) ID"); {
				time.Sleep(10 * time.Millisecond)
			}
			return p
		}
		select {
		case err := <-p.done:
			t.Fatalf("server exited: %v\nstdout:\n%s\nstderr:\n%s", err, p.stdout, p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("server did not start:\n%s", p.stderr)
	return nil
}

func (p *serverProcess) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop")
		return nil
	}
}

// banner reads "Label:   value" lines of the start-up output, in order.
func banner(out, label string) []string {
	var values []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, label+":"); ok {
			values = append(values, strings.TrimSpace(v))
		}
	}
	return values
}

// trustingClient trusts only the data directory's development CA.
func trustingClient(t *testing.T, dataDir string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(dataDir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("ca.pem holds no certificate")
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func postForm(t *testing.T, c *http.Client, target, body string) (int, map[string]any) {
	t.Helper()
	resp, err := c.Post(target, "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, m
}

// cli runs an admin command as a separate process.
func cli(t *testing.T, dataDir string, args ...string) map[string]any {
	t.Helper()
	cmd := exec.Command(tesseraBinary(t), append([]string{"--data-dir", dataDir, "--output", "json"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tessera %v: %v", args, err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("tessera %v: %v\n%s", args, err, out)
	}
	return m
}

func TestNewcomerDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	srv := startServer(t, dataDir)
	out := srv.stdout.String()
	for _, f := range []string{"ca.pem", "tls-cert.pem", "tls-key.pem", "master.key", "tessera.db"} {
		if _, err := os.Stat(filepath.Join(dataDir, f)); err != nil {
			t.Errorf("data directory lacks %s: %v", f, err)
		}
	}
	clientIDs := banner(out, "Application (client) ID")
	secrets := banner(out, "Client secret")
	passwords := banner(out, "Password")
	if len(clientIDs) != 2 || len(secrets) != 1 || len(passwords) != 1 {
		t.Fatalf("banner lacks the demo credentials:\n%s", out)
	}
	webID, secret, pw := clientIDs[0], secrets[0], passwords[0]
	var authorizeURL string
	for _, line := range strings.Split(out, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, srv.base+"/demo/oauth2/v2.0/authorize?") {
			authorizeURL = l
		}
	}
	if authorizeURL == "" {
		t.Fatalf("banner lacks an authorize URL:\n%s", out)
	}
	c := trustingClient(t, dataDir)

	// The newcomer opens the printed URL, signs in, accepts, and runs the
	// printed curl body with the code pasted in.
	b := testbrowser.New(t, c)
	o := b.SignIn(authorizeURL, "demo", pw)
	code := o.Params.Get("code")
	if o.Callback.Host != "localhost:8080" || code == "" || o.Params.Get("state") != "12345" {
		t.Fatalf("callback: %v", o.Callback)
	}
	body := "client_id=" + webID + "&scope=" + webID + "%2f.default openid profile offline_access&code=" + code +
		"&redirect_uri=http%3A%2F%2Flocalhost%3a8080&grant_type=authorization_code&client_secret=" + secret
	status, tokens := postForm(t, c, srv.base+"/demo/oauth2/v2.0/token", body)
	if status != 200 || tokens["refresh_token"] == nil || tokens["id_token"] == nil {
		t.Fatalf("token: %d %v", status, tokens)
	}
	rt := tokens["refresh_token"].(string)

	// Then the printed refresh command, with the refresh token pasted in.
	refresh := refreshBody(out)
	if !strings.Contains(refresh, "PASTE_REFRESH_TOKEN") {
		t.Fatalf("banner lacks the refresh command:\n%s", out)
	}
	status, refreshed := postForm(t, c, srv.base+"/demo/oauth2/v2.0/token", strings.Replace(refresh, "PASTE_REFRESH_TOKEN", url.QueryEscape(rt), 1))
	if status != 200 || refreshed["access_token"] == nil || refreshed["refresh_token"] == nil {
		t.Fatalf("the banner's refresh command: %d %v", status, refreshed)
	}
	rt = refreshed["refresh_token"].(string)

	// Admin commands from another process while the server runs: the
	// server sees the new app and the new secret at once.
	app := cli(t, dataDir, "app", "register", "--tenant", "demo", "--name", "Script", "--redirect-uri", "http://localhost:9000")
	newID := app["client_id"].(string)
	newSecret := cli(t, dataDir, "app", "secret", "add", "--tenant", "demo", "--app", newID, "--description", "ci")["secret"].(string)
	status, cc := postForm(t, c, srv.base+"/demo/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {newID}, "client_secret": {newSecret}, "scope": {newID + "/.default"}}.Encode())
	if status != 200 || cc["access_token"] == nil {
		t.Fatalf("client credentials with a secret added while running: %d %v", status, cc)
	}
	o = b.SignIn(srv.base+"/demo/oauth2/v2.0/authorize?"+url.Values{"client_id": {newID}, "response_type": {"code"},
		"redirect_uri": {"http://localhost:9000"}, "scope": {"openid"}}.Encode(), "demo", pw)
	if o.Params.Get("code") == "" {
		t.Fatalf("new app's authorize: %v", o.Params)
	}

	// A crash loses nothing: every token handed out still refreshes.
	if err := srv.stop(t, syscall.SIGKILL); err == nil {
		t.Fatal("SIGKILL reported a clean exit")
	}
	srv = startServer(t, dataDir)
	out = srv.stdout.String()
	if strings.Contains(out, secret) || strings.Contains(out, pw) {
		t.Error("second start printed the first start's secrets")
	}
	if ids := banner(out, "Application (client) ID"); len(ids) != 2 || ids[0] != webID {
		t.Errorf("second start made new apps: %v", ids)
	}
	c = trustingClient(t, dataDir)
	status, r2 := postForm(t, c, srv.base+"/demo/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"},
		"client_id": {webID}, "client_secret": {secret}, "refresh_token": {rt}}.Encode())
	if status != 200 || r2["refresh_token"] == nil {
		t.Fatalf("refresh after a crash: %d %v", status, r2)
	}

	// A graceful stop exits cleanly.
	if err := srv.stop(t, syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v\n%s", err, srv.stderr)
	}

	// --new-demo-credentials issues a new secret and password.
	srv = startServer(t, dataDir, "--new-demo-credentials")
	out = srv.stdout.String()
	if s := banner(out, "Client secret"); len(s) != 1 || s[0] == secret || strings.HasPrefix(s[0], "<") {
		t.Errorf("--new-demo-credentials secret: %v", s)
	}
}
