package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/internal/testbrowser"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

// These tests drive the real binary through what docs/operations.md tells
// an operator to do: probe readiness, stop gracefully, back up and
// restore, rotate the master key.

// demo is what a --dev server's banner gives a client.
type demo struct {
	srv       *serverProcess
	c         *http.Client
	webID     string
	secret    string
	password  string
	authorize string
}

func demoOf(t *testing.T, srv *serverProcess, dataDir string) demo {
	t.Helper()
	out := srv.stdout.String()
	ids, secrets, pws := banner(out, "Application (client) ID"), banner(out, "Client secret"), banner(out, "Password")
	if len(ids) != 2 || len(secrets) != 1 || len(pws) != 1 {
		t.Fatalf("banner lacks the demo credentials:\n%s", out)
	}
	d := demo{srv: srv, c: trustingClient(t, dataDir), webID: ids[0], secret: secrets[0], password: pws[0]}
	for _, line := range strings.Split(out, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, srv.base+"/demo/oauth2/v2.0/authorize?") {
			d.authorize = l
		}
	}
	return d
}

func (d demo) tokenURL() string { return d.srv.base + "/demo/oauth2/v2.0/token" }

// refreshToken signs the demo user in, in a new browser, and redeems the
// code for a refresh token.
func (d demo) refreshToken(t *testing.T) map[string]any {
	t.Helper()
	o := testbrowser.New(t, d.c).SignIn(d.authorize, "demo", d.password)
	status, tokens := postForm(t, d.c, d.tokenURL(), url.Values{"client_id": {d.webID}, "client_secret": {d.secret},
		"scope": {d.webID + "/.default openid offline_access"}, "code": {o.Params.Get("code")},
		"redirect_uri": {"http://localhost:8080"}, "grant_type": {"authorization_code"}}.Encode())
	if status != http.StatusOK || tokens["refresh_token"] == nil {
		t.Fatalf("code redemption: %d %v", status, tokens)
	}
	return tokens
}

// refresh redeems rt; it does not fail the test, for load goroutines.
func (d demo) refresh(rt string) (int, map[string]any, error) {
	resp, err := d.c.PostForm(d.tokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {d.webID},
		"client_secret": {d.secret}, "refresh_token": {rt}})
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, m, nil
}

func (d demo) clientCredentials(t *testing.T) map[string]any {
	t.Helper()
	status, cc := postForm(t, d.c, d.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {d.webID},
		"client_secret": {d.secret}, "scope": {d.webID + "/.default"}}.Encode())
	if status != http.StatusOK || cc["access_token"] == nil {
		t.Fatalf("client_credentials: %d %v", status, cc)
	}
	return cc
}

// readyz returns /readyz's status and answer.
func readyz(t *testing.T, c *http.Client, base string) (int, map[string]any) {
	t.Helper()
	resp, err := c.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("/readyz answered %d, not JSON: %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, m
}

// cliErr runs the binary as an admin command and returns its output and
// error, for commands expected to fail.
func cliErr(t *testing.T, dataDir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(tesseraBinary(t), append([]string{"--data-dir", dataDir}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func opsEnv(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	unsetEnv(t, "TESSERA_STORE")
	unsetEnv(t, "TESSERA_MASTER_KEY")
	unsetEnv(t, "TESSERA_DRAIN_DELAY")
	unsetEnv(t, "TESSERA_LOG_FORMAT")
}

// /readyz answers 200 while the server serves. On SIGTERM it answers 503
// for the drain delay while the server still serves, a request in flight
// (its body still arriving) completes after the listener closed, and the
// process exits 0, having logged each step. The container's healthcheck
// command agrees with /readyz.
func TestReadyzAndGracefulShutdown(t *testing.T) {
	opsEnv(t)
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	const delay = 2 * time.Second
	srv := startServer(t, dataDir, "--drain-delay", delay.String(), "--shutdown-timeout", "20s")
	d := demoOf(t, srv, dataDir)
	if status, m := readyz(t, d.c, srv.base); status != http.StatusOK || m["status"] != "ready" {
		t.Fatalf("/readyz: %d %v", status, m)
	}
	if out, err := cliErr(t, dataDir, "healthcheck", "--url", srv.base+"/readyz"); err != nil {
		t.Fatalf("healthcheck while ready: %v\n%s", err, out)
	}

	// A token request whose body is still on its way, on a connection of
	// its own: its headers and the first bytes of its body are written
	// (not left in a client's buffer) before the signal, so the server has
	// the request in hand when it starts to drain.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {d.webID}, "client_secret": {d.secret},
		"scope": {d.webID + "/.default"}}.Encode()
	tr := d.c.Transport.(*http.Transport)
	u, _ := url.Parse(d.tokenURL())
	conn, err := tls.Dial("tcp", u.Host, tr.TLSClientConfig.Clone())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST " + u.Path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Content-Length: " + strconv.Itoa(len(form)) + "\r\n\r\n" + form[:10]
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	slow := make(chan *http.Response, 1)
	slowErr := make(chan error, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			slowErr <- err
			return
		}
		slow <- resp
	}()
	// Time for the server to read the headers and start the handler,
	// which then waits for the rest of the body.
	time.Sleep(200 * time.Millisecond)

	sent := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Readiness fails at once, while the server still answers.
	var notReady map[string]any
	for time.Since(sent) < delay {
		status, m := readyz(t, d.c, srv.base)
		if status == http.StatusServiceUnavailable {
			notReady = m
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if notReady == nil || notReady["status"] != "not ready" || fmt.Sprint(notReady["failed"]) != "[shutting down]" {
		t.Fatalf("/readyz during the drain delay: %v", notReady)
	}
	if out, err := cliErr(t, dataDir, "healthcheck", "--url", srv.base+"/readyz"); err == nil {
		t.Errorf("healthcheck while shutting down succeeded: %s", out)
	}
	// Past the delay, the listener is closed; the request in flight ends.
	for !strings.Contains(srv.stderr.String(), "closing the listener") {
		if time.Since(sent) > delay+10*time.Second {
			t.Fatalf("the listener was not closed:\n%s", srv.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if elapsed := time.Since(sent); elapsed < delay {
		t.Errorf("the listener closed %s after SIGTERM, before the drain delay of %s", elapsed, delay)
	}
	if _, err := io.WriteString(conn, form[10:]); err != nil {
		t.Fatal(err)
	}
	select {
	case resp := <-slow:
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(raw, []byte("access_token")) {
			t.Errorf("the request in flight: %d %s", resp.StatusCode, raw)
		}
	case err := <-slowErr:
		t.Fatalf("the request in flight failed: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("the request in flight did not complete")
	}
	select {
	case err := <-srv.done:
		srv.done <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, srv.stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not exit")
	}
	log := srv.stderr.String()
	for _, step := range []string{"shutting down: /readyz now fails", "closing the listener", "requests drained; stopped"} {
		if !strings.Contains(log, step) {
			t.Errorf("no log line %q:\n%s", step, log)
		}
	}
}

// A backup taken while refresh tokens rotate under load is a whole, checked
// Tessera store that a server starts on. A backup taken once the load
// stopped holds every family's latest token: restored into the stopped
// data directory, each of those tokens refreshes. restore refuses while
// the server runs, and keeps the database it replaces.
func TestBackupRestoreUnderRefreshLoad(t *testing.T) {
	opsEnv(t)
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "tessera-data")
	srv := startServer(t, dataDir)
	d := demoOf(t, srv, dataDir)

	const clients = 4
	latest := make([]string, clients)
	for i := range latest {
		latest[i] = d.refreshToken(t)["refresh_token"].(string)
	}
	var (
		mu       sync.Mutex
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		rotated  int
		failures []string
	)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				rt := latest[i]
				mu.Unlock()
				status, m, err := d.refresh(rt)
				mu.Lock()
				if err != nil || status != http.StatusOK {
					failures = append(failures, fmt.Sprintf("client %d: %d %v %v", i, status, m, err))
					mu.Unlock()
					return
				}
				latest[i] = m["refresh_token"].(string)
				rotated++
				mu.Unlock()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	during := filepath.Join(dir, "during.db")
	if r := cli(t, dataDir, "backup", "--to", during); r["status"] != "ok" {
		t.Fatalf("backup during the load: %v", r)
	}
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("the load failed: %v", failures)
	}
	if rotated < clients*10 {
		t.Fatalf("only %d rotations in 3 s", rotated)
	}
	t.Logf("%d refresh rotations over %d families", rotated, clients)
	after := filepath.Join(dir, "after.db")
	cli(t, dataDir, "backup", "--to", after)
	if out, err := cliErr(t, dataDir, "backup", "--to", after); err == nil || !strings.Contains(out, "exists") {
		t.Errorf("a second backup over the first: %v %s", err, out)
	}

	// The backup made under load: whole, and a server starts on it.
	if err := sqlstore.CheckSQLiteFile(t.Context(), during); err != nil {
		t.Fatalf("the backup made under load: %v", err)
	}
	other := filepath.Join(dir, "other-data")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	copyTo(t, filepath.Join(dataDir, masterKeyFile), filepath.Join(other, masterKeyFile))
	if out, err := cliErr(t, other, "restore", "--from", during); err != nil {
		t.Fatalf("restore into an empty data directory: %v\n%s", err, out)
	}
	srv2 := startServer(t, other)
	if status, m := readyz(t, trustingClient(t, other), srv2.base); status != http.StatusOK {
		t.Fatalf("server on the backup made under load: /readyz %d %v", status, m)
	}
	if err := srv2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// restore refuses while the server runs, and without the master key
	// the backup was made under.
	if out, err := cliErr(t, dataDir, "restore", "--from", after); err == nil || !strings.Contains(out, "running") {
		t.Fatalf("restore while serving: %v %s", err, out)
	}
	if err := srv.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stranger := filepath.Join(dir, "stranger-data")
	if err := os.Mkdir(stranger, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stranger, masterKeyFile), []byte(newMasterKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := cliErr(t, stranger, "restore", "--from", after); err == nil || !strings.Contains(out, "master key") {
		t.Fatalf("restore under another master key: %v %s", err, out)
	}

	// Rotate on past the backup, then restore it: the tokens the backup
	// knows as latest refresh again.
	srv = startServer(t, dataDir)
	for i := range latest {
		if status, m, err := d.withServer(srv).refresh(latest[i]); err != nil || status != http.StatusOK {
			t.Fatalf("refresh before the restore: %d %v %v", status, m, err)
		}
	}
	if err := srv.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	out, err := cliErr(t, dataDir, "--output", "json", "restore", "--from", after)
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	var res map[string]string
	if err := json.Unmarshal([]byte(out), &res); err != nil || res["previous"] == "" {
		t.Fatalf("restore's answer: %v %s", err, out)
	}
	if _, err := os.Stat(res["previous"]); err != nil {
		t.Errorf("the replaced database was not kept: %v", err)
	}
	srv = startServer(t, dataDir)
	dd := d.withServer(srv)
	for i, rt := range latest {
		// Each was used once after the backup, outside the grace window
		// only if the test ran slowly; either way, in the restored store
		// it is unused.
		if status, m, err := dd.refresh(rt); err != nil || status != http.StatusOK {
			t.Errorf("client %d's latest refresh token after the restore: %d %v %v", i, status, m, err)
		}
	}
}

func (d demo) withServer(srv *serverProcess) demo {
	d.authorize = strings.Replace(d.authorize, d.srv.base, srv.base, 1)
	d.srv = srv
	return d
}

func copyTo(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// keyFile reads a master key file.
func keyFile(t *testing.T, path string) token.MasterKey {
	t.Helper()
	k, err := readKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Tokens signed before a master-key rotation verify after it (and after a
// restart), the running server goes on issuing tokens meanwhile (with the
// keys it had opened, and for a tenant it had not served yet) and a
// refresh token issued before still refreshes; every signing key opens
// under the new key and none under the old, which is kept as
// master.key.old; a second rotation will not overwrite that file.
func TestRotateMasterKey(t *testing.T) {
	opsEnv(t)
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	srv := startServer(t, dataDir)
	d := demoOf(t, srv, dataDir)
	before := d.clientCredentials(t)["access_token"].(string)
	rt := d.refreshToken(t)["refresh_token"].(string)
	oldKey := keyFile(t, filepath.Join(dataDir, masterKeyFile))
	// A tenant whose keys the running server has not opened yet.
	cli(t, dataDir, "tenant", "create", "fabrikam")
	other := cli(t, dataDir, "app", "register", "--tenant", "fabrikam", "--name", "daemon")["client_id"].(string)
	otherSecret := cli(t, dataDir, "app", "secret", "add", "--tenant", "fabrikam", "--app", other, "--description", "t")["secret"].(string)
	// A user's authenticator app, whose secret is sealed under the
	// master key too.
	func() {
		st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dataDir, databaseFile))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		tenant, err := st.GetTenant(t.Context(), "demo")
		if err != nil {
			t.Fatal(err)
		}
		user, err := st.GetUserByUsername(t.Context(), tenant.ID, "demo")
		if err != nil {
			t.Fatal(err)
		}
		f := store.Factor{ID: "totp-1", TenantID: tenant.ID, UserID: user.ID, Kind: store.FactorTOTP, Name: "Phone",
			Secret: token.NewFactorSealer(oldKey).Seal(tenant.ID, "totp-1", []byte("JBSWY3DPEHPK3PXP")), CreatedAt: time.Now()}
		if err := st.AddFactor(t.Context(), f, nil); err != nil {
			t.Fatal(err)
		}
	}()

	out, err := cliErr(t, dataDir, "keys", "rotate-master")
	if err != nil {
		t.Fatalf("rotate-master: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Resealed") {
		t.Errorf("rotate-master said: %s", out)
	}
	newKey := keyFile(t, filepath.Join(dataDir, masterKeyFile))
	if newKey == oldKey || keyFile(t, filepath.Join(dataDir, masterKeyFile+".old")) != oldKey {
		t.Fatal("master.key was not replaced, or master.key.old is not the old key")
	}
	// The running server read the resealed rows (its cache follows the
	// directory version) and still signs.
	time.Sleep(100 * time.Millisecond)
	d.clientCredentials(t)
	// And opens the keys it had not opened with the new key file.
	status, cc := postForm(t, d.c, srv.base+"/fabrikam/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {other}, "client_secret": {otherSecret}, "scope": {other + "/.default"}}.Encode())
	if status != http.StatusOK || cc["access_token"] == nil {
		t.Fatalf("a tenant first used after the rotation, on the running server: %d %v", status, cc)
	}
	if _, err := os.Stat(filepath.Join(dataDir, masterKeyFile+".new")); err == nil {
		t.Error("master.key.new was left behind")
	}

	if err := srv.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	srv = startServer(t, dataDir)
	d = d.withServer(srv)
	after := d.clientCredentials(t)["access_token"].(string)
	if status, m, err := d.refresh(rt); err != nil || status != http.StatusOK {
		t.Fatalf("a refresh token from before the rotation: %d %v %v", status, m, err)
	}
	resp, err := d.c.Get(srv.base + "/demo/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	var jwks jose.JSONWebKeySet
	err = json.NewDecoder(resp.Body).Decode(&jwks)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"before": before, "after": after} {
		jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
		if err != nil {
			t.Fatal(err)
		}
		keys := jwks.Key(jws.Signatures[0].Header.KeyID)
		if len(keys) != 1 {
			t.Fatalf("the token from %s the rotation names a key JWKS lacks", name)
		}
		if _, err := jws.Verify(keys[0].Key); err != nil {
			t.Errorf("the token from %s the rotation does not verify: %v", name, err)
		}
	}

	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dataDir, databaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := opensEverySigningKey(t.Context(), st, newKey); err != nil {
		t.Errorf("the new key: %v", err)
	}
	tenants, err := st.ListTenants(t.Context())
	if err != nil || len(tenants) == 0 {
		t.Fatal(tenants, err)
	}
	for _, ten := range tenants {
		keys, err := st.ListSigningKeys(t.Context(), ten.ID, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if oldKey.Opens(k) {
				t.Errorf("the old master key still opens signing key %s of %s", k.ID, ten.Name)
			}
		}
	}

	demoTenant, err := st.GetTenant(t.Context(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	demoUser, err := st.GetUserByUsername(t.Context(), demoTenant.ID, "demo")
	if err != nil {
		t.Fatal(err)
	}
	factors, err := st.ListFactors(t.Context(), demoTenant.ID, demoUser.ID)
	if err != nil || len(factors) != 1 {
		t.Fatalf("factors after the rotation: %v %v", factors, err)
	}
	if secret, err := token.NewFactorSealer(newKey).Open(demoTenant.ID, "totp-1", factors[0].Secret); err != nil || string(secret) != "JBSWY3DPEHPK3PXP" {
		t.Errorf("the authenticator app's secret under the new key: %q %v", secret, err)
	}
	if _, err := token.NewFactorSealer(oldKey).Open(demoTenant.ID, "totp-1", factors[0].Secret); err == nil {
		t.Error("the old master key still opens the authenticator app's secret")
	}

	if strings.Contains(srv.stderr.String(), "does not open under this master key") {
		t.Errorf("the restarted server found a key its master key does not open:\n%s", srv.stderr)
	}
	if out, err := cliErr(t, dataDir, "keys", "rotate-master"); err == nil || !strings.Contains(out, "master.key.old") {
		t.Errorf("a second rotation with master.key.old in place: %v %s", err, out)
	}

	// Started with the old key by mistake, the server says at once that
	// its signing keys do not open.
	if err := srv.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	copyTo(t, filepath.Join(dataDir, masterKeyFile+".old"), filepath.Join(dataDir, masterKeyFile))
	srv = startServer(t, dataDir)
	for start := time.Now(); !strings.Contains(srv.stderr.String(), "does not open under this master key"); {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("no error for signing keys the master key does not open:\n%s", srv.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
