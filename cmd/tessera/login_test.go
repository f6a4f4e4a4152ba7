package main

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/testbrowser"
)

// clientEnv isolates the client commands' profile and cache under home.
func clientEnv(t *testing.T, dataDir string) (env []string, home string) {
	home = t.TempDir()
	return append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"HOME="+home, "TESSERA_CA_FILE="+filepath.Join(dataDir, "ca.pem"), "PATH=/usr/bin:/bin"), home
}

var (
	urlLine  = regexp.MustCompile(`(?m)^(https://\S+/oauth2/v2\.0/authorize\?\S+)$`)
	pageLine = regexp.MustCompile(`open the page (\S+) and enter the code (\S+) to authenticate`)
)

// runLogin starts `tessera login`, hands each stderr line to drive until it
// returns true, and waits for the command to finish.
func runLogin(t *testing.T, env []string, args []string, drive func(line string) bool) string {
	t.Helper()
	return runLoginIn(t, "", env, args, drive)
}

// runLoginIn is runLogin in the working directory dir.
func runLoginIn(t *testing.T, dir string, env []string, args []string, drive func(line string) bool) string {
	t.Helper()
	cmd := exec.Command(tesseraBinary(t), append([]string{"login"}, args...)...)
	cmd.Env, cmd.Dir = env, dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	sc := bufio.NewScanner(stderr)
	driven := false
	for sc.Scan() {
		line := sc.Text()
		all.WriteString(line + "\n")
		if !driven {
			driven = drive(line)
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("tessera login: %v\n%s", err, all.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("tessera login did not finish:\n%s", all.String())
	}
	return all.String()
}

func tokenCommand(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tesseraBinary(t), append([]string{"token"}, args...)...)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("tessera token %v: %v\n%s", args, err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// TestLoginThenToken is the client half of the newcomer's path: `tessera
// login` (browser or device code) against `tessera serve --dev`, then
// `tessera token` from the cache, refreshed silently.
func TestLoginThenToken(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	srv := startServer(t, dataDir)
	out := srv.stdout.String()
	ids := banner(out, "Application (client) ID")
	pw := banner(out, "Password")[0]
	webID, nativeID := ids[0], ids[1]
	scope := "api://" + webID + "/access_as_user"
	web := trustingClient(t, dataDir)

	for _, mode := range []string{"interactive", "device"} {
		t.Run(mode, func(t *testing.T) {
			env, home := clientEnv(t, dataDir)
			args := []string{"--authority", srv.base + "/demo", "--client-id", nativeID, "--scopes", scope}
			b := testbrowser.New(t, web)
			var drive func(string) bool
			if mode == "device" {
				args = append(args, "--device")
				drive = func(line string) bool {
					m := pageLine.FindStringSubmatch(line)
					if m == nil {
						return false
					}
					o := b.Submit(b.Get(m[1]), map[string]string{"user_code": m[2]})
					o = b.Login(o, "demo", pw)
					if o = b.Consent(o, "accept"); !strings.Contains(o.Body, "signed in") {
						t.Errorf("device approval page:\n%s", o.Body)
					}
					return true
				}
			} else {
				drive = func(line string) bool {
					m := urlLine.FindStringSubmatch(line)
					if m == nil {
						return false
					}
					o := b.SignIn(m[1], "demo", pw)
					// Deliver the redirect to the CLI's loopback listener.
					resp, err := http.Get(o.Callback.String())
					if err != nil {
						t.Errorf("deliver the redirect: %v", err)
						return true
					}
					resp.Body.Close()
					return true
				}
			}
			stderr := runLogin(t, env, args, drive)
			if !strings.Contains(stderr, "Signed in as demo") {
				t.Fatalf("login output:\n%s", stderr)
			}
			if mode == "device" && !strings.Contains(stderr, "█") {
				t.Error("device login printed no QR code")
			}
			// `tessera token` needs no flags after login.
			tok := tokenCommand(t, env, "--scopes", scope)
			if strings.Count(tok, ".") != 2 {
				t.Fatalf("tessera token printed %q", tok)
			}
			var res map[string]any
			if err := json.Unmarshal([]byte(tokenCommand(t, env, "--scopes", scope, "--json")), &res); err != nil || res["access_token"] != tok || res["from_cache"] != true {
				t.Fatalf("tessera token --json: %v %v", res, err)
			}
			// The cache file is encrypted by default.
			cacheFile := filepath.Join(home, "cache", "tessera", "token_cache.bin")
			raw, err := os.ReadFile(cacheFile)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(raw), tok) || strings.HasPrefix(string(raw), "{") {
				t.Error("the default cache file holds tokens in clear")
			}
			accounts := exec.Command(tesseraBinary(t), "accounts", "--output", "json")
			accounts.Env = env
			if b, err := accounts.Output(); err != nil || !strings.Contains(string(b), `"username": "demo"`) {
				t.Errorf("tessera accounts: %v %s", err, b)
			}
			logout := exec.Command(tesseraBinary(t), "logout", "--all")
			logout.Env = env
			if b, err := logout.CombinedOutput(); err != nil || !strings.Contains(string(b), "Signed out demo") {
				t.Errorf("tessera logout: %v %s", err, b)
			}
			after := exec.Command(tesseraBinary(t), "token", "--scopes", scope)
			after.Env = env
			if err := after.Run(); err == nil {
				t.Error("tessera token worked after logout")
			}
		})
	}
}

// TestTokenClientCredentials: the seed's advice, a secret in .env, and a
// certificate, both through `tessera token client-credentials`.
func TestTokenClientCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	srv := startServer(t, dataDir)
	out := srv.stdout.String()
	webID, secret := banner(out, "Application (client) ID")[0], banner(out, "Client secret")[0]
	env, _ := clientEnv(t, dataDir)
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, ".env"), []byte("# never commit this file\nclientSecret="+secret+"\noverridden=not-the-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runEnv := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(tesseraBinary(t), append([]string{"token", "client-credentials", "--authority", srv.base + "/demo",
			"--client-id", webID, "--scopes", webID + "/.default"}, args...)...)
		cmd.Env, cmd.Dir = env, work
		b, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(b)), err
	}
	run := func(args ...string) (string, error) { return runEnv(env, args...) }
	tok, err := run("--client-secret-env", "clientSecret")
	if err != nil || strings.Count(tok, ".") != 2 {
		t.Fatalf("client credentials with .env: %v %s", err, tok)
	}
	if _, err := run("--client-secret-env", "missingVariable"); err == nil {
		t.Error("a missing secret variable was not an error")
	}
	// A variable set in the environment wins over the .env file, as
	// with the dotenv package.
	tok, err = runEnv(append(env[:len(env):len(env)], "overridden="+secret), "--client-secret-env", "overridden", "--cache", filepath.Join(work, "env-cache.bin"))
	if err != nil || strings.Count(tok, ".") != 2 {
		t.Fatalf("the environment did not win over .env: %v %s", err, tok)
	}

	// A certificate registered through the admin CLI.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "ci"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	certFile, keyFile := filepath.Join(work, "cert.pem"), filepath.Join(work, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	cli(t, dataDir, "app", "certificate", "add", "--tenant", "demo", "--app", webID, "--file", certFile)
	tok, err = run("--certificate", certFile, "--key", keyFile, "--cache", filepath.Join(work, "other-cache.bin"))
	if err != nil || strings.Count(tok, ".") != 2 {
		t.Fatalf("client credentials with a certificate: %v %s", err, tok)
	}
}
