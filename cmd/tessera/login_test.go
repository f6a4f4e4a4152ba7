package main

import (
	"bufio"
	"encoding/json"
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
	cmd := exec.Command(tesseraBinary(t), append([]string{"login"}, args...)...)
	cmd.Env = env
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
