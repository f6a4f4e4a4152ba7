package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/redirecturi"
	"github.com/tessera-id/tessera/store"
)

// remoteDirectory administers one tenant of a running server through its
// admin API (/{tenant}/api/v1), as whoever the token says: an
// administrator signed in with `tessera login --server`, or an app with
// client credentials from the environment. The server checks every call;
// nothing here decides what the caller may do.
type remoteDirectory struct {
	server string // https://host/{tenant}
	tenant string // the tenant's name, the server URL's last segment
	hc     *http.Client
	token  func(ctx context.Context) (string, error)

	// result holds the API objects the last call produced, which
	// --output json prints as they came: the same objects a script gets
	// from the API.
	result json.RawMessage
}

// apiErrorBody is the admin API's error body, Graph's shape.
type apiErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// call sends one request to the admin API and decodes a JSON answer into
// out (when not nil). It returns the response's ETag.
func (d *remoteDirectory) call(ctx context.Context, method, path string, body any, ifMatch string, out any) (string, error) {
	tok, err := d.token(ctx)
	if err != nil {
		return "", err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return "", err
		}
		rd = bytes.NewReader(b)
	}
	target := d.server + "/api/v1" + path
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return "", fmt.Errorf("admin API request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("admin API at %s: %w", d.server, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return "", fmt.Errorf("admin API at %s: read the answer: %w", d.server, err)
	}
	if resp.StatusCode >= 300 {
		var e apiErrorBody
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			err = fmt.Errorf("%s (%s, HTTP %d)", e.Error.Message, e.Error.Code, resp.StatusCode)
		} else {
			err = fmt.Errorf("the admin API answered %s", resp.Status)
		}
		if resp.StatusCode == http.StatusUnauthorized {
			err = fmt.Errorf("%w\nsign in with `tessera login --server %s`, or set TESSERA_CLIENT_ID and TESSERA_CLIENT_SECRET", err, d.server)
		}
		return "", err
	}
	d.result = nil
	if len(raw) > 0 {
		d.result = raw
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				return "", fmt.Errorf("admin API at %s: unexpected answer to %s %s: %w", d.server, method, path, err)
			}
		}
	}
	return resp.Header.Get("ETag"), nil
}

// list reads every page of a collection, following @odata.nextLink.
func (d *remoteDirectory) list(ctx context.Context, path string, each func(json.RawMessage) error) error {
	var all []json.RawMessage
	next := path
	for next != "" {
		var page struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if _, err := d.call(ctx, http.MethodGet, next, nil, "", &page); err != nil {
			return err
		}
		for _, v := range page.Value {
			if err := each(v); err != nil {
				return fmt.Errorf("admin API at %s: unexpected item of %s: %w", d.server, path, err)
			}
		}
		all = append(all, page.Value...)
		next = ""
		if page.NextLink != "" {
			// Only the cursor is taken from the link: the server builds it
			// from its public URL, which need not be the one this client
			// reaches it at, and the token goes nowhere but --server.
			u, err := url.Parse(page.NextLink)
			if err != nil || !strings.HasSuffix(u.Path, "/api/v1"+strings.SplitN(path, "?", 2)[0]) {
				return fmt.Errorf("admin API at %s: a next page link %q that is not of %s", d.server, page.NextLink, path)
			}
			next = strings.SplitN(path, "?", 2)[0] + "?" + u.RawQuery
		}
	}
	if all == nil {
		all = []json.RawMessage{}
	}
	d.result, _ = json.Marshal(all)
	return nil
}

func (d *remoteDirectory) Tenant(ctx context.Context, idOrName string) (store.Tenant, error) {
	id, err := d.tenantID(ctx)
	if err != nil {
		return store.Tenant{}, err
	}
	if idOrName != "" && !strings.EqualFold(idOrName, d.tenant) && !strings.EqualFold(idOrName, id) {
		return store.Tenant{}, fmt.Errorf("--tenant %s: --server %s administers tenant %s only", idOrName, d.server, d.tenant)
	}
	return store.Tenant{ID: id, Name: d.tenant}, nil
}

// tenantID reads the tenant's id from the token (its tid claim), which
// the server signed for this tenant; it is only shown, never trusted.
func (d *remoteDirectory) tenantID(ctx context.Context) (string, error) {
	tok, err := d.token(ctx)
	if err != nil {
		return "", err
	}
	parts := strings.Split(tok, ".")
	if len(parts) == 3 {
		if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			var claims struct {
				TID string `json:"tid"`
			}
			if json.Unmarshal(b, &claims) == nil && claims.TID != "" {
				return claims.TID, nil
			}
		}
	}
	return d.tenant, nil
}

// Applications.

type apiRedirects struct {
	RedirectURIs []string `json:"redirectUris"`
}

type apiValue struct {
	Value string `json:"value"`
}

type apiPassword struct {
	KeyID         string     `json:"keyId"`
	DisplayName   string     `json:"displayName"`
	Hint          string     `json:"hint"`
	SecretText    string     `json:"secretText"`
	StartDateTime time.Time  `json:"startDateTime"`
	EndDateTime   *time.Time `json:"endDateTime"`
}

type apiKey struct {
	KeyID               string     `json:"keyId"`
	CustomKeyIdentifier string     `json:"customKeyIdentifier"`
	DisplayName         string     `json:"displayName"`
	Type                string     `json:"type"`
	StartDateTime       time.Time  `json:"startDateTime"`
	EndDateTime         *time.Time `json:"endDateTime"`
}

type apiResourceAccess struct {
	ResourceAppID  string `json:"resourceAppId"`
	ResourceAccess []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"resourceAccess"`
}

type apiApplication struct {
	AppID                  string   `json:"appId"`
	DisplayName            string   `json:"displayName"`
	IdentifierURIs         []string `json:"identifierUris"`
	IsFallbackPublicClient bool     `json:"isFallbackPublicClient"`
	Web                    struct {
		RedirectURIs           []string `json:"redirectUris"`
		PostLogoutRedirectURIs []string `json:"postLogoutRedirectUris"`
		LogoutURL              *string  `json:"logoutUrl"`
	} `json:"web"`
	Spa          apiRedirects `json:"spa"`
	PublicClient apiRedirects `json:"publicClient"`
	API          struct {
		// The scopes and roles stay as the server sent them, so a
		// change sends back what this client does not know of unchanged.
		OAuth2PermissionScopes []json.RawMessage `json:"oauth2PermissionScopes"`
	} `json:"api"`
	AppRoles               []json.RawMessage   `json:"appRoles"`
	RequiredResourceAccess []apiResourceAccess `json:"requiredResourceAccess"`
	PasswordCredentials    []apiPassword       `json:"passwordCredentials"`
	KeyCredentials         []apiKey            `json:"keyCredentials"`
	TokenLifetimes         struct {
		AccessTokenSeconds      int64 `json:"accessTokenSeconds"`
		RefreshTokenSeconds     int64 `json:"refreshTokenSeconds"`
		RefreshTokenIdleSeconds int64 `json:"refreshTokenIdleSeconds"`
	} `json:"tokenLifetimes"`
	AllowPlainPKCE           bool      `json:"allowPlainPkce"`
	LogoutKeepsRefreshTokens bool      `json:"logoutKeepsRefreshTokens"`
	AllowPublicClientFlows   bool      `json:"allowPublicClientFlows"`
	AssignmentRequired       bool      `json:"appRoleAssignmentRequired"`
	GroupMembershipClaims    string    `json:"groupMembershipClaims"`
	ServicePrincipalID       string    `json:"servicePrincipalId"`
	CreatedDateTime          time.Time `json:"createdDateTime"`
}

func values(raw []json.RawMessage) []string {
	out := []string{}
	for _, r := range raw {
		var v apiValue
		if json.Unmarshal(r, &v) == nil {
			out = append(out, v.Value)
		}
	}
	return out
}

func (a apiApplication) app(tenantID string) store.App {
	out := store.App{
		TenantID: tenantID, ClientID: a.AppID, Name: a.DisplayName, Public: a.IsFallbackPublicClient,
		Scopes: values(a.API.OAuth2PermissionScopes), Roles: values(a.AppRoles), ServicePrincipalID: a.ServicePrincipalID,
		AllowPlainPKCE: a.AllowPlainPKCE, PostLogoutRedirectURIs: a.Web.PostLogoutRedirectURIs,
		LogoutKeepsRefreshTokens: a.LogoutKeepsRefreshTokens, AllowPublicClientFlows: a.AllowPublicClientFlows,
		AccessTokenLifetime:       time.Duration(a.TokenLifetimes.AccessTokenSeconds) * time.Second,
		RefreshTokenLifetime:      time.Duration(a.TokenLifetimes.RefreshTokenSeconds) * time.Second,
		RefreshTokenIdleLifetime:  time.Duration(a.TokenLifetimes.RefreshTokenIdleSeconds) * time.Second,
		CreatedAt:                 a.CreatedDateTime,
		AppRoleAssignmentRequired: a.AssignmentRequired,
	}
	if g, err := admin.ParseGroupClaims(a.GroupMembershipClaims); err == nil {
		out.GroupMembershipClaims = g
	}
	if a.Web.LogoutURL != nil {
		out.FrontChannelLogoutURI = *a.Web.LogoutURL
	}
	if len(a.IdentifierURIs) > 0 {
		out.IdentifierURI = a.IdentifierURIs[0]
	}
	out.SPARedirectURIs = a.Spa.RedirectURIs
	if a.IsFallbackPublicClient {
		out.RedirectURIs = a.PublicClient.RedirectURIs
	} else {
		out.RedirectURIs, out.NativeRedirectURIs = a.Web.RedirectURIs, a.PublicClient.RedirectURIs
	}
	for _, ra := range a.RequiredResourceAccess {
		for _, acc := range ra.ResourceAccess {
			kind := store.KindScope
			if acc.Type == "Role" {
				kind = store.KindRole
			}
			out.Permissions = append(out.Permissions, store.Permission{ResourceID: ra.ResourceAppID, Kind: kind, Value: acc.ID})
		}
	}
	return out
}

func (p apiPassword) secret() store.ClientSecret {
	s := store.ClientSecret{ID: p.KeyID, Description: p.DisplayName, Hint: p.Hint, CreatedAt: p.StartDateTime}
	if p.EndDateTime != nil {
		s.ExpiresAt = *p.EndDateTime
	}
	return s
}

func (k apiKey) credential() store.AppCredential {
	c := store.AppCredential{ID: k.KeyID, Kind: store.CredentialCertificate, Description: k.DisplayName, CreatedAt: k.StartDateTime}
	if k.Type == "JsonWebKey" {
		c.Kind = store.CredentialJWK
	}
	if k.EndDateTime != nil {
		c.ExpiresAt = *k.EndDateTime
	}
	c.SHA256Thumbprint, _ = base64.StdEncoding.DecodeString(k.CustomKeyIdentifier)
	return c
}

func appPath(idOrURI string) string { return "/applications/" + url.PathEscape(idOrURI) }

// application reads an app as the API has it now, with its ETag. The
// API addresses apps by client id only; an App ID URI is looked up in the
// list first.
func (d *remoteDirectory) application(ctx context.Context, idOrURI string) (apiApplication, string, error) {
	if strings.Contains(idOrURI, ":") {
		var id string
		err := d.list(ctx, "/applications?$top=999", func(raw json.RawMessage) error {
			var a apiApplication
			err := json.Unmarshal(raw, &a)
			if slices.Contains(a.IdentifierURIs, idOrURI) {
				id = a.AppID
			}
			return err
		})
		if err != nil {
			return apiApplication{}, "", err
		}
		if id == "" {
			return apiApplication{}, "", fmt.Errorf("no application with the App ID URI %s", idOrURI)
		}
		idOrURI = id
	}
	var a apiApplication
	etag, err := d.call(ctx, http.MethodGet, appPath(idOrURI), nil, "", &a)
	return a, etag, err
}

func (d *remoteDirectory) FindApp(ctx context.Context, idOrURI string) (store.App, error) {
	return d.App(ctx, store.Tenant{}, idOrURI)
}

func (d *remoteDirectory) App(ctx context.Context, _ store.Tenant, idOrURI string) (store.App, error) {
	a, _, err := d.application(ctx, idOrURI)
	if err != nil {
		return store.App{}, err
	}
	id, err := d.tenantID(ctx)
	return a.app(id), err
}

func (d *remoteDirectory) Apps(ctx context.Context, t store.Tenant) ([]store.App, error) {
	var out []store.App
	err := d.list(ctx, "/applications?$top=999", func(raw json.RawMessage) error {
		var a apiApplication
		if err := json.Unmarshal(raw, &a); err != nil {
			return err
		}
		out = append(out, a.app(t.ID))
		return nil
	})
	return out, err
}

func (d *remoteDirectory) RegisterApp(ctx context.Context, t store.Tenant, o admin.RegisterOptions) (store.App, error) {
	body := map[string]any{"displayName": o.Name, "isFallbackPublicClient": o.Public}
	if o.Public {
		body["publicClient"] = apiRedirects{RedirectURIs: nonNil(o.RedirectURIs)}
	} else {
		body["web"] = apiRedirects{RedirectURIs: nonNil(o.RedirectURIs)}
	}
	var a apiApplication
	if _, err := d.call(ctx, http.MethodPost, "/applications", body, "", &a); err != nil {
		return store.App{}, err
	}
	return a.app(t.ID), nil
}

// patchApp reads the app, lets change build a PATCH body from what it
// holds now, and sends it only if the app is still as read: a change made
// meanwhile by someone else fails (412) rather than being overwritten.
func (d *remoteDirectory) patchApp(ctx context.Context, app store.App, change func(now apiApplication) (map[string]any, error)) (store.App, error) {
	now, etag, err := d.application(ctx, app.ClientID)
	if err != nil {
		return store.App{}, err
	}
	body, err := change(now)
	if err != nil {
		return store.App{}, err
	}
	var a apiApplication
	if _, err := d.call(ctx, http.MethodPatch, appPath(app.ClientID), body, etag, &a); err != nil {
		return store.App{}, err
	}
	return a.app(app.TenantID), nil
}

func (d *remoteDirectory) Set(ctx context.Context, app store.App, s admin.AppSettings) (store.App, error) {
	return d.patchApp(ctx, app, func(now apiApplication) (map[string]any, error) {
		body := map[string]any{}
		if s.Name != nil {
			body["displayName"] = *s.Name
		}
		lifetimes := map[string]int64{}
		for key, lifetime := range map[string]*time.Duration{"accessTokenSeconds": s.AccessTokenLifetime,
			"refreshTokenSeconds": s.RefreshTokenLifetime, "refreshTokenIdleSeconds": s.RefreshTokenIdleLifetime} {
			if lifetime != nil {
				lifetimes[key] = int64(lifetime.Seconds())
			}
		}
		if len(lifetimes) > 0 {
			body["tokenLifetimes"] = lifetimes
		}
		if s.AllowPlainPKCE != nil {
			body["allowPlainPkce"] = *s.AllowPlainPKCE
		}
		if s.LogoutKeepsRefreshTokens != nil {
			body["logoutKeepsRefreshTokens"] = *s.LogoutKeepsRefreshTokens
		}
		if s.AllowPublicClientFlows != nil {
			body["allowPublicClientFlows"] = *s.AllowPublicClientFlows
		}
		if s.AppRoleAssignmentRequired != nil {
			body["appRoleAssignmentRequired"] = *s.AppRoleAssignmentRequired
		}
		if s.GroupMembershipClaims != nil {
			body["groupMembershipClaims"] = *s.GroupMembershipClaims
		}
		web := map[string]any{}
		if len(s.PostLogoutRedirectURIs) > 0 {
			web["postLogoutRedirectUris"] = union(now.Web.PostLogoutRedirectURIs, s.PostLogoutRedirectURIs)
		}
		if s.FrontChannelLogoutURI != nil {
			web["logoutUrl"] = *s.FrontChannelLogoutURI
		}
		if len(web) > 0 {
			body["web"] = web
		}
		return body, nil
	})
}

func union(have, add []string) []string {
	out := slices.Clone(nonNil(have))
	for _, v := range add {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// platformBody is a PATCH of one platform's redirect URIs to uris.
func platformBody(p admin.Platform, uris []string) map[string]any {
	list := map[string]any{"redirectUris": nonNil(uris)}
	switch p {
	case admin.PlatformSPA:
		return map[string]any{"spa": list}
	case admin.PlatformMobile:
		return map[string]any{"publicClient": list}
	}
	return map[string]any{"web": list}
}

func (d *remoteDirectory) AddRedirectURIs(ctx context.Context, app store.App, uris []string) (store.App, error) {
	return d.AddPlatformRedirectURIs(ctx, app, admin.PrimaryPlatform(app), uris)
}

func (d *remoteDirectory) AddPlatformRedirectURIs(ctx context.Context, app store.App, p admin.Platform, uris []string) (store.App, error) {
	return d.patchApp(ctx, app, func(now apiApplication) (map[string]any, error) {
		return platformBody(p, union(admin.PlatformRedirectURIs(now.app(""), p), uris)), nil
	})
}

func (d *remoteDirectory) RemoveRedirectURIs(ctx context.Context, app store.App, uris []string) (store.App, error) {
	return d.patchApp(ctx, app, func(now apiApplication) (map[string]any, error) {
		current := now.app("")
		body := map[string]any{}
		for _, u := range uris {
			found := false
			for _, p := range []admin.Platform{admin.PlatformWeb, admin.PlatformSPA, admin.PlatformMobile} {
				if have := admin.PlatformRedirectURIs(current, p); slices.Contains(have, u) {
					kept := slices.DeleteFunc(slices.Clone(have), func(v string) bool { return slices.Contains(uris, v) })
					for k, v := range platformBody(p, kept) {
						body[k] = v
					}
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("%s is not a redirect URI of %s", u, now.DisplayName)
			}
		}
		return body, nil
	})
}

func (d *remoteDirectory) Expose(ctx context.Context, app store.App, appIDURI string, scopes, roles []string) (store.App, error) {
	return d.patchApp(ctx, app, func(now apiApplication) (map[string]any, error) {
		body := map[string]any{}
		if strings.TrimSpace(appIDURI) != "" {
			body["identifierUris"] = []string{appIDURI}
		}
		if len(scopes) > 0 {
			all := slices.Clone(now.API.OAuth2PermissionScopes)
			for _, s := range scopes {
				b, _ := json.Marshal(map[string]any{"id": s, "value": s, "type": "User", "isEnabled": true})
				all = append(all, b)
			}
			body["api"] = map[string]any{"oauth2PermissionScopes": all}
		}
		if len(roles) > 0 {
			all := slices.Clone(now.AppRoles)
			for _, r := range roles {
				b, _ := json.Marshal(map[string]any{"id": r, "value": r, "allowedMemberTypes": []string{"Application"}, "isEnabled": true})
				all = append(all, b)
			}
			body["appRoles"] = all
		}
		return body, nil
	})
}

// ExposeScope adds the scope value or replaces what it says, keeping the
// other scopes as the server sent them.
func (d *remoteDirectory) ExposeScope(ctx context.Context, app store.App, value string, detail store.ScopeDetail) (store.App, error) {
	return d.patchApp(ctx, app, func(now apiApplication) (map[string]any, error) {
		kind := string(detail.Type)
		if kind == "" {
			kind = string(store.ConsentByUser)
		}
		b, err := json.Marshal(map[string]any{"id": value, "value": value, "type": kind, "isEnabled": true,
			"adminConsentDisplayName": detail.AdminConsentDisplayName, "adminConsentDescription": detail.AdminConsentDescription,
			"userConsentDisplayName": detail.UserConsentDisplayName, "userConsentDescription": detail.UserConsentDescription})
		if err != nil {
			return nil, err
		}
		all := slices.Clone(now.API.OAuth2PermissionScopes)
		i := slices.Index(values(all), value)
		if i >= 0 {
			all[i] = b
		} else {
			all = append(all, b)
		}
		return map[string]any{"api": map[string]any{"oauth2PermissionScopes": all}}, nil
	})
}

// Unexpose removes scopes and roles, keeping the others as the server
// sent them.
func (d *remoteDirectory) Unexpose(ctx context.Context, app store.App, scopes, roles []string) (store.App, error) {
	if len(scopes) == 0 && len(roles) == 0 {
		return store.App{}, errors.New("name at least one --scope or --role")
	}
	return d.patchApp(ctx, app, func(now apiApplication) (map[string]any, error) {
		body := map[string]any{}
		for _, c := range []struct {
			what string
			have []json.RawMessage
			drop []string
			set  func([]json.RawMessage)
		}{
			{"scope", now.API.OAuth2PermissionScopes, scopes, func(l []json.RawMessage) { body["api"] = map[string]any{"oauth2PermissionScopes": l} }},
			{"app role", now.AppRoles, roles, func(l []json.RawMessage) { body["appRoles"] = l }},
		} {
			if len(c.drop) == 0 {
				continue
			}
			names := values(c.have)
			for _, v := range c.drop {
				if !slices.Contains(names, v) {
					return nil, fmt.Errorf("%s exposes no %s %q", now.DisplayName, c.what, v)
				}
			}
			kept := []json.RawMessage{}
			for i, raw := range c.have {
				if !slices.Contains(c.drop, names[i]) {
					kept = append(kept, raw)
				}
			}
			c.set(kept)
		}
		return body, nil
	})
}

// RemovePostLogoutRedirectURIs unregisters post-logout redirect URIs.
func (d *remoteDirectory) RemovePostLogoutRedirectURIs(ctx context.Context, app store.App, uris []string) (store.App, error) {
	return d.patchApp(ctx, app, func(now apiApplication) (map[string]any, error) {
		for _, u := range uris {
			if !slices.Contains(now.Web.PostLogoutRedirectURIs, u) {
				return nil, fmt.Errorf("%s is not a post-logout redirect URI of %s", u, now.DisplayName)
			}
		}
		kept := slices.DeleteFunc(slices.Clone(nonNil(now.Web.PostLogoutRedirectURIs)), func(v string) bool { return slices.Contains(uris, v) })
		return map[string]any{"web": map[string]any{"postLogoutRedirectUris": kept}}, nil
	})
}

// permissionsBody is a PATCH of requiredResourceAccess to perms.
func permissionsBody(perms []store.Permission) map[string]any {
	type access struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	type resource struct {
		ResourceAppID  string   `json:"resourceAppId"`
		ResourceAccess []access `json:"resourceAccess"`
	}
	out := []resource{}
	for _, p := range perms {
		i := slices.IndexFunc(out, func(r resource) bool { return r.ResourceAppID == p.ResourceID })
		if i < 0 {
			out = append(out, resource{ResourceAppID: p.ResourceID})
			i = len(out) - 1
		}
		kind := "Scope"
		if p.Kind == store.KindRole {
			kind = "Role"
		}
		out[i].ResourceAccess = append(out[i].ResourceAccess, access{ID: p.Value, Type: kind})
	}
	return map[string]any{"requiredResourceAccess": out}
}

// wanted lists the permissions of resource that scopes and roles name.
func wanted(resource string, scopes, roles []string) []store.Permission {
	var out []store.Permission
	for _, s := range scopes {
		out = append(out, store.Permission{ResourceID: resource, Kind: store.KindScope, Value: s})
	}
	for _, r := range roles {
		out = append(out, store.Permission{ResourceID: resource, Kind: store.KindRole, Value: r})
	}
	return out
}

func (d *remoteDirectory) AddPermission(ctx context.Context, client store.App, resourceIDOrURI string, scopes, roles []string) (store.App, error) {
	if len(scopes) == 0 && len(roles) == 0 {
		return store.App{}, errors.New("name at least one --scope or --role")
	}
	resource, _, err := d.application(ctx, resourceIDOrURI)
	if err != nil {
		return store.App{}, err
	}
	return d.patchApp(ctx, client, func(now apiApplication) (map[string]any, error) {
		perms := now.app("").Permissions
		for _, p := range wanted(resource.AppID, scopes, roles) {
			if !slices.Contains(perms, p) {
				perms = append(perms, p)
			}
		}
		return permissionsBody(perms), nil
	})
}

func (d *remoteDirectory) RemovePermission(ctx context.Context, client store.App, resourceIDOrURI string, scopes, roles []string) (store.App, error) {
	if len(scopes) == 0 && len(roles) == 0 {
		return store.App{}, errors.New("name at least one --scope or --role")
	}
	resource, _, err := d.application(ctx, resourceIDOrURI)
	if err != nil {
		return store.App{}, err
	}
	return d.patchApp(ctx, client, func(now apiApplication) (map[string]any, error) {
		perms := now.app("").Permissions
		for _, p := range wanted(resource.AppID, scopes, roles) {
			if !slices.Contains(perms, p) {
				return nil, fmt.Errorf("%s is not configured to need %s %s of %s", now.DisplayName, p.Kind, p.Value, resource.DisplayName)
			}
		}
		remove := wanted(resource.AppID, scopes, roles)
		return permissionsBody(slices.DeleteFunc(perms, func(p store.Permission) bool { return slices.Contains(remove, p) })), nil
	})
}

func (d *remoteDirectory) DeleteApp(ctx context.Context, app store.App, _ string) error {
	_, err := d.call(ctx, http.MethodDelete, appPath(app.ClientID), nil, "", nil)
	return err
}

type apiGrant struct {
	ID          string `json:"id"`
	ClientID    string `json:"clientId"`
	ConsentType string `json:"consentType"`
	PrincipalID string `json:"principalId"`
	ResourceID  string `json:"resourceId"`
	Scope       string `json:"scope"`
}

type apiAssignment struct {
	ID         string `json:"id"`
	AppRoleID  string `json:"appRoleId"`
	ResourceID string `json:"resourceId"`
}

func (d *remoteDirectory) GrantAdminConsent(ctx context.Context, client store.App) ([]store.Consent, error) {
	var out struct {
		OAuth2PermissionGrants []apiGrant      `json:"oauth2PermissionGrants"`
		AppRoleAssignments     []apiAssignment `json:"appRoleAssignments"`
	}
	if _, err := d.call(ctx, http.MethodPost, appPath(client.ClientID)+"/grantAdminConsent", map[string]any{}, "", &out); err != nil {
		return nil, err
	}
	var rows []store.Consent
	for _, g := range out.OAuth2PermissionGrants {
		for _, s := range strings.Fields(g.Scope) {
			rows = append(rows, store.Consent{TenantID: client.TenantID, ClientID: client.ClientID, ResourceID: g.ResourceID, Kind: store.KindScope, Value: s})
		}
	}
	for _, a := range out.AppRoleAssignments {
		rows = append(rows, store.Consent{TenantID: client.TenantID, ClientID: client.ClientID, ResourceID: a.ResourceID, Kind: store.KindRole, Value: a.AppRoleID})
	}
	return rows, nil
}

// AllConsents lists every grant to client, each user's and the
// tenant-wide ones: the delegated grants and the app role assignments,
// which --output json prints together as the API has them.
func (d *remoteDirectory) AllConsents(ctx context.Context, client store.App) ([]store.Consent, error) {
	var rows []store.Consent
	var grants, assignments json.RawMessage
	err := d.list(ctx, "/oauth2PermissionGrants?"+url.Values{"clientId": {client.ClientID}}.Encode(), func(raw json.RawMessage) error {
		var g apiGrant
		err := json.Unmarshal(raw, &g)
		for _, s := range strings.Fields(g.Scope) {
			rows = append(rows, store.Consent{TenantID: client.TenantID, ClientID: client.ClientID, PrincipalID: g.PrincipalID,
				ResourceID: g.ResourceID, Kind: store.KindScope, Value: s})
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	grants = d.result
	err = d.list(ctx, appPath(client.ClientID)+"/appRoleAssignments", func(raw json.RawMessage) error {
		var a apiAssignment
		err := json.Unmarshal(raw, &a)
		rows = append(rows, store.Consent{TenantID: client.TenantID, ClientID: client.ClientID, ResourceID: a.ResourceID,
			Kind: store.KindRole, Value: a.AppRoleID})
		return err
	})
	if err != nil {
		return nil, err
	}
	assignments = d.result
	d.result, _ = json.Marshal(map[string]json.RawMessage{"oauth2PermissionGrants": grants, "appRoleAssignments": assignments})
	return rows, nil
}

// RevokeConsent removes a user's delegated grants to client (ending the
// client's refresh tokens for them), or with no user the tenant-wide
// grants and app role assignments.
func (d *remoteDirectory) RevokeConsent(ctx context.Context, client store.App, userID string) error {
	q := url.Values{"clientId": {client.ClientID}}
	if userID != "" {
		q.Set("principalId", userID)
	}
	var grants []apiGrant
	if err := d.list(ctx, "/oauth2PermissionGrants?"+q.Encode(), func(raw json.RawMessage) error {
		var g apiGrant
		err := json.Unmarshal(raw, &g)
		if g.PrincipalID == userID {
			grants = append(grants, g)
		}
		return err
	}); err != nil {
		return err
	}
	var assignments []apiAssignment
	if userID == "" {
		if err := d.list(ctx, appPath(client.ClientID)+"/appRoleAssignments", func(raw json.RawMessage) error {
			var a apiAssignment
			err := json.Unmarshal(raw, &a)
			assignments = append(assignments, a)
			return err
		}); err != nil {
			return err
		}
	}
	for _, g := range grants {
		if _, err := d.call(ctx, http.MethodDelete, "/oauth2PermissionGrants/"+url.PathEscape(g.ID), nil, "", nil); err != nil {
			return err
		}
	}
	for _, a := range assignments {
		if _, err := d.call(ctx, http.MethodDelete, appPath(client.ClientID)+"/appRoleAssignments/"+url.PathEscape(a.ID), nil, "", nil); err != nil {
			return err
		}
	}
	d.result = nil
	return nil
}

func (d *remoteDirectory) AddSecret(ctx context.Context, app store.App, description string, expires time.Time) (string, store.ClientSecret, error) {
	body := map[string]any{"passwordCredential": map[string]any{"displayName": description, "endDateTime": expires.UTC()}}
	var p apiPassword
	if _, err := d.call(ctx, http.MethodPost, appPath(app.ClientID)+"/addPassword", body, "", &p); err != nil {
		return "", store.ClientSecret{}, err
	}
	s := p.secret()
	s.TenantID, s.ClientID = app.TenantID, app.ClientID
	return p.SecretText, s, nil
}

func (d *remoteDirectory) Secrets(ctx context.Context, app store.App) ([]store.ClientSecret, error) {
	a, _, err := d.application(ctx, app.ClientID)
	if err != nil {
		return nil, err
	}
	out := []store.ClientSecret{}
	for _, p := range a.PasswordCredentials {
		out = append(out, p.secret())
	}
	d.keepField("passwordCredentials")
	return out, nil
}

// keepField narrows the result to one field of the object the last call
// answered, as the server sent it.
func (d *remoteDirectory) keepField(name string) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(d.result, &fields) == nil && fields[name] != nil {
		d.result = fields[name]
	}
}

func (d *remoteDirectory) RemoveSecret(ctx context.Context, app store.App, secretID string) error {
	_, err := d.call(ctx, http.MethodPost, appPath(app.ClientID)+"/removePassword", map[string]string{"keyId": secretID}, "", nil)
	return err
}

func (d *remoteDirectory) AddCredential(ctx context.Context, app store.App, data []byte, description string) (store.AppCredential, error) {
	kind := "AsymmetricX509Cert"
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		kind = "JsonWebKey"
	}
	body := map[string]any{"keyCredential": map[string]string{"type": kind, "usage": "Verify", "key": string(data), "displayName": description}}
	var k apiKey
	if _, err := d.call(ctx, http.MethodPost, appPath(app.ClientID)+"/addKey", body, "", &k); err != nil {
		return store.AppCredential{}, err
	}
	return k.credential(), nil
}

func (d *remoteDirectory) Credentials(ctx context.Context, app store.App) ([]store.AppCredential, error) {
	a, _, err := d.application(ctx, app.ClientID)
	if err != nil {
		return nil, err
	}
	out := []store.AppCredential{}
	for _, k := range a.KeyCredentials {
		out = append(out, k.credential())
	}
	d.keepField("keyCredentials")
	return out, nil
}

func (d *remoteDirectory) RemoveCredential(ctx context.Context, app store.App, id string) error {
	_, err := d.call(ctx, http.MethodPost, appPath(app.ClientID)+"/removeKey", map[string]string{"keyId": id}, "", nil)
	return err
}

// Users.

type apiUser struct {
	ID                string    `json:"id"`
	UserPrincipalName string    `json:"userPrincipalName"`
	DisplayName       string    `json:"displayName"`
	Mail              *string   `json:"mail"`
	AccountEnabled    bool      `json:"accountEnabled"`
	CreatedDateTime   time.Time `json:"createdDateTime"`
	PasswordProfile   *struct {
		Password string `json:"password"`
	} `json:"passwordProfile"`
}

func (u apiUser) user(tenantID string) store.User {
	out := store.User{ID: u.ID, TenantID: tenantID, Username: u.UserPrincipalName, Name: u.DisplayName, Disabled: !u.AccountEnabled,
		CreatedAt: u.CreatedDateTime}
	if u.Mail != nil {
		out.Email = *u.Mail
	}
	return out
}

func userPath(idOrUsername string) string { return "/users/" + url.PathEscape(idOrUsername) }

func (d *remoteDirectory) User(ctx context.Context, t store.Tenant, idOrUsername string) (store.User, error) {
	var u apiUser
	if _, err := d.call(ctx, http.MethodGet, userPath(idOrUsername), nil, "", &u); err != nil {
		return store.User{}, err
	}
	return u.user(t.ID), nil
}

func (d *remoteDirectory) Users(ctx context.Context, t store.Tenant) ([]store.User, error) {
	var out []store.User
	err := d.list(ctx, "/users?$top=999", func(raw json.RawMessage) error {
		var u apiUser
		err := json.Unmarshal(raw, &u)
		out = append(out, u.user(t.ID))
		return err
	})
	return out, err
}

func (d *remoteDirectory) CreateUser(ctx context.Context, t store.Tenant, o admin.UserOptions) (store.User, string, error) {
	body := map[string]any{"userPrincipalName": o.Username, "displayName": o.Name, "mail": o.Email}
	if o.Password != "" {
		body["passwordProfile"] = map[string]string{"password": o.Password}
	}
	var u apiUser
	if _, err := d.call(ctx, http.MethodPost, "/users", body, "", &u); err != nil {
		return store.User{}, "", err
	}
	generated := ""
	if u.PasswordProfile != nil {
		generated = u.PasswordProfile.Password
	}
	return u.user(t.ID), generated, nil
}

func (d *remoteDirectory) patchUser(ctx context.Context, u store.User, body map[string]any) (store.User, error) {
	var out apiUser
	if _, err := d.call(ctx, http.MethodPatch, userPath(u.ID), body, "", &out); err != nil {
		return store.User{}, err
	}
	return out.user(u.TenantID), nil
}

func (d *remoteDirectory) SetDisabled(ctx context.Context, u store.User, disabled bool) (store.User, error) {
	return d.patchUser(ctx, u, map[string]any{"accountEnabled": !disabled})
}

func (d *remoteDirectory) SetPassword(ctx context.Context, u store.User, pw string) (store.User, error) {
	return d.patchUser(ctx, u, map[string]any{"passwordProfile": map[string]string{"password": pw}})
}

func (d *remoteDirectory) DeleteUser(ctx context.Context, u store.User) error {
	_, err := d.call(ctx, http.MethodDelete, userPath(u.ID), nil, "", nil)
	return err
}

func (d *remoteDirectory) RevokeSessions(ctx context.Context, u store.User) error {
	_, err := d.call(ctx, http.MethodPost, userPath(u.ID)+"/revokeSignInSessions", map[string]any{}, "", nil)
	return err
}

func (d *remoteDirectory) AssignRole(ctx context.Context, u store.User, roleName string) (admin.DirectoryRole, error) {
	r, ok := admin.FindDirectoryRole(roleName)
	if !ok {
		return admin.DirectoryRole{}, fmt.Errorf("no directory role %q", roleName)
	}
	ref := map[string]string{"@odata.id": d.server + "/api/v1/users/" + u.ID}
	_, err := d.call(ctx, http.MethodPost, "/directoryRoles/"+r.TemplateID+"/members/$ref", ref, "", nil)
	return r, err
}

func (d *remoteDirectory) UnassignRole(ctx context.Context, u store.User, roleName string) (admin.DirectoryRole, error) {
	r, ok := admin.FindDirectoryRole(roleName)
	if !ok {
		return admin.DirectoryRole{}, fmt.Errorf("no directory role %q", roleName)
	}
	_, err := d.call(ctx, http.MethodDelete, "/directoryRoles/"+r.TemplateID+"/members/"+url.PathEscape(u.ID)+"/$ref", nil, "", nil)
	return r, err
}

// Keys and logs.

func (d *remoteDirectory) RotateKeys(ctx context.Context, _ store.Tenant, keep time.Duration) error {
	if keep != admin.DefaultKeepRetired {
		return fmt.Errorf("--keep-retired: the admin API keeps a retired key %s; other lengths need the store", admin.DefaultKeepRetired)
	}
	_, err := d.call(ctx, http.MethodPost, "/signingKeys/rotate", map[string]any{}, "", nil)
	return err
}

type apiAudit struct {
	ID                  string    `json:"id"`
	Category            string    `json:"category"`
	ActivityDisplayName string    `json:"activityDisplayName"`
	ActivityDateTime    time.Time `json:"activityDateTime"`
	Result              string    `json:"result"`
	ResultReason        string    `json:"resultReason"`
	InitiatedBy         struct {
		User *apiActor `json:"user"`
		App  *apiActor `json:"app"`
	} `json:"initiatedBy"`
	TargetResources []struct {
		ID                 string `json:"id"`
		DisplayName        string `json:"displayName"`
		Type               string `json:"type"`
		ModifiedProperties []struct {
			DisplayName string `json:"displayName"`
			OldValue    string `json:"oldValue"`
			NewValue    string `json:"newValue"`
		} `json:"modifiedProperties"`
	} `json:"targetResources"`
}

type apiActor struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
	IPAddress         string `json:"ipAddress"`
}

func (a apiAudit) entry() store.AuditEntry {
	e := store.AuditEntry{ID: a.ID, Time: a.ActivityDateTime, Category: a.Category, Activity: a.ActivityDisplayName,
		Result: a.Result, Reason: a.ResultReason}
	actor, kind := a.InitiatedBy.User, admin.ActorUser
	if actor == nil {
		actor, kind = a.InitiatedBy.App, admin.ActorApp
	}
	if actor != nil {
		e.ActorType, e.ActorID, e.ActorName, e.ActorAddress = kind, actor.ID, actor.DisplayName, actor.IPAddress
	}
	if len(a.TargetResources) > 0 {
		t := a.TargetResources[0]
		e.TargetType, e.TargetID, e.TargetName = strings.ToLower(t.Type), t.ID, t.DisplayName
		for _, m := range t.ModifiedProperties {
			e.Changes = append(e.Changes, store.AuditChange{Property: m.DisplayName, Old: m.OldValue, New: m.NewValue})
		}
	}
	return e
}

type apiSignIn struct {
	ID                string    `json:"id"`
	CreatedDateTime   time.Time `json:"createdDateTime"`
	UserID            string    `json:"userId"`
	UserPrincipalName string    `json:"userPrincipalName"`
	AppID             string    `json:"appId"`
	AppDisplayName    string    `json:"appDisplayName"`
	IPAddress         string    `json:"ipAddress"`
	Status            struct {
		ErrorCode     int    `json:"errorCode"`
		FailureReason string `json:"failureReason"`
	} `json:"status"`
}

func (s apiSignIn) entry() store.AuditEntry {
	e := store.AuditEntry{ID: s.ID, Time: s.CreatedDateTime, Activity: "Sign-in activity", Result: store.AuditSuccess,
		ActorType: admin.ActorUser, ActorID: s.UserID, ActorName: s.UserPrincipalName, ActorAddress: s.IPAddress,
		TargetType: "application", TargetID: s.AppID, TargetName: s.AppDisplayName}
	if s.Status.ErrorCode != 0 {
		e.Result, e.Reason = store.AuditFailure, s.Status.FailureReason
	}
	return e
}

func (d *remoteDirectory) AuditLog(ctx context.Context, _ store.Tenant, q store.AuditQuery) ([]store.AuditEntry, error) {
	path := "/auditLogs/directoryAudits"
	if q.Kind == store.AuditSignIn {
		path = "/auditLogs/signIns"
	}
	v := url.Values{"$top": {strconv.Itoa(q.Limit)}}
	for key, val := range map[string]string{"activity": q.Activity, "actor": q.ActorID, "target": q.TargetID, "result": q.Result, "category": q.Category} {
		if val != "" {
			v.Set(key, val)
		}
	}
	// One page: --limit is at most one page's size.
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	if _, err := d.call(ctx, http.MethodGet, path+"?"+v.Encode(), nil, "", &page); err != nil {
		return nil, err
	}
	var out []store.AuditEntry
	for _, raw := range page.Value {
		var e store.AuditEntry
		if q.Kind == store.AuditSignIn {
			var s apiSignIn
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
			e = s.entry()
		} else {
			var a apiAudit
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, err
			}
			e = a.entry()
		}
		out = append(out, e)
	}
	d.result, _ = json.Marshal(nonNil(page.Value))
	return out, nil
}

// remoteToken returns how the remote directory gets its token: client
// credentials when TESSERA_CLIENT_ID and TESSERA_CLIENT_SECRET are set in
// the environment, else the administrator's login from `tessera login
// --server`, refreshed silently.
func (g *globals) remoteToken(server string, s streams) (func(ctx context.Context) (string, error), *http.Client, error) {
	f := clientFlags{authority: server, envFile: ".env"}
	p := loadProfile()
	if p.Authority == server {
		f.cacheFile, f.plain, f.caFile = p.CacheFile, p.CachePlain, p.CAFile
	}
	if ca := os.Getenv("TESSERA_CA_FILE"); ca != "" {
		f.caFile = ca
	}
	hc, err := f.httpClient()
	if err != nil {
		return nil, nil, err
	}
	scopes := []string{admin.AdminAPIIdentifier + "/.default"}
	var cached string
	// The environment only, not a .env file: a project's .env holds some
	// app's secret for its own server, which must not go to --server.
	f.envFile = ""
	if id, ok := os.LookupEnv("TESSERA_CLIENT_ID"); ok && id != "" {
		if _, ok := os.LookupEnv("TESSERA_CLIENT_SECRET"); ok {
			f.clientID = id
			app, err := f.confidentialApp(s, "TESSERA_CLIENT_SECRET", "", "")
			if err != nil {
				return nil, nil, err
			}
			return func(ctx context.Context) (string, error) {
				if cached != "" {
					return cached, nil
				}
				res, err := app.AcquireTokenByClientCredential(ctx, scopes)
				if err != nil {
					return "", fmt.Errorf("client credentials of %s at %s: %w", id, server, err)
				}
				cached = res.AccessToken
				return cached, nil
			}, hc, nil
		}
	}
	f.clientID = admin.CLIClientID
	app, err := f.publicApp(s)
	if err != nil {
		return nil, nil, err
	}
	return func(ctx context.Context) (string, error) {
		if cached != "" {
			return cached, nil
		}
		acct, err := pickAccount(ctx, app, os.Getenv("TESSERA_ACCOUNT"))
		if err != nil {
			return "", fmt.Errorf("%w\nto administer %s, run `tessera login --server %s` (with several accounts signed in, set TESSERA_ACCOUNT to the one to act as), or set TESSERA_CLIENT_ID and TESSERA_CLIENT_SECRET", err, server, server)
		}
		res, err := app.AcquireTokenSilent(ctx, acct, scopes)
		if err != nil {
			return "", fmt.Errorf("%w\nrun `tessera login --server %s` to sign in again", err, server)
		}
		cached = res.AccessToken
		return cached, nil
	}, hc, nil
}

// openRemote returns the directory of the server --server names.
func (g *globals) openRemote() (*remoteDirectory, error) {
	u, err := url.Parse(strings.TrimRight(g.server, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--server %q: give the tenant's URL, e.g. https://id.example.com/contoso", g.server)
	}
	if u.Scheme == "http" && redirecturi.Validate(u.String(), false) != nil {
		// Tokens, and with client credentials the secret, would cross the
		// network in clear: http is for this machine only.
		return nil, fmt.Errorf("--server %q: use https (http only for localhost, 127.0.0.1 and [::1])", g.server)
	}
	segments := strings.Split(strings.Trim(u.Path, "/"), "/")
	tenant := segments[len(segments)-1]
	if tenant == "" {
		return nil, fmt.Errorf("--server %q names no tenant: add it to the path, e.g. %s/contoso", g.server, strings.TrimRight(g.server, "/"))
	}
	server := u.String()
	token, hc, err := g.remoteToken(server, g.streams)
	if err != nil {
		return nil, err
	}
	return &remoteDirectory{server: server, tenant: tenant, hc: hc, token: token}, nil
}
