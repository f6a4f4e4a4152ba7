package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

// Grants and signing keys. Graph's oauth2PermissionGrant is one row per
// client, principal and resource with the scopes space-separated; its id
// here encodes those three. An appRoleAssignment is one role granted to an
// app; its id encodes the resource and the role.

type permissionGrantJSON struct {
	ID          string `json:"id"`
	ClientID    string `json:"clientId"`
	ConsentType string `json:"consentType"` // AllPrincipals or Principal
	PrincipalID string `json:"principalId,omitempty"`
	ResourceID  string `json:"resourceId"`
	Scope       string `json:"scope"`
}

type appRoleAssignmentJSON struct {
	ID              string    `json:"id"`
	AppRoleID       string    `json:"appRoleId"`
	PrincipalID     string    `json:"principalId"`
	PrincipalType   string    `json:"principalType"`
	ResourceID      string    `json:"resourceId"`
	CreatedDateTime time.Time `json:"createdDateTime"`
}

type signingKeyJSON struct {
	KeyID           string     `json:"kid"`
	Algorithm       string     `json:"alg"`
	Status          string     `json:"status"`
	CreatedDateTime time.Time  `json:"createdDateTime"`
	EndDateTime     *time.Time `json:"endDateTime"`
}

func grantID(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, "\n")))
}

func parseGrantID(id string, n int) ([]string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) > 2048 {
		return nil, false
	}
	parts := strings.Split(string(b), "\n")
	return parts, len(parts) == n
}

// listPermissionGrants lists the delegated grants of the app named by the
// clientId query parameter: every user's and the tenant-wide ones, or,
// with principalId, that user's and the tenant-wide ones.
func (api *API) listPermissionGrants(q *request) error {
	v := q.r.URL.Query()
	if v.Get("clientId") == "" {
		return badRequest("Name the app whose grants to list: ?clientId={appId}.")
	}
	app, err := q.admin.App(q.r.Context(), q.tenant, v.Get("clientId"))
	if err != nil {
		return err
	}
	consents, err := q.admin.AllConsents(q.r.Context(), app)
	if err != nil {
		return err
	}
	if principal := v.Get("principalId"); principal != "" {
		consents = slices.DeleteFunc(consents, func(c store.Consent) bool { return c.PrincipalID != "" && c.PrincipalID != principal })
	}
	out := listResponse[permissionGrantJSON]{Value: []permissionGrantJSON{}}
	index := map[string]int{}
	for _, c := range consents {
		if c.Kind != store.KindScope {
			continue
		}
		key := c.PrincipalID + "\n" + c.ResourceID
		i, ok := index[key]
		if !ok {
			g := permissionGrantJSON{ID: grantID(app.ClientID, c.PrincipalID, c.ResourceID), ClientID: app.ClientID,
				ConsentType: "AllPrincipals", PrincipalID: c.PrincipalID, ResourceID: c.ResourceID}
			if c.PrincipalID != "" {
				g.ConsentType = "Principal"
			}
			out.Value = append(out.Value, g)
			i = len(out.Value) - 1
			index[key] = i
		}
		out.Value[i].Scope = strings.TrimSpace(out.Value[i].Scope + " " + c.Value)
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

type createGrantJSON struct {
	ClientID    string `json:"clientId"`
	ConsentType string `json:"consentType"`
	PrincipalID string `json:"principalId"`
	ResourceID  string `json:"resourceId"`
	Scope       string `json:"scope"`
}

func (api *API) createPermissionGrant(q *request) error {
	var in createGrantJSON
	if err := q.decode(&in); err != nil {
		return err
	}
	switch {
	case in.ConsentType == "AllPrincipals" && in.PrincipalID != "":
		return badRequest("An AllPrincipals grant names no principalId.")
	case in.ConsentType == "Principal" && in.PrincipalID == "":
		return badRequest("A Principal grant names the user in principalId.")
	case in.ConsentType != "AllPrincipals" && in.ConsentType != "Principal":
		return badRequest("consentType must be AllPrincipals or Principal.")
	}
	app, err := q.admin.App(q.r.Context(), q.tenant, in.ClientID)
	if err != nil {
		return err
	}
	rows, err := q.admin.GrantDelegated(q.r.Context(), app, in.PrincipalID, in.ResourceID, strings.Fields(in.Scope))
	if err != nil {
		return err
	}
	scopes := make([]string, 0, len(rows))
	for _, r := range rows {
		scopes = append(scopes, r.Value)
	}
	writeJSON(q.w, http.StatusCreated, permissionGrantJSON{ID: grantID(app.ClientID, in.PrincipalID, rows[0].ResourceID), ClientID: app.ClientID,
		ConsentType: in.ConsentType, PrincipalID: in.PrincipalID, ResourceID: rows[0].ResourceID, Scope: strings.Join(scopes, " ")})
	return nil
}

// deletePermissionGrant removes a grant: every scope of it, and a user's
// refresh tokens for the app, in one transaction with one audit entry.
func (api *API) deletePermissionGrant(q *request) error {
	parts, ok := parseGrantID(q.r.PathValue("id"), 3)
	if !ok {
		return apiError(http.StatusNotFound, "Request_ResourceNotFound", "No such grant.")
	}
	app, err := q.admin.App(q.r.Context(), q.tenant, parts[0])
	if err != nil {
		return err
	}
	err = q.admin.RevokeDelegatedGrant(q.r.Context(), app, parts[1], parts[2])
	if errors.Is(err, admin.ErrNotFound) {
		return apiError(http.StatusNotFound, "Request_ResourceNotFound", "No such grant.")
	}
	if err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (api *API) listAppRoleAssignments(q *request) error {
	app, err := q.admin.App(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	consents, err := q.admin.Consents(q.r.Context(), app, "")
	if err != nil {
		return err
	}
	out := listResponse[appRoleAssignmentJSON]{Value: []appRoleAssignmentJSON{}}
	for _, c := range consents {
		if c.Kind == store.KindRole {
			out.Value = append(out.Value, toAssignmentJSON(app, c))
		}
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

// adminConsentJSON is what grantAdminConsent granted: the tenant-wide
// delegated grants, one per resource, and the app role assignments.
type adminConsentJSON struct {
	OAuth2PermissionGrants []permissionGrantJSON   `json:"oauth2PermissionGrants"`
	AppRoleAssignments     []appRoleAssignmentJSON `json:"appRoleAssignments"`
}

// grantAdminConsent is the portal's "Grant admin consent for {tenant}"
// over HTTP, a Tessera action: every permission the app is configured to
// need, and the OpenID Connect scopes, granted for all users in one
// change (Graph needs a call per resource and role for it).
func (api *API) grantAdminConsent(q *request) error {
	app, err := q.admin.App(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	rows, err := q.admin.GrantAdminConsent(q.r.Context(), app)
	if err != nil {
		return err
	}
	out := adminConsentJSON{OAuth2PermissionGrants: []permissionGrantJSON{}, AppRoleAssignments: []appRoleAssignmentJSON{}}
	index := map[string]int{}
	for _, c := range rows {
		if c.Kind == store.KindRole {
			out.AppRoleAssignments = append(out.AppRoleAssignments, toAssignmentJSON(app, c))
			continue
		}
		i, ok := index[c.ResourceID]
		if !ok {
			out.OAuth2PermissionGrants = append(out.OAuth2PermissionGrants, permissionGrantJSON{ID: grantID(app.ClientID, "", c.ResourceID),
				ClientID: app.ClientID, ConsentType: "AllPrincipals", ResourceID: c.ResourceID})
			i = len(out.OAuth2PermissionGrants) - 1
			index[c.ResourceID] = i
		}
		out.OAuth2PermissionGrants[i].Scope = strings.TrimSpace(out.OAuth2PermissionGrants[i].Scope + " " + c.Value)
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

func toAssignmentJSON(app store.App, c store.Consent) appRoleAssignmentJSON {
	return appRoleAssignmentJSON{ID: grantID(c.ResourceID, c.Value), AppRoleID: c.Value, PrincipalID: app.ServicePrincipalID,
		PrincipalType: "ServicePrincipal", ResourceID: c.ResourceID, CreatedDateTime: c.CreatedAt}
}

type createAssignmentJSON struct {
	ResourceID string `json:"resourceId"`
	AppRoleID  string `json:"appRoleId"`
}

func (api *API) createAppRoleAssignment(q *request) error {
	var in createAssignmentJSON
	if err := q.decode(&in); err != nil {
		return err
	}
	app, err := q.admin.App(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	rows, err := q.admin.GrantAppRoles(q.r.Context(), app, in.ResourceID, []string{in.AppRoleID})
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusCreated, toAssignmentJSON(app, rows[0]))
	return nil
}

func (api *API) deleteAppRoleAssignment(q *request) error {
	parts, ok := parseGrantID(q.r.PathValue("assignment"), 2)
	if !ok {
		return apiError(http.StatusNotFound, "Request_ResourceNotFound", "No such app role assignment.")
	}
	app, err := q.admin.App(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := q.admin.RevokeGrant(q.r.Context(), app, store.Consent{ResourceID: parts[0], Kind: store.KindRole, Value: parts[1]}); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (api *API) listSigningKeys(q *request) error {
	keys, err := q.admin.SigningKeys(q.r.Context(), q.tenant)
	if err != nil {
		return err
	}
	out := listResponse[signingKeyJSON]{Value: []signingKeyJSON{}}
	for _, k := range keys {
		out.Value = append(out.Value, signingKeyJSON{KeyID: k.ID, Algorithm: k.Alg, Status: string(k.Status),
			CreatedDateTime: k.CreatedAt, EndDateTime: timeOrNil(k.ExpiresAt)})
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

func (api *API) rotateSigningKeys(q *request) error {
	if err := q.admin.RotateKeys(q.r.Context(), q.tenant, admin.DefaultKeepRetired); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}
