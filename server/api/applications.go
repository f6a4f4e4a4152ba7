package api

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

// Applications, in Graph's application shape. Tessera's app has one id:
// its object id is its appId (client id). An app is confidential or
// public, as isFallbackPublicClient says; a confidential app has web,
// spa and publicClient (mobile and desktop) redirect URIs, a public one
// spa and publicClient ones only. Codes sent to spa and publicClient URIs
// are redeemed without a secret, with PKCE. Scopes and roles are named by
// their values, which are their ids.

const audienceMyOrg = "AzureADMyOrg"

type redirectsJSON struct {
	RedirectURIs []string `json:"redirectUris"`
}

type webJSON struct {
	RedirectURIs           []string `json:"redirectUris"`
	PostLogoutRedirectURIs []string `json:"postLogoutRedirectUris"`
	// LogoutURL is the front-channel logout URL, null when there is none,
	// as Graph has it.
	LogoutURL *string `json:"logoutUrl"`
}

// scopeJSON is Graph's permissionScope. Texts not given are "" rather
// than Graph's null, in requests and responses alike; type "" in a
// request means User.
type scopeJSON struct {
	ID                      string `json:"id"`
	Value                   string `json:"value"`
	Type                    string `json:"type"`
	IsEnabled               bool   `json:"isEnabled"`
	AdminConsentDisplayName string `json:"adminConsentDisplayName"`
	AdminConsentDescription string `json:"adminConsentDescription"`
	UserConsentDisplayName  string `json:"userConsentDisplayName"`
	UserConsentDescription  string `json:"userConsentDescription"`
}

func toScopeJSON(value string, d store.ScopeDetail) scopeJSON {
	kind := string(d.Type)
	if kind == "" {
		kind = string(store.ConsentByUser)
	}
	return scopeJSON{ID: value, Value: value, Type: kind, IsEnabled: true,
		AdminConsentDisplayName: d.AdminConsentDisplayName, AdminConsentDescription: d.AdminConsentDescription,
		UserConsentDisplayName: d.UserConsentDisplayName, UserConsentDescription: d.UserConsentDescription}
}

// fromScopesJSON is a request's scopes as the admin core takes them: the
// values, and what each says of itself (checked there).
func fromScopesJSON(in []scopeJSON) ([]string, map[string]store.ScopeDetail, error) {
	scopes, details := []string{}, map[string]store.ScopeDetail{}
	for _, s := range in {
		if s.ID != "" && s.ID != s.Value {
			return nil, nil, badRequest("oauth2PermissionScopes: a scope's id is its value in Tessera (%q is not %q).", clip(s.ID), clip(s.Value))
		}
		scopes = append(scopes, s.Value)
		details[s.Value] = store.ScopeDetail{Type: store.ScopeConsentType(s.Type),
			AdminConsentDisplayName: s.AdminConsentDisplayName, AdminConsentDescription: s.AdminConsentDescription,
			UserConsentDisplayName: s.UserConsentDisplayName, UserConsentDescription: s.UserConsentDescription}
	}
	return scopes, details, nil
}

type apiJSON struct {
	OAuth2PermissionScopes []scopeJSON `json:"oauth2PermissionScopes"`
}

type appRoleJSON struct {
	ID                 string   `json:"id"`
	Value              string   `json:"value"`
	AllowedMemberTypes []string `json:"allowedMemberTypes"`
	IsEnabled          bool     `json:"isEnabled"`
}

type resourceAccessJSON struct {
	ID   string `json:"id"`
	Type string `json:"type"` // Scope or Role
}

type requiredAccessJSON struct {
	ResourceAppID  string               `json:"resourceAppId"`
	ResourceAccess []resourceAccessJSON `json:"resourceAccess"`
}

type passwordCredentialJSON struct {
	KeyID         string     `json:"keyId"`
	DisplayName   string     `json:"displayName"`
	Hint          string     `json:"hint"`
	SecretText    string     `json:"secretText,omitempty"`
	StartDateTime time.Time  `json:"startDateTime"`
	EndDateTime   *time.Time `json:"endDateTime"`
}

type keyCredentialJSON struct {
	KeyID               string     `json:"keyId"`
	CustomKeyIdentifier string     `json:"customKeyIdentifier"`
	DisplayName         string     `json:"displayName"`
	Type                string     `json:"type"`
	Usage               string     `json:"usage"`
	StartDateTime       time.Time  `json:"startDateTime"`
	EndDateTime         *time.Time `json:"endDateTime"`
}

type tokenLifetimesJSON struct {
	AccessTokenSeconds      int64 `json:"accessTokenSeconds"`
	RefreshTokenSeconds     int64 `json:"refreshTokenSeconds"`
	RefreshTokenIdleSeconds int64 `json:"refreshTokenIdleSeconds"`
}

type applicationJSON struct {
	ID                       string                   `json:"id"`
	AppID                    string                   `json:"appId"`
	DisplayName              string                   `json:"displayName"`
	SignInAudience           string                   `json:"signInAudience"`
	IdentifierURIs           []string                 `json:"identifierUris"`
	IsFallbackPublicClient   bool                     `json:"isFallbackPublicClient"`
	Web                      webJSON                  `json:"web"`
	Spa                      redirectsJSON            `json:"spa"`
	PublicClient             redirectsJSON            `json:"publicClient"`
	API                      apiJSON                  `json:"api"`
	AppRoles                 []appRoleJSON            `json:"appRoles"`
	RequiredResourceAccess   []requiredAccessJSON     `json:"requiredResourceAccess"`
	PasswordCredentials      []passwordCredentialJSON `json:"passwordCredentials"`
	KeyCredentials           []keyCredentialJSON      `json:"keyCredentials"`
	TokenLifetimes           tokenLifetimesJSON       `json:"tokenLifetimes"`
	AllowPlainPKCE           bool                     `json:"allowPlainPkce"`
	LogoutKeepsRefreshTokens bool                     `json:"logoutKeepsRefreshTokens"`
	// AllowPublicClientFlows is the portal's "Allow public client flows"
	// of a confidential app (isFallbackPublicClient says the app's kind).
	AllowPublicClientFlows bool `json:"allowPublicClientFlows"`
	// AppRoleAssignmentRequired and GroupMembershipClaims are Graph's
	// (the latter on the application; the former on its service
	// principal in Graph, which Tessera does not split from it).
	AppRoleAssignmentRequired bool      `json:"appRoleAssignmentRequired"`
	GroupMembershipClaims     string    `json:"groupMembershipClaims"`
	IsBuiltIn                 bool      `json:"isBuiltIn"`
	ServicePrincipalID        string    `json:"servicePrincipalId"`
	CreatedDateTime           time.Time `json:"createdDateTime"`
}

func toApplicationJSON(app store.App, secrets []store.ClientSecret, creds []store.AppCredential) applicationJSON {
	out := applicationJSON{
		ID: app.ClientID, AppID: app.ClientID, DisplayName: app.Name, SignInAudience: audienceMyOrg,
		IdentifierURIs: []string{}, IsFallbackPublicClient: app.Public,
		Web: webJSON{RedirectURIs: []string{}, PostLogoutRedirectURIs: orEmpty(app.PostLogoutRedirectURIs),
			LogoutURL: orNull(app.FrontChannelLogoutURI)},
		Spa:                    redirectsJSON{RedirectURIs: []string{}},
		PublicClient:           redirectsJSON{RedirectURIs: []string{}},
		API:                    apiJSON{OAuth2PermissionScopes: []scopeJSON{}},
		AppRoles:               []appRoleJSON{},
		RequiredResourceAccess: []requiredAccessJSON{},
		PasswordCredentials:    []passwordCredentialJSON{},
		KeyCredentials:         []keyCredentialJSON{},
		TokenLifetimes: tokenLifetimesJSON{int64(app.AccessTokenLifetime.Seconds()), int64(app.RefreshTokenLifetime.Seconds()),
			int64(app.RefreshTokenIdleLifetime.Seconds())},
		AllowPlainPKCE: app.AllowPlainPKCE, LogoutKeepsRefreshTokens: app.LogoutKeepsRefreshTokens, AllowPublicClientFlows: app.AllowPublicClientFlows,
		IsBuiltIn: admin.IsBuiltIn(app), ServicePrincipalID: app.ServicePrincipalID, CreatedDateTime: app.CreatedAt,
		AppRoleAssignmentRequired: app.AppRoleAssignmentRequired, GroupMembershipClaims: string(app.GroupMembershipClaims),
	}
	if out.GroupMembershipClaims == "" {
		out.GroupMembershipClaims = string(store.GroupsNone)
	}
	if app.IdentifierURI != "" {
		out.IdentifierURIs = []string{app.IdentifierURI}
	}
	out.Web.RedirectURIs = orEmpty(app.WebRedirectURIs())
	out.Spa.RedirectURIs = orEmpty(app.SPARedirectURIs)
	out.PublicClient.RedirectURIs = orEmpty(app.MobileRedirectURIs())
	for _, s := range app.Scopes {
		out.API.OAuth2PermissionScopes = append(out.API.OAuth2PermissionScopes, toScopeJSON(s, app.ScopeDetails[s]))
	}
	for _, r := range app.Roles {
		out.AppRoles = append(out.AppRoles, appRoleJSON{ID: r, Value: r, AllowedMemberTypes: []string{"Application"}, IsEnabled: true})
	}
	for _, p := range app.Permissions {
		i := slices.IndexFunc(out.RequiredResourceAccess, func(r requiredAccessJSON) bool { return r.ResourceAppID == p.ResourceID })
		if i < 0 {
			out.RequiredResourceAccess = append(out.RequiredResourceAccess, requiredAccessJSON{ResourceAppID: p.ResourceID, ResourceAccess: []resourceAccessJSON{}})
			i = len(out.RequiredResourceAccess) - 1
		}
		kind := "Scope"
		if p.Kind == store.KindRole {
			kind = "Role"
		}
		out.RequiredResourceAccess[i].ResourceAccess = append(out.RequiredResourceAccess[i].ResourceAccess, resourceAccessJSON{ID: p.Value, Type: kind})
	}
	for _, s := range secrets {
		out.PasswordCredentials = append(out.PasswordCredentials, toPasswordJSON(s, ""))
	}
	for _, c := range creds {
		out.KeyCredentials = append(out.KeyCredentials, toKeyJSON(c))
	}
	return out
}

func toPasswordJSON(s store.ClientSecret, value string) passwordCredentialJSON {
	return passwordCredentialJSON{KeyID: s.ID, DisplayName: s.Description, Hint: s.Hint, SecretText: value,
		StartDateTime: s.CreatedAt, EndDateTime: timeOrNil(s.ExpiresAt)}
}

func toKeyJSON(c store.AppCredential) keyCredentialJSON {
	kind := "AsymmetricX509Cert"
	if c.Kind == store.CredentialJWK {
		kind = "JsonWebKey"
	}
	return keyCredentialJSON{KeyID: c.ID, CustomKeyIdentifier: base64.StdEncoding.EncodeToString(c.SHA256Thumbprint),
		DisplayName: c.Description, Type: kind, Usage: "Verify", StartDateTime: c.CreatedAt, EndDateTime: timeOrNil(c.ExpiresAt)}
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// uris are the redirect URIs of a platform object, nil when absent.
func uris(r *redirectsJSON) []string {
	if r == nil {
		return nil
	}
	return r.RedirectURIs
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// application reads the app {id} of the path, with its secrets and keys.
func (q *request) application() (store.App, applicationJSON, error) {
	app, err := q.admin.App(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return store.App{}, applicationJSON{}, err
	}
	secrets, err := q.admin.Secrets(q.r.Context(), app)
	if err != nil {
		return store.App{}, applicationJSON{}, err
	}
	creds, err := q.admin.Credentials(q.r.Context(), app)
	if err != nil {
		return store.App{}, applicationJSON{}, err
	}
	return app, toApplicationJSON(app, secrets, creds), nil
}

func appETag(app store.App) string { return etag(app.UpdatedAt.UnixMilli()) }

// writeApplication answers with an application and its ETag.
func (q *request) writeApplication(status int, app store.App) error {
	secrets, err := q.admin.Secrets(q.r.Context(), app)
	if err != nil {
		return err
	}
	creds, err := q.admin.Credentials(q.r.Context(), app)
	if err != nil {
		return err
	}
	q.w.Header().Set("ETag", appETag(app))
	writeJSON(q.w, status, toApplicationJSON(app, secrets, creds))
	return nil
}

func (api *API) listApplications(q *request) error {
	p, err := q.page()
	if err != nil {
		return err
	}
	search := strings.ToLower(strings.Trim(q.r.URL.Query().Get("$search"), `"`))
	if len(search) > 200 {
		return badRequest("$search is longer than 200 characters.")
	}
	apps, err := q.admin.Apps(q.r.Context(), q.tenant)
	if err != nil {
		return err
	}
	// Pages follow client ids; a tenant holds thousands of apps at most,
	// which the store returns at once.
	slices.SortFunc(apps, func(a, b store.App) int { return strings.Compare(a.ClientID, b.ClientID) })
	out := listResponse[applicationJSON]{Value: []applicationJSON{}}
	for _, app := range apps {
		if app.ClientID <= p.after || (search != "" && !strings.Contains(strings.ToLower(app.Name), search) && app.ClientID != search) {
			continue
		}
		if len(out.Value) == p.top {
			out.NextLink = q.nextLink(out.Value[len(out.Value)-1].AppID)
			break
		}
		out.Value = append(out.Value, toApplicationJSON(app, nil, nil))
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

type createApplicationJSON struct {
	DisplayName            string         `json:"displayName"`
	SignInAudience         string         `json:"signInAudience"`
	IsFallbackPublicClient *bool          `json:"isFallbackPublicClient"`
	Web                    *redirectsJSON `json:"web"`
	Spa                    *redirectsJSON `json:"spa"`
	PublicClient           *redirectsJSON `json:"publicClient"`
	API                    *patchAPIJSON  `json:"api"`
}

func (api *API) createApplication(q *request) error {
	var in createApplicationJSON
	if err := q.decode(&in); err != nil {
		return err
	}
	if in.SignInAudience != "" && in.SignInAudience != audienceMyOrg {
		return badRequest("signInAudience %q: Tessera apps are for their own tenant, %s.", clip(in.SignInAudience), audienceMyOrg)
	}
	web, spa, native := uris(in.Web), uris(in.Spa), uris(in.PublicClient)
	// Without isFallbackPublicClient, an app with spa or publicClient
	// redirect URIs and no web ones is a public client, as it always was
	// here; with isFallbackPublicClient false it is a confidential client
	// with those platforms besides Web.
	public := in.IsFallbackPublicClient != nil && *in.IsFallbackPublicClient ||
		in.IsFallbackPublicClient == nil && len(web) == 0 && len(spa)+len(native) > 0
	if public && len(web) > 0 {
		return badRequest("A public client (isFallbackPublicClient) has no web redirect URIs, whose codes need a client secret: use spa or publicClient.")
	}
	o := admin.RegisterOptions{Name: in.DisplayName, Public: public, RedirectURIs: web, SPARedirectURIs: spa, NativeRedirectURIs: native}
	if public {
		o.RedirectURIs, o.NativeRedirectURIs = native, nil
	}
	if in.API != nil && in.API.OAuth2PermissionScopes != nil {
		var err error
		if o.Scopes, o.ScopeDetails, err = fromScopesJSON(*in.API.OAuth2PermissionScopes); err != nil {
			return err
		}
	}
	app, err := q.admin.RegisterApp(q.r.Context(), q.tenant, o)
	if err != nil {
		return err
	}
	q.w.Header().Set("Location", q.ep.Base+"/api/v1/applications/"+app.ClientID)
	return q.writeApplication(http.StatusCreated, app)
}

func (api *API) getApplication(q *request) error {
	app, out, err := q.application()
	if err != nil {
		return err
	}
	q.w.Header().Set("ETag", appETag(app))
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

type patchWebJSON struct {
	RedirectURIs           *[]string      `json:"redirectUris"`
	PostLogoutRedirectURIs *[]string      `json:"postLogoutRedirectUris"`
	LogoutURL              nullableString `json:"logoutUrl"`
}

type patchAPIJSON struct {
	OAuth2PermissionScopes *[]scopeJSON `json:"oauth2PermissionScopes"`
}

type patchLifetimesJSON struct {
	AccessTokenSeconds      *int64 `json:"accessTokenSeconds"`
	RefreshTokenSeconds     *int64 `json:"refreshTokenSeconds"`
	RefreshTokenIdleSeconds *int64 `json:"refreshTokenIdleSeconds"`
}

type patchApplicationJSON struct {
	DisplayName               *string               `json:"displayName"`
	IdentifierURIs            *[]string             `json:"identifierUris"`
	Web                       *patchWebJSON         `json:"web"`
	Spa                       *redirectsJSON        `json:"spa"`
	PublicClient              *redirectsJSON        `json:"publicClient"`
	API                       *patchAPIJSON         `json:"api"`
	AppRoles                  *[]appRoleJSON        `json:"appRoles"`
	RequiredResourceAccess    *[]requiredAccessJSON `json:"requiredResourceAccess"`
	TokenLifetimes            *patchLifetimesJSON   `json:"tokenLifetimes"`
	AllowPlainPKCE            *bool                 `json:"allowPlainPkce"`
	LogoutKeepsRefreshTokens  *bool                 `json:"logoutKeepsRefreshTokens"`
	AllowPublicClientFlows    *bool                 `json:"allowPublicClientFlows"`
	AppRoleAssignmentRequired *bool                 `json:"appRoleAssignmentRequired"`
	GroupMembershipClaims     *string               `json:"groupMembershipClaims"`
}

func (api *API) patchApplication(q *request) error {
	var in patchApplicationJSON
	if err := q.decode(&in); err != nil {
		return err
	}
	app, err := q.admin.App(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := q.checkIfMatch(appETag(app)); err != nil {
		return err
	}
	p, err := appPatch(in, app)
	if err != nil {
		return err
	}
	if app, err = q.admin.PatchApp(q.r.Context(), app, p); err != nil {
		return err
	}
	return q.writeApplication(http.StatusOK, app)
}

// appPatch translates a PATCH body into the admin core's change.
func appPatch(in patchApplicationJSON, app store.App) (admin.AppPatch, error) {
	p := admin.AppPatch{Name: in.DisplayName, AllowPlainPKCE: in.AllowPlainPKCE, LogoutKeepsRefreshTokens: in.LogoutKeepsRefreshTokens,
		AllowPublicClientFlows: in.AllowPublicClientFlows, AppRoleAssignmentRequired: in.AppRoleAssignmentRequired,
		GroupMembershipClaims: in.GroupMembershipClaims}
	if in.IdentifierURIs != nil {
		switch uris := *in.IdentifierURIs; len(uris) {
		case 0:
			empty := ""
			p.IdentifierURI = &empty
		case 1:
			p.IdentifierURI = &uris[0]
		default:
			return p, badRequest("identifierUris: a Tessera app has one Application ID URI.")
		}
	}
	if in.Web != nil {
		p.PostLogoutRedirectURIs = in.Web.PostLogoutRedirectURIs
		if in.Web.LogoutURL.set {
			p.FrontChannelLogoutURI = &in.Web.LogoutURL.v
		}
		if web := in.Web.RedirectURIs; web != nil {
			if app.Public && len(*web) > 0 {
				return p, badRequest("This app is a public client: it has no web redirect URIs, whose codes need a client secret; use spa or publicClient.")
			}
			if !app.Public {
				p.RedirectURIs = web
			}
		}
	}
	if in.Spa != nil {
		spa := orEmpty(in.Spa.RedirectURIs)
		p.SPARedirectURIs = &spa
	}
	if in.PublicClient != nil {
		native := orEmpty(in.PublicClient.RedirectURIs)
		if app.Public {
			p.RedirectURIs = &native
		} else {
			p.NativeRedirectURIs = &native
		}
	}
	if in.API != nil && in.API.OAuth2PermissionScopes != nil {
		scopes, details, err := fromScopesJSON(*in.API.OAuth2PermissionScopes)
		if err != nil {
			return p, err
		}
		p.Scopes, p.ScopeDetails = &scopes, &details
	}
	if in.AppRoles != nil {
		roles := []string{}
		for _, r := range *in.AppRoles {
			if r.ID != "" && r.ID != r.Value {
				return p, badRequest("appRoles: a role's id is its value in Tessera (%q is not %q).", clip(r.ID), clip(r.Value))
			}
			roles = append(roles, r.Value)
		}
		p.Roles = &roles
	}
	if in.RequiredResourceAccess != nil {
		perms := []store.Permission{}
		for _, ra := range *in.RequiredResourceAccess {
			for _, acc := range ra.ResourceAccess {
				kind := store.KindScope
				switch acc.Type {
				case "Scope":
				case "Role":
					kind = store.KindRole
				default:
					return p, badRequest("requiredResourceAccess: type %q: use Scope or Role.", clip(acc.Type))
				}
				perms = append(perms, store.Permission{ResourceID: ra.ResourceAppID, Kind: kind, Value: acc.ID})
			}
		}
		p.Permissions = &perms
	}
	if l := in.TokenLifetimes; l != nil {
		for _, f := range []struct {
			v   *int64
			dst **time.Duration
		}{{l.AccessTokenSeconds, &p.AccessTokenLifetime}, {l.RefreshTokenSeconds, &p.RefreshTokenLifetime}, {l.RefreshTokenIdleSeconds, &p.RefreshTokenIdleLifetime}} {
			if f.v == nil {
				continue
			}
			if *f.v < 0 || *f.v > 10*365*24*3600 {
				return p, badRequest("tokenLifetimes: %d seconds is out of range.", *f.v)
			}
			d := time.Duration(*f.v) * time.Second
			*f.dst = &d
		}
	}
	return p, nil
}

func (api *API) deleteApplication(q *request) error {
	app, err := q.admin.App(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := q.checkIfMatch(appETag(app)); err != nil {
		return err
	}
	if err := q.admin.DeleteApp(q.r.Context(), app, app.Name); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

type addPasswordJSON struct {
	PasswordCredential struct {
		DisplayName string     `json:"displayName"`
		EndDateTime *time.Time `json:"endDateTime"`
	} `json:"passwordCredential"`
}

// defaultSecretLifetime is Graph's default for addPassword: two years.
const defaultSecretLifetime = 2 * 365 * 24 * time.Hour

func (api *API) addPassword(q *request) error {
	var in addPasswordJSON
	if err := q.decode(&in); err != nil {
		return err
	}
	app, err := q.admin.App(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	expires := time.Now().UTC().Add(defaultSecretLifetime)
	if in.PasswordCredential.EndDateTime != nil {
		expires = in.PasswordCredential.EndDateTime.UTC()
		if !expires.After(time.Now()) || expires.After(time.Now().AddDate(10, 0, 0)) {
			return badRequest("endDateTime must be in the future, at most ten years ahead.")
		}
	}
	value, secret, err := q.admin.AddSecret(q.r.Context(), app, in.PasswordCredential.DisplayName, expires)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, toPasswordJSON(secret, value))
	return nil
}

type removeKeyJSON struct {
	KeyID string `json:"keyId"`
}

func (api *API) removePassword(q *request) error {
	return q.removeByKeyID(q.admin.RemoveSecret)
}

// removeByKeyID removes a secret or key of the app {id}, named by the
// body's keyId.
func (q *request) removeByKeyID(remove func(ctx context.Context, app store.App, keyID string) error) error {
	var in removeKeyJSON
	if err := q.decode(&in); err != nil {
		return err
	}
	app, err := q.admin.App(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	if in.KeyID == "" {
		return badRequest("keyId is required.")
	}
	if err := remove(q.r.Context(), app, in.KeyID); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

type addKeyJSON struct {
	KeyCredential struct {
		DisplayName string `json:"displayName"`
		Type        string `json:"type"`
		Usage       string `json:"usage"`
		// Key is a certificate, base64 DER as Graph takes it or PEM; or a
		// public JWK as JSON text.
		Key string `json:"key"`
	} `json:"keyCredential"`
}

func (api *API) addKey(q *request) error {
	var in addKeyJSON
	if err := q.decode(&in); err != nil {
		return err
	}
	app, err := q.admin.App(q.r.Context(), q.tenant, q.r.PathValue("id"))
	if err != nil {
		return err
	}
	kc := in.KeyCredential
	if kc.Usage != "" && kc.Usage != "Verify" {
		return badRequest("keyCredential.usage: Tessera keeps keys that verify client assertions (Verify).")
	}
	var data []byte
	switch kc.Type {
	case "AsymmetricX509Cert", "":
		data = []byte(kc.Key)
		if !strings.Contains(kc.Key, "-----BEGIN") {
			der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(kc.Key))
			if err != nil {
				return badRequest("keyCredential.key: give the certificate as base64 DER or PEM.")
			}
			data = pemCertificate(der)
		}
	case "JsonWebKey":
		data = []byte(kc.Key)
	default:
		return badRequest("keyCredential.type %q: use AsymmetricX509Cert or JsonWebKey.", clip(kc.Type))
	}
	c, err := q.admin.AddCredential(q.r.Context(), app, data, kc.DisplayName)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, toKeyJSON(c))
	return nil
}

func (api *API) removeKey(q *request) error {
	return q.removeByKeyID(q.admin.RemoveCredential)
}

// clip shortens what a caller sent before it is echoed in an error.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

func pemCertificate(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
