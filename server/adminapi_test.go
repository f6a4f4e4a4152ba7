package server_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/server/api"
	"github.com/tessera-id/tessera/store"
)

// openAPI validates admin API responses against the API's own OpenAPI
// document: each response's body against the schema its operation and
// status declare, and a status the operation does not declare is a
// failure.
type openAPI struct {
	t        testing.TB
	doc      map[string]any
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	schemas  map[string]*jsonschema.Schema
	paths    []openAPIPath
}

type openAPIPath struct {
	template string
	re       *regexp.Regexp
}

func newOpenAPI(t testing.TB) *openAPI {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(api.OpenAPI()))
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	m := doc.(map[string]any)
	if m["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json is OpenAPI %v, want 3.1.0", m["openapi"])
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("openapi.json", doc); err != nil {
		t.Fatal(err)
	}
	o := &openAPI{t: t, doc: m, compiler: c, schemas: map[string]*jsonschema.Schema{}}
	for p := range m["paths"].(map[string]any) {
		pattern := regexp.QuoteMeta(p)
		pattern = regexp.MustCompile(`\\\{[a-z]+\\\}`).ReplaceAllString(pattern, `[^/]+`)
		o.paths = append(o.paths, openAPIPath{template: p, re: regexp.MustCompile("^" + pattern + "$")})
	}
	return o
}

// check validates one response of method on path (below /api/v1).
func (o *openAPI) check(method, path string, status int, body []byte) {
	o.t.Helper()
	var template string
	for _, p := range o.paths {
		if p.re.MatchString(path) {
			template = p.template
		}
	}
	if template == "" {
		if status != http.StatusNotFound {
			o.t.Errorf("%s %s: %d for a path the OpenAPI document does not have", method, path, status)
		}
		return
	}
	op, _ := o.doc["paths"].(map[string]any)[template].(map[string]any)[strings.ToLower(method)].(map[string]any)
	if op == nil {
		if status != http.StatusNotFound {
			o.t.Errorf("%s %s: %d for a method the OpenAPI document does not have", method, template, status)
		}
		return
	}
	resp, ok := op["responses"].(map[string]any)[fmt.Sprint(status)].(map[string]any)
	if !ok {
		o.t.Errorf("%s %s: status %d is not in the OpenAPI document", method, template, status)
		return
	}
	if _, hasBody := resp["content"]; !hasBody {
		if len(bytes.TrimSpace(body)) != 0 {
			o.t.Errorf("%s %s: %d has a body the OpenAPI document does not declare: %s", method, template, status, body)
		}
		return
	}
	pointer := "openapi.json#/paths/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(template) + "/" + strings.ToLower(method) +
		"/responses/" + fmt.Sprint(status) + "/content/application~1json/schema"
	o.mu.Lock()
	sch, ok := o.schemas[pointer]
	if !ok {
		var err error
		if sch, err = o.compiler.Compile(pointer); err != nil {
			o.mu.Unlock()
			o.t.Fatalf("compile %s: %v", pointer, err)
		}
		o.schemas[pointer] = sch
	}
	o.mu.Unlock()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		o.t.Errorf("%s %s: %d body is not JSON: %v\n%s", method, template, status, err, body)
		return
	}
	if err := sch.Validate(v); err != nil {
		o.t.Errorf("%s %s: %d body does not match the OpenAPI document: %v\n%s", method, template, status, err, body)
	}
}

// apiEnv is a tenant with callers of every kind.
type apiEnv struct {
	*env
	spec     *openAPI
	adminAPI store.App
	robot    string // token of an app with Application.ReadWrite.All
	auditor  string // token of an app with AuditLog.Read.All only
}

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	e := &apiEnv{env: newEnv(t), spec: newOpenAPI(t)}
	var err error
	e.adminAPI, err = e.admin.AdminAPI(t.Context(), e.tenant)
	if err != nil {
		t.Fatal(err)
	}
	e.robot = e.appToken("robot", true, admin.PermApplicationReadWrite)
	e.auditor = e.appToken("auditor", true, admin.PermAuditLogRead)
	return e
}

// appToken registers an app that needs roles of the admin API, granted
// by an administrator when consent is set, and returns the client
// credentials token it got for the API.
func (e *apiEnv) appToken(name string, consent bool, roles ...string) string {
	e.t.Helper()
	ctx := e.t.Context()
	app, err := e.admin.RegisterApp(ctx, e.tenant, admin.RegisterOptions{Name: name})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(roles) > 0 {
		if app, err = e.admin.AddPermission(ctx, app, admin.AdminAPIIdentifier, nil, roles); err != nil {
			e.t.Fatal(err)
		}
		if consent {
			if _, err := e.admin.GrantAdminConsent(ctx, app); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	secret, _, err := e.admin.AddSecret(ctx, app, "", e.clock.Now().AddDate(0, 1, 0))
	if err != nil {
		e.t.Fatal(err)
	}
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID},
		"client_secret": {secret}, "scope": {admin.AdminAPIIdentifier + "/.default"}})
	if status != http.StatusOK {
		e.t.Fatalf("client credentials for %s: %d %v", name, status, resp)
	}
	return resp["access_token"].(string)
}

// userToken returns a delegated token alice got through the web app for
// the given admin API scopes.
func (e *apiEnv) userToken(scopes ...string) string {
	e.t.Helper()
	var full []string
	for _, s := range scopes {
		full = append(full, admin.AdminAPIIdentifier+"/"+s)
	}
	resp := webTokens(e.env, strings.Join(full, " "))
	return resp["access_token"].(string)
}

type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r apiResponse) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not a JSON object (%d): %s", r.status, r.body)
	}
	return m
}

// errorCode is the Graph error code of a response.
func (r apiResponse) errorCode() string {
	var m struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(r.body, &m)
	return m.Error.Code
}

// call sends a request to the admin API and checks the answer against the
// OpenAPI document. body is JSON-encoded unless it is a string, sent as is.
func (e *apiEnv) call(method, path, bearer string, body any, header ...string) apiResponse {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.authority()+"/api/v1"+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	e.spec.check(method, strings.SplitN(path, "?", 2)[0], resp.StatusCode, b)
	if resp.Header.Get("Cache-Control") != "no-store" && !strings.HasSuffix(path, "openapi.json") {
		e.t.Errorf("%s %s: Cache-Control %q, want no-store", method, path, resp.Header.Get("Cache-Control"))
	}
	return apiResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *apiEnv) expect(what string, r apiResponse, status int, code string) {
	e.t.Helper()
	if r.status != status || (code != "" && r.errorCode() != code) {
		e.t.Errorf("%s: %d %s, want %d %s\n%s", what, r.status, r.errorCode(), status, code, r.body)
	}
}

// The seeds' first steps over HTTP: register an app, give it a Web
// redirect URI and a client secret, and the secret works at the token
// endpoint; then change, read back, and delete, each in the audit log.
func TestAdminAPIRegistersAnAppAsTheSeedsDo(t *testing.T) {
	e := newAPIEnv(t)
	r := e.call("POST", "/applications", e.robot, map[string]any{"displayName": "Seed app", "signInAudience": "AzureADMyOrg"})
	e.expect("register", r, http.StatusCreated, "")
	app := r.json(t)
	id := app["appId"].(string)
	if app["id"] != id || r.header.Get("Location") != e.authority()+"/api/v1/applications/"+id || r.header.Get("ETag") == "" {
		t.Errorf("register: id %v, Location %q, ETag %q", app["id"], r.header.Get("Location"), r.header.Get("ETag"))
	}
	tag := r.header.Get("ETag")

	r = e.call("PATCH", "/applications/"+id, e.robot, map[string]any{"web": map[string]any{"redirectUris": []string{"http://localhost:8080"}}}, "If-Match", tag)
	e.expect("add a Web redirect URI", r, http.StatusOK, "")
	if got := r.json(t)["web"].(map[string]any)["redirectUris"].([]any); len(got) != 1 || got[0] != "http://localhost:8080" {
		t.Errorf("web.redirectUris: %v", got)
	}
	// The old ETag no longer matches.
	r2 := e.call("PATCH", "/applications/"+id, e.robot, map[string]any{"displayName": "Stale"}, "If-Match", tag)
	e.expect("a change with a stale If-Match", r2, http.StatusPreconditionFailed, "Request_PreconditionFailed")
	tag = r.header.Get("ETag")

	r = e.call("POST", "/applications/"+id+"/addPassword", e.robot, map[string]any{"passwordCredential": map[string]any{"displayName": "app secret"}})
	e.expect("addPassword", r, http.StatusOK, "")
	cred := r.json(t)
	secret, _ := cred["secretText"].(string)
	if len(secret) < 32 || cred["hint"] != secret[:3] || cred["displayName"] != "app secret" {
		t.Fatalf("addPassword answer: %v", cred)
	}
	status, tok, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret},
		"scope": {id + "/.default"}})
	if status != http.StatusOK || tok["access_token"] == nil {
		t.Errorf("the secret addPassword returned does not work at the token endpoint: %d %v", status, tok)
	}
	r = e.call("GET", "/applications/"+id, e.robot, nil)
	e.expect("read back", r, http.StatusOK, "")
	if strings.Contains(string(r.body), secret) {
		t.Error("the secret's value is shown again")
	}
	if pcs := r.json(t)["passwordCredentials"].([]any); len(pcs) != 1 {
		t.Errorf("passwordCredentials: %v", pcs)
	}
	if r.header.Get("ETag") != tag {
		t.Errorf("adding a secret changed the app's ETag (%s -> %s): the registration did not change", tag, r.header.Get("ETag"))
	}
	e.expect("removePassword", e.call("POST", "/applications/"+id+"/removePassword", e.robot, map[string]any{"keyId": cred["keyId"]}), http.StatusNoContent, "")
	e.expect("removePassword again", e.call("POST", "/applications/"+id+"/removePassword", e.robot, map[string]any{"keyId": cred["keyId"]}), http.StatusNotFound, "Request_ResourceNotFound")

	list := e.call("GET", "/applications?$top=2", e.robot, nil)
	e.expect("list", list, http.StatusOK, "")
	next, _ := list.json(t)["@odata.nextLink"].(string)
	if next == "" {
		t.Fatal("a tenant of more than two apps gave one page for $top=2")
	}
	seen := map[string]bool{}
	for page := list; ; {
		for _, v := range page.json(t)["value"].([]any) {
			appID := v.(map[string]any)["appId"].(string)
			if seen[appID] {
				t.Fatalf("app %s on two pages", appID)
			}
			seen[appID] = true
		}
		next, _ := page.json(t)["@odata.nextLink"].(string)
		if next == "" {
			break
		}
		page = e.call("GET", strings.TrimPrefix(next, e.authority()+"/api/v1"), e.robot, nil)
		e.expect("next page", page, http.StatusOK, "")
	}
	apps, _ := e.admin.Apps(t.Context(), e.tenant)
	if len(seen) != len(apps) || !seen[id] {
		t.Errorf("the pages held %d apps, the tenant has %d", len(seen), len(apps))
	}
	if found := e.call("GET", "/applications?$search=seed", e.robot, nil).json(t)["value"].([]any); len(found) != 1 {
		t.Errorf("$search=seed found %d apps, want 1", len(found))
	}

	e.expect("delete", e.call("DELETE", "/applications/"+id, e.robot, nil), http.StatusNoContent, "")
	e.expect("read deleted", e.call("GET", "/applications/"+id, e.robot, nil), http.StatusNotFound, "Request_ResourceNotFound")

	audit := e.call("GET", "/auditLogs/directoryAudits?target="+id, e.auditor, nil)
	e.expect("audit log", audit, http.StatusOK, "")
	var activities []string
	for _, v := range audit.json(t)["value"].([]any) {
		en := v.(map[string]any)
		activities = append(activities, en["activityDisplayName"].(string))
		if by := en["initiatedBy"].(map[string]any)["app"].(map[string]any); by["displayName"] != "robot" {
			t.Errorf("%s initiated by %v, want the robot app", en["activityDisplayName"], by)
		}
	}
	want := []string{"Delete application", "Update application – Certificates and secrets management",
		"Update application – Certificates and secrets management", "Update application", "Add application"}
	if !slices.Equal(activities, want) {
		t.Errorf("audit log of the app, newest first:\n%q\nwant\n%q", activities, want)
	}
	if strings.Contains(string(audit.body), secret) {
		t.Error("the audit log holds the secret")
	}
}

// Who may do what: no token, a token of another tenant or for another
// resource, an app without the role, a read-only app writing, a user
// whose directory roles do not cover the scope, and the ones allowed.
func TestAdminAPIAuthorization(t *testing.T) {
	e := newAPIEnv(t)
	ctx := t.Context()
	create := map[string]any{"displayName": "x"}

	r := e.call("GET", "/applications", "", nil)
	e.expect("no token", r, http.StatusUnauthorized, "InvalidAuthenticationToken")
	if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), `Bearer realm="tessera"`) {
		t.Errorf("no token: WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
	}
	r = e.call("GET", "/applications", "not.a.token", nil)
	e.expect("garbage token", r, http.StatusUnauthorized, "InvalidAuthenticationToken")
	if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("garbage token: WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
	}
	// A token for another resource of the same tenant.
	status, other, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID},
		"client_secret": {e.daemonPW}, "scope": {"api://files/.default"}})
	if status != http.StatusOK {
		t.Fatalf("daemon token: %d %v", status, other)
	}
	e.expect("a token for another API", e.call("GET", "/applications", other["access_token"].(string), nil), http.StatusUnauthorized, "InvalidAuthenticationToken")

	// A token of another tenant, for that tenant's admin API.
	fabrikam, err := e.admin.CreateTenant(ctx, "fabrikam", "RS256")
	if err != nil {
		t.Fatal(err)
	}
	fApp, err := e.admin.RegisterApp(ctx, fabrikam, admin.RegisterOptions{Name: "robot"})
	if err != nil {
		t.Fatal(err)
	}
	if fApp, err = e.admin.AddPermission(ctx, fApp, admin.AdminAPIIdentifier, nil, []string{admin.PermApplicationReadWrite}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.GrantAdminConsent(ctx, fApp); err != nil {
		t.Fatal(err)
	}
	fSecret, _, err := e.admin.AddSecret(ctx, fApp, "", e.clock.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	status, ft, _ := e.post(e.srv.URL+"/fabrikam/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {fApp.ClientID},
		"client_secret": {fSecret}, "scope": {admin.AdminAPIIdentifier + "/.default"}})
	if status != http.StatusOK {
		t.Fatalf("fabrikam token: %d %v", status, ft)
	}
	e.expect("another tenant's token", e.call("GET", "/applications", ft["access_token"].(string), nil), http.StatusUnauthorized, "InvalidAuthenticationToken")

	// An app that needs a role nobody granted gets a token without it.
	ungranted := e.appToken("ungranted", false, admin.PermApplicationReadWrite)
	e.expect("an app whose role was not granted", e.call("GET", "/applications", ungranted, nil), http.StatusForbidden, "Authorization_RequestDenied")
	e.expect("an auditor reading apps", e.call("GET", "/applications", e.auditor, nil), http.StatusForbidden, "Authorization_RequestDenied")
	e.expect("an auditor writing", e.call("POST", "/applications", e.auditor, create), http.StatusForbidden, "Authorization_RequestDenied")
	e.expect("an app writer reading the audit log", e.call("GET", "/auditLogs/directoryAudits", e.robot, nil), http.StatusForbidden, "Authorization_RequestDenied")
	e.expect("an app writer creating users", e.call("POST", "/users", e.robot, map[string]any{"userPrincipalName": "x@contoso.test"}), http.StatusForbidden, "Authorization_RequestDenied")
	e.expect("an app writer granting itself roles", e.call("POST", "/directoryRoles/"+admin.RoleGlobalAdministrator+"/members/$ref", e.robot,
		map[string]any{"@odata.id": "users/" + e.user.ID}), http.StatusForbidden, "Authorization_RequestDenied")

	// Delegated: the web app may ask for the admin API's scopes.
	e.web, err = e.admin.AddPermission(ctx, e.web, admin.AdminAPIIdentifier, []string{admin.PermApplicationReadWrite, admin.PermDirectoryRead}, nil)
	if err != nil {
		t.Fatal(err)
	}
	noRole := e.userToken(admin.PermApplicationReadWrite, admin.PermDirectoryRead)
	e.expect("a user with no directory role", e.call("GET", "/applications", noRole, nil), http.StatusForbidden, "Authorization_RequestDenied")

	u, err := e.admin.User(ctx, e.tenant, e.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.AssignRole(ctx, u, admin.RoleGlobalReader); err != nil {
		t.Fatal(err)
	}
	e.expect("a Global Reader reading", e.call("GET", "/applications", noRole, nil), http.StatusOK, "")
	e.expect("a Global Reader writing, with the write scope", e.call("POST", "/applications", noRole, create), http.StatusForbidden, "Authorization_RequestDenied")

	if _, err := e.admin.AssignRole(ctx, u, admin.RoleApplicationAdministrator); err != nil {
		t.Fatal(err)
	}
	r = e.call("POST", "/applications", noRole, create)
	e.expect("an Application Administrator writing", r, http.StatusCreated, "")
	readOnly := e.userToken(admin.PermDirectoryRead)
	e.expect("an Application Administrator whose token has only the read scope", e.call("POST", "/applications", readOnly, create), http.StatusForbidden, "Authorization_RequestDenied")

	// The delegated change is the user's in the audit log.
	entries, err := e.admin.AuditLog(ctx, e.tenant, store.AuditQuery{TargetID: r.json(t)["appId"].(string)})
	if err != nil || len(entries) != 1 || entries[0].ActorID != e.user.ID || entries[0].ActorType != admin.ActorUser {
		t.Errorf("the delegated change's audit entry: %+v (%v)", entries, err)
	}

	// A disabled user's token stops working at once.
	if _, err := e.admin.SetDisabled(ctx, u, true); err != nil {
		t.Fatal(err)
	}
	e.expect("a disabled user's token", e.call("GET", "/applications", noRole, nil), http.StatusUnauthorized, "InvalidAuthenticationToken")

	// The built-in API is used, never changed.
	e.expect("change the admin API", e.call("PATCH", "/applications/"+e.adminAPI.ClientID, e.robot, map[string]any{"displayName": "mine"}), http.StatusBadRequest, "Request_BadRequest")
	e.expect("delete the admin API", e.call("DELETE", "/applications/"+e.adminAPI.ClientID, e.robot, nil), http.StatusBadRequest, "Request_BadRequest")
	e.expect("the OpenAPI document needs no token", e.call("GET", "/openapi.json", "", nil), http.StatusOK, "")
}

// Certificates and keys for client assertions, as Graph's addKey and
// removeKey take them: a certificate as base64 DER, or a public JWK.
func TestAdminAPIKeys(t *testing.T) {
	e := newAPIEnv(t)
	id := e.call("POST", "/applications", e.robot, map[string]any{"displayName": "Signer"}).json(t)["appId"].(string)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	r := e.call("POST", "/applications/"+id+"/addKey", e.robot, map[string]any{"keyCredential": map[string]any{
		"type": "AsymmetricX509Cert", "usage": "Verify", "displayName": "signer cert", "key": base64.StdEncoding.EncodeToString(der)}})
	e.expect("addKey certificate", r, http.StatusOK, "")
	sum := sha256.Sum256(der)
	if kc := r.json(t); kc["customKeyIdentifier"] != base64.StdEncoding.EncodeToString(sum[:]) || kc["endDateTime"] == nil {
		t.Errorf("addKey certificate: %v", kc)
	}
	certID := r.json(t)["keyId"].(string)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := jose.JSONWebKey{Key: other.Public()}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	r = e.call("POST", "/applications/"+id+"/addKey", e.robot, map[string]any{"keyCredential": map[string]any{"type": "JsonWebKey", "key": string(jwk)}})
	e.expect("addKey JWK", r, http.StatusOK, "")
	e.expect("the same key again", e.call("POST", "/applications/"+id+"/addKey", e.robot, map[string]any{"keyCredential": map[string]any{"type": "JsonWebKey", "key": string(jwk)}}),
		http.StatusBadRequest, "Request_BadRequest")
	if kcs := e.call("GET", "/applications/"+id, e.robot, nil).json(t)["keyCredentials"].([]any); len(kcs) != 2 {
		t.Errorf("keyCredentials: %v", kcs)
	}
	e.expect("removeKey", e.call("POST", "/applications/"+id+"/removeKey", e.robot, map[string]any{"keyId": certID}), http.StatusNoContent, "")
	if kcs := e.call("GET", "/applications/"+id, e.robot, nil).json(t)["keyCredentials"].([]any); len(kcs) != 1 {
		t.Errorf("keyCredentials after removeKey: %v", kcs)
	}
}

// Grants and keys over the API: delegated grants for everyone and for one
// user, app role assignments, and signing key rotation, each audited; no
// caller hands out an admin API permission it lacks.
func TestAdminAPIGrantsAndKeys(t *testing.T) {
	e := newAPIEnv(t)
	ctx := t.Context()
	owner := e.appToken("owner", true, admin.PermApplicationReadWrite, admin.PermDirectoryReadWrite, admin.PermDirectoryRead)
	client := e.native.ClientID

	r := e.call("POST", "/oauth2PermissionGrants", e.robot, map[string]any{"clientId": client, "consentType": "AllPrincipals",
		"resourceId": "api://files", "scope": "Files.Read Files.Write"})
	e.expect("grant for everyone", r, http.StatusCreated, "")
	everyone := r.json(t)["id"].(string)
	r = e.call("POST", "/oauth2PermissionGrants", e.robot, map[string]any{"clientId": client, "consentType": "Principal",
		"principalId": e.user.ID, "resourceId": e.api.ClientID, "scope": "Files.Read"})
	e.expect("grant for alice", r, http.StatusCreated, "")
	userGrant := r.json(t)["id"].(string)
	e.expect("a scope the API does not expose", e.call("POST", "/oauth2PermissionGrants", e.robot, map[string]any{"clientId": client,
		"consentType": "AllPrincipals", "resourceId": "api://files", "scope": "Files.Delete"}), http.StatusBadRequest, "Request_BadRequest")
	e.expect("Principal without a principal", e.call("POST", "/oauth2PermissionGrants", e.robot, map[string]any{"clientId": client,
		"consentType": "Principal", "resourceId": "api://files", "scope": "Files.Read"}), http.StatusBadRequest, "Request_BadRequest")
	e.expect("an admin API scope the caller lacks", e.call("POST", "/oauth2PermissionGrants", e.robot, map[string]any{"clientId": client,
		"consentType": "AllPrincipals", "resourceId": admin.AdminAPIIdentifier, "scope": admin.PermUserReadWrite}), http.StatusForbidden, "Authorization_RequestDenied")

	list := e.call("GET", "/oauth2PermissionGrants?clientId="+client+"&principalId="+e.user.ID, e.robot, nil)
	e.expect("list grants", list, http.StatusOK, "")
	if grants := list.json(t)["value"].([]any); len(grants) != 2 {
		t.Errorf("grants: %v", grants)
	}
	e.expect("remove alice's grant", e.call("DELETE", "/oauth2PermissionGrants/"+userGrant, e.robot, nil), http.StatusNoContent, "")
	e.expect("remove it again", e.call("DELETE", "/oauth2PermissionGrants/"+userGrant, e.robot, nil), http.StatusNotFound, "Request_ResourceNotFound")
	e.expect("a forged grant id", e.call("DELETE", "/oauth2PermissionGrants/not-one", e.robot, nil), http.StatusNotFound, "Request_ResourceNotFound")

	daemon := e.daemon.ClientID
	if _, err := e.admin.AddPermission(ctx, e.daemon, "api://files", nil, []string{"Files.ReadAll"}); err != nil {
		t.Fatal(err)
	}
	r = e.call("POST", "/applications/"+daemon+"/appRoleAssignments", e.robot, map[string]any{"resourceId": "api://files", "appRoleId": "Files.ReadAll"})
	e.expect("assign a role", r, http.StatusCreated, "")
	assignments := e.call("GET", "/applications/"+daemon+"/appRoleAssignments", e.robot, nil).json(t)["value"].([]any)
	if len(assignments) != 1 || assignments[0].(map[string]any)["appRoleId"] != "Files.ReadAll" {
		t.Fatalf("assignments: %v", assignments)
	}
	id := assignments[0].(map[string]any)["id"].(string)
	e.expect("remove the role", e.call("DELETE", "/applications/"+daemon+"/appRoleAssignments/"+id, e.robot, nil), http.StatusNoContent, "")
	status, resp, _ := e.post(e.tokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {daemon},
		"client_secret": {e.daemonPW}, "scope": {"api://files/.default"}})
	// With its only role taken away the daemon's token for the API holds
	// no role.
	if status != http.StatusOK {
		t.Fatalf("the daemon's token request after its role was removed: %d %v", status, resp)
	}
	if _, claims := e.verifyJWT(resp["access_token"].(string), "at+jwt", e.api.ClientID); claims["roles"] != nil {
		t.Errorf("the removed role is still in the daemon's token: %v", claims["roles"])
	}

	// The portal's "Grant admin consent" in one call: the role back, with
	// the OpenID Connect scopes; an admin API permission the caller lacks
	// is refused with nothing granted.
	r = e.call("POST", "/applications/"+daemon+"/grantAdminConsent", e.robot, nil)
	e.expect("grant admin consent", r, http.StatusOK, "")
	granted := r.json(t)
	if a := granted["appRoleAssignments"].([]any); len(a) != 1 || a[0].(map[string]any)["appRoleId"] != "Files.ReadAll" {
		t.Errorf("grantAdminConsent assigned %v", a)
	}
	if g := granted["oauth2PermissionGrants"].([]any); len(g) != 1 || g[0].(map[string]any)["resourceId"] != "" ||
		g[0].(map[string]any)["consentType"] != "AllPrincipals" || !strings.Contains(g[0].(map[string]any)["scope"].(string), "openid") {
		t.Errorf("grantAdminConsent granted %v", g)
	}
	current, err := e.admin.App(ctx, e.tenant, daemon)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.AddPermission(ctx, current, admin.AdminAPIIdentifier, nil, []string{admin.PermUserReadWrite}); err != nil {
		t.Fatal(err)
	}
	e.expect("grant admin consent for a permission the caller lacks", e.call("POST", "/applications/"+daemon+"/grantAdminConsent", e.robot, nil),
		http.StatusForbidden, "Authorization_RequestDenied")
	if a := e.call("GET", "/applications/"+daemon+"/appRoleAssignments", e.robot, nil).json(t)["value"].([]any); len(a) != 1 {
		t.Errorf("a refused consent changed the assignments: %v", a)
	}
	e.expect("grant admin consent for no app", e.call("POST", "/applications/no-such-app/grantAdminConsent", e.robot, nil),
		http.StatusNotFound, "Request_ResourceNotFound")

	// A grant of two scopes goes at once, with one audit entry.
	removals, err := e.admin.AuditLog(ctx, e.tenant, store.AuditQuery{Activity: "Remove delegated permission grant"})
	if err != nil {
		t.Fatal(err)
	}
	e.expect("remove the tenant-wide grant", e.call("DELETE", "/oauth2PermissionGrants/"+everyone, e.robot, nil), http.StatusNoContent, "")
	removalsAfter, err := e.admin.AuditLog(ctx, e.tenant, store.AuditQuery{Activity: "Remove delegated permission grant"})
	if err != nil || len(removalsAfter) != len(removals)+1 || !strings.Contains(removalsAfter[0].Changes[1].Old, "Files.Write") {
		t.Errorf("removing a grant of two scopes wrote %d entries: %+v", len(removalsAfter)-len(removals), removalsAfter)
	}
	if cs, _ := e.admin.Consents(ctx, e.mustApp(client), ""); slices.ContainsFunc(cs, func(c store.Consent) bool { return c.ResourceID == e.api.ClientID && c.Kind == store.KindScope }) {
		t.Errorf("the tenant-wide grant's scopes outlived it: %v", cs)
	}

	keys := e.call("GET", "/signingKeys", owner, nil)
	e.expect("list keys", keys, http.StatusOK, "")
	before := keys.json(t)["value"].([]any)
	e.expect("rotate without Directory.ReadWrite.All", e.call("POST", "/signingKeys/rotate", e.robot, nil), http.StatusForbidden, "Authorization_RequestDenied")
	e.expect("rotate", e.call("POST", "/signingKeys/rotate", owner, nil), http.StatusNoContent, "")
	after := e.call("GET", "/signingKeys", owner, nil).json(t)["value"].([]any)
	if len(after) != len(before)+1 || strings.Contains(string(keys.body), "PRIVATE") {
		t.Errorf("keys before %d, after %d", len(before), len(after))
	}
	entries, err := e.admin.AuditLog(ctx, e.tenant, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var activities []string
	for _, en := range entries {
		activities = append(activities, en.Activity)
	}
	for _, want := range []string{"Add delegated permission grant", "Remove delegated permission grant", "Add app role assignment to service principal",
		"Remove app role assignment from service principal", "Consent to application", "Rotate signing keys"} {
		if !slices.Contains(activities, want) {
			t.Errorf("no %q in the audit log", want)
		}
	}
}
