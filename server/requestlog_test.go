package server_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-id/tessera/internal/testserver"
)

// lockedBuffer is a log destination the server's goroutines share.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// requestLines are the JSON log's request lines.
func requestLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("a log line is not JSON: %v\n%s", err, sc.Text())
		}
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	return lines
}

// Each request has one log line naming the tenant, the client (from the
// form, the query or HTTP Basic), the grant, the status, the duration,
// the trace id and, once a token was issued, its subject's object id; no
// secret sent in any way (form, query, Basic, bearer) reaches the log,
// nor does any code or token the server issued.
func TestRequestLogLine(t *testing.T) {
	var logs lockedBuffer
	e := newEnvWith(t, testserver.Options{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	secrets := []string{e.secret, e.daemonPW, e.password}

	// Authorization code (the code travels in a query), then refresh with
	// the secret in the form.
	code := webCode(e, "openid offline_access")
	secrets = append(secrets, code)
	status, tokens, _ := e.post(e.tokenURL(), redeemWeb(e, code))
	if status != http.StatusOK {
		t.Fatalf("code redemption: %d %v", status, tokens)
	}
	rt, at := tokens["refresh_token"].(string), tokens["access_token"].(string)
	status, refreshed, _ := e.post(e.tokenURL(), webRefresh(e, rt))
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, refreshed)
	}
	secrets = append(secrets, rt, at, tokens["id_token"].(string), refreshed["refresh_token"].(string), refreshed["access_token"].(string))

	// client_credentials with HTTP Basic.
	basic := http.Header{"Authorization": {"Basic " + basicAuth(e.daemon.ClientID, e.daemonPW)}}
	status, cc, _ := e.postRaw(e.tokenURL(), "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"client_credentials"}, "scope": {"api://files/.default"}}.Encode(), basic)
	if status != http.StatusOK {
		t.Fatalf("client_credentials: %d %v", status, cc)
	}
	secrets = append(secrets, cc["access_token"].(string))

	// A secret and an assertion in the query string (which the token
	// endpoint ignores), a wrong secret in the form, and a bearer token.
	status, _, _ = e.post(e.tokenURL()+"?client_id="+e.web.ClientID+"&client_secret="+url.QueryEscape(e.secret)+"&client_assertion=query-assertion-value",
		url.Values{"grant_type": {"client_credentials"}, "client_id": {e.web.ClientID}, "client_secret": {"wrong-secret-value"},
			"client_assertion": {"form-assertion-value"}, "password": {"form-password-value"}})
	if status == http.StatusOK {
		t.Fatal("a wrong secret was accepted")
	}
	secrets = append(secrets, "query-assertion-value", "form-assertion-value", "form-password-value", "wrong-secret-value")
	req, _ := http.NewRequest(http.MethodGet, e.authority()+"/oidc/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	log := logs.String()
	for _, s := range secrets {
		if s != "" && strings.Contains(log, s) {
			t.Errorf("the log holds a secret, code or token (%.8s…)", s)
		}
	}

	lines := requestLines(t, log)
	find := func(grant, client string) map[string]any {
		t.Helper()
		for _, l := range lines {
			if l["path"] == "/contoso/oauth2/v2.0/token" && l["grant_type"] == grant && l["client_id"] == client {
				return l
			}
		}
		t.Fatalf("no request line for grant %s by %s in:\n%s", grant, client, log)
		return nil
	}
	for _, c := range []struct {
		grant, client, oid string
		status             float64
	}{
		{"authorization_code", e.web.ClientID, e.user.ID, 200},
		{"refresh_token", e.web.ClientID, e.user.ID, 200},
		{"client_credentials", e.daemon.ClientID, e.daemon.ServicePrincipalID, 200},
		{"client_credentials", e.web.ClientID, "", 400}, // a secret and an assertion at once
	} {
		l := find(c.grant, c.client)
		if l["tenant"] != "contoso" || l["tenant_id"] != e.tenant.ID || l["status"] != c.status ||
			l["trace_id"] == nil || l["trace_id"] == "" || l["duration"] == nil || l["method"] != "POST" {
			t.Errorf("%s by %s: %v", c.grant, c.client, l)
		}
		if oid, _ := l["oid"].(string); oid != c.oid {
			t.Errorf("%s by %s: oid %q, want %q", c.grant, c.client, oid, c.oid)
		}
	}
	// The authorize request names its client in the query; userinfo's
	// names the user of the bearer token.
	var authorize, userinfo bool
	for _, l := range lines {
		authorize = authorize || (l["path"] == "/contoso/oauth2/v2.0/authorize" && l["client_id"] == e.web.ClientID)
		userinfo = userinfo || (l["path"] == "/contoso/oidc/userinfo" && l["oid"] == e.user.ID && l["status"] == float64(200))
	}
	if !authorize || !userinfo {
		t.Errorf("no authorize request line names the client (%v), or no userinfo line the user (%v):\n%s", authorize, userinfo, log)
	}
	// The sign-in is in the log too, as one line, without the password.
	if !strings.Contains(log, `"msg":"sign-in"`) || !strings.Contains(log, `"actor_id":"`+e.user.ID+`"`) {
		t.Errorf("no sign-in line in the log:\n%s", log)
	}
}

func basicAuth(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
}
