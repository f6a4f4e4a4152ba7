// Package api is the admin REST API, /{tenant}/api/v1/: Microsoft
// Graph's resource and field names where they fit, JSON in and out, errors
// as Graph's {"error": {"code", "message"}}. It decodes, asks package
// admin (which checks what the caller may do and audits every change) and
// encodes; it decides nothing itself. Callers authenticate with Tessera's
// own access tokens for the tenant's admin API resource
// (api://tessera-admin): app roles for an app acting as itself, delegated
// scopes that the signed-in user's directory roles cover.
package api

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/store"
)

// maxBody bounds a request body: the largest real one (an app with its
// redirect URIs, scopes and roles) is a few KiB.
const maxBody = 64 << 10

// maxPage is the most items a page of a list holds, and the default.
const (
	maxPage     = 999
	defaultPage = 100
)

//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the API's OpenAPI 3.1 document.
func OpenAPI() []byte { return bytes.Clone(openAPIDocument) }

// API serves the admin API of every tenant.
type API struct {
	provider *oauth.Provider
	admin    *admin.Admin
	log      *slog.Logger
	mux      *http.ServeMux
}

// New returns the API over the protocol core (which verifies tokens) and
// the admin core (which does the work).
func New(p *oauth.Provider, a *admin.Admin, log *slog.Logger) *API {
	api := &API{provider: p, admin: a, log: log, mux: http.NewServeMux()}
	api.routes()
	return api
}

// request is one API call, authorized.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	ep     oauth.Endpoint
	admin  *admin.Admin // acting for the caller
	tenant store.Tenant
}

type handler func(q *request) error

type ctxKey struct{}

// call is what Serve hands the mux: the tenant's endpoint, and the
// authorized admin once the handler asks for it.
type call struct {
	ep      oauth.Endpoint
	address string
}

// Serve answers a request whose path below /{tenant}/api/v1 is rest. The
// caller's address (for the audit log) is the client's as the server
// established it.
func (api *API) Serve(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint, rest, address string) {
	w.Header().Set("Cache-Control", "no-store")
	p := "/" + rest
	if path.Clean(p) != p {
		// The mux would redirect to the cleaned path; an API answers.
		api.writeError(w, r, apiError(http.StatusNotFound, "Request_ResourceNotFound", "No such resource: the path is not in its plain form."))
		return
	}
	r2 := r.Clone(context.WithValue(r.Context(), ctxKey{}, call{ep: ep, address: address}))
	r2.URL.Path = p
	r2.URL.RawPath = ""
	if p == "/openapi.json" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET")
			api.writeError(w, r, apiError(http.StatusMethodNotAllowed, "Request_BadRequest", "Use GET."))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(openAPIDocument)
		return
	}
	api.mux.ServeHTTP(w, r2)
}

// handle registers h for pattern, behind the caller's authorization.
func (api *API) handle(pattern string, h handler) {
	api.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(ctxKey{}).(call)
		q, err := api.authorize(w, r, c)
		if err == nil {
			err = h(q)
		}
		if err != nil {
			api.writeError(w, r, err)
		}
	})
}

// authorize verifies the bearer token for the tenant's admin API and
// returns the request with an admin acting for its caller.
func (api *API) authorize(w http.ResponseWriter, r *http.Request, c call) (*request, error) {
	ctx := r.Context()
	resource, err := api.admin.AdminAPI(ctx, c.ep.Tenant)
	if err != nil {
		return nil, err
	}
	var bearer string
	if scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		bearer = strings.TrimSpace(value)
	}
	caller, e := api.provider.VerifyAPIToken(ctx, c.ep, bearer, resource.ClientID)
	if e != nil {
		return nil, e
	}
	ac := admin.Caller{AppOnly: caller.AppOnly, ClientID: caller.ClientID, UserID: caller.UserID,
		Scopes: caller.Scopes, Roles: caller.Roles, Address: c.address}
	if app, err := api.admin.AppForCaller(ctx, c.ep.Tenant, caller.ClientID); err == nil {
		ac.ClientName = app.Name
	}
	adm, err := api.admin.Authorize(ctx, c.ep.Tenant, ac)
	if err != nil {
		return nil, err
	}
	return &request{w: w, r: r, ep: c.ep, admin: adm, tenant: c.ep.Tenant}, nil
}

// graphError is Graph's error body.
type graphError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID string `json:"request-id,omitempty"`
		} `json:"innerError"`
	} `json:"error"`
}

// statusError is an error with its HTTP status and Graph code.
type statusError struct {
	status  int
	code    string
	message string
}

func (e *statusError) Error() string { return e.message }

func apiError(status int, code, message string) error {
	return &statusError{status: status, code: code, message: message}
}

func badRequest(format string, args ...any) error {
	return apiError(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf(format, args...))
}

// writeError answers err: a bearer failure with its RFC 6750 challenge,
// the admin core's input, permission and conflict errors with theirs, and
// anything else as a 500 whose cause goes to the log only.
func (api *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var body graphError
	status, code := http.StatusInternalServerError, "InternalServerError"
	var se *statusError
	var oe *oauth.Error
	switch {
	case errors.As(err, &se):
		status, code, body.Error.Message = se.status, se.code, se.message
	case errors.As(err, &oe) && oe.Status != http.StatusInternalServerError:
		status, code, body.Error.Message = oe.Status, "InvalidAuthenticationToken", oe.Description
		challenge := `Bearer realm="tessera"`
		if oe.Code != "" {
			challenge += `, error="` + oe.Code + `", error_description="` + strings.ReplaceAll(oe.Description, `"`, `'`) + `"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	case errors.Is(err, admin.ErrForbidden):
		status, code, body.Error.Message = http.StatusForbidden, "Authorization_RequestDenied", admin.Reason(err)
	case errors.Is(err, admin.ErrNotFound):
		status, code, body.Error.Message = http.StatusNotFound, "Request_ResourceNotFound", admin.Reason(err)
	case errors.Is(err, admin.ErrStale):
		status, code, body.Error.Message = http.StatusPreconditionFailed, "Request_PreconditionFailed", admin.Reason(err)
	case errors.Is(err, admin.ErrInvalid):
		status, code, body.Error.Message = http.StatusBadRequest, "Request_BadRequest", admin.Reason(err)
	default:
		api.log.ErrorContext(r.Context(), "admin API request failed", "path", r.URL.Path, "method", r.Method, "err", err)
		body.Error.Message = "The request failed on the server; it is logged."
	}
	body.Error.Code = code
	body.Error.InnerError.RequestID = w.Header().Get("X-Request-Id")
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"code":"InternalServerError","message":"encoding failed"}}`, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// noContent answers a change that has nothing to return: 204 when it
// succeeded, its error otherwise.
func (q *request) noContent(err error) error {
	if err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

// decode reads a JSON object body into v: at most maxBody bytes, no field
// v does not know, nothing after the object.
func (q *request) decode(v any) error {
	if ct := q.r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return apiError(http.StatusUnsupportedMediaType, "Request_BadRequest", "Send the body as application/json.")
	}
	body, err := io.ReadAll(io.LimitReader(q.r.Body, maxBody+1))
	if err != nil {
		return badRequest("The body could not be read.")
	}
	if len(body) > maxBody {
		return apiError(http.StatusRequestEntityTooLarge, "Request_BadRequest", fmt.Sprintf("The body is larger than %d bytes.", maxBody))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("The body is not the JSON object this call takes: %s.", jsonProblem(err))
	}
	if dec.More() {
		return badRequest("The body has data after its JSON object.")
	}
	return nil
}

// jsonProblem says what is wrong with a body in words that name the field.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return fmt.Sprintf("%s must be %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case errors.Is(err, io.EOF):
		return "the body is empty"
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown property " + f
	}
	return strings.TrimPrefix(msg, "json: ")
}

func jsonKind(k string) string {
	switch k {
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	case "bool":
		return "true or false"
	case "int", "int64":
		return "a number"
	}
	return "a " + k
}

// etag is the entity tag of an object last changed at updated.
func etag(updatedMillis int64) string { return `W/"` + strconv.FormatInt(updatedMillis, 10) + `"` }

// checkIfMatch compares the request's If-Match with the object's tag: a
// change to an object someone changed since the caller read it is refused
// with 412. No If-Match means "whatever it is now".
func (q *request) checkIfMatch(tag string) error {
	im := strings.TrimSpace(q.r.Header.Get("If-Match"))
	if im == "" || im == "*" {
		return nil
	}
	for _, t := range strings.Split(im, ",") {
		if strings.TrimSpace(t) == tag {
			return nil
		}
	}
	return apiError(http.StatusPreconditionFailed, "Request_PreconditionFailed",
		"The object has changed since the ETag in If-Match was read; read it again and redo the change.")
}

// page reads $top and $skiptoken.
type page struct {
	top   int
	after string // the last key of the previous page, "" for the first
}

func (q *request) page() (page, error) {
	p := page{top: defaultPage}
	v := q.r.URL.Query()
	if t := v.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 || n > maxPage {
			return page{}, badRequest("$top must be a number from 1 to %d.", maxPage)
		}
		p.top = n
	}
	if s := v.Get("$skiptoken"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) == 0 || len(b) > 1024 {
			return page{}, badRequest("$skiptoken is not one this API gave out.")
		}
		p.after = string(b)
	}
	return p, nil
}

// listResponse is a page of a collection: Graph's value and
// @odata.nextLink, which carries the cursor of the next page.
type listResponse[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink,omitempty"`
}

// nextLink is the URL of the page after the one that ended at key.
func (q *request) nextLink(key string) string {
	u := *q.r.URL
	v := u.Query()
	v.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(key)))
	u.RawQuery = v.Encode()
	return q.ep.Base + "/api/v1" + u.Path + "?" + u.RawQuery
}

// routes registers every call. A path the mux does not know, or a method
// a path does not take, gets Graph's error body too.
func (api *API) routes() {
	for _, r := range []struct {
		pattern string
		h       handler
	}{
		{"GET /applications", api.listApplications},
		{"POST /applications", api.createApplication},
		{"GET /applications/{id}", api.getApplication},
		{"PATCH /applications/{id}", api.patchApplication},
		{"DELETE /applications/{id}", api.deleteApplication},
		{"POST /applications/{id}/addPassword", api.addPassword},
		{"POST /applications/{id}/removePassword", api.removePassword},
		{"POST /applications/{id}/addKey", api.addKey},
		{"POST /applications/{id}/removeKey", api.removeKey},
		{"POST /applications/{id}/grantAdminConsent", api.grantAdminConsent},
		{"GET /users", api.listUsers},
		{"POST /users", api.createUser},
		{"GET /users/{id}", api.getUser},
		{"PATCH /users/{id}", api.patchUser},
		{"DELETE /users/{id}", api.deleteUser},
		{"POST /users/{id}/revokeSignInSessions", api.revokeSignInSessions},
		{"POST /users/{id}/resetAuthenticationMethods", api.resetAuthenticationMethods},
		{"GET /directoryRoles", api.listDirectoryRoles},
		{"GET /directoryRoles/{role}/members", api.listRoleMembers},
		{"POST /directoryRoles/{role}/members/$ref", api.addRoleMember},
		{"DELETE /directoryRoles/{role}/members/{user}/$ref", api.removeRoleMember},
		{"GET /oauth2PermissionGrants", api.listPermissionGrants},
		{"POST /oauth2PermissionGrants", api.createPermissionGrant},
		{"DELETE /oauth2PermissionGrants/{id}", api.deletePermissionGrant},
		{"GET /applications/{id}/appRoleAssignments", api.listAppRoleAssignments},
		{"POST /applications/{id}/appRoleAssignments", api.createAppRoleAssignment},
		{"DELETE /applications/{id}/appRoleAssignments/{assignment}", api.deleteAppRoleAssignment},
		{"GET /groups", api.listGroups},
		{"POST /groups", api.createGroup},
		{"GET /groups/{id}", api.getGroup},
		{"PATCH /groups/{id}", api.patchGroup},
		{"DELETE /groups/{id}", api.deleteGroup},
		{"GET /groups/{id}/members", api.listGroupMembers},
		{"POST /groups/{id}/members/$ref", api.addGroupMember},
		{"DELETE /groups/{id}/members/{member}/$ref", api.removeGroupMember},
		{"GET /groups/{id}/appRoleAssignments", api.listPrincipalAssignments},
		{"POST /groups/{id}/appRoleAssignments", api.assignToPrincipal},
		{"DELETE /groups/{id}/appRoleAssignments/{assignment}", api.unassignFromPrincipal},
		{"GET /users/{id}/appRoleAssignments", api.listPrincipalAssignments},
		{"POST /users/{id}/appRoleAssignments", api.assignToPrincipal},
		{"DELETE /users/{id}/appRoleAssignments/{assignment}", api.unassignFromPrincipal},
		{"POST /users/{id}/getMemberObjects", api.getMemberObjects},
		{"GET /users/{id}/transitiveMemberOf", api.transitiveMemberOf},
		{"GET /applications/{id}/appRoleAssignedTo", api.listAppRoleAssignedTo},
		{"GET /signingKeys", api.listSigningKeys},
		{"POST /signingKeys/rotate", api.rotateSigningKeys},
		{"GET /auditLogs/directoryAudits", api.directoryAudits},
		{"GET /auditLogs/signIns", api.signIns},
	} {
		api.handle(r.pattern, r.h)
	}
	api.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		api.writeError(w, r, apiError(http.StatusNotFound, "Request_ResourceNotFound",
			"No such resource or method: "+r.Method+" "+clip(r.URL.Path)+". See openapi.json for the calls this API takes."))
	})
}
