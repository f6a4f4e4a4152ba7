package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

type permissionJSON struct {
	Resource string `json:"resource"`
	Kind     string `json:"kind"`
	Value    string `json:"value"`
}

type appJSON struct {
	ClientID                 string                     `json:"client_id"`
	TenantID                 string                     `json:"tenant_id"`
	Name                     string                     `json:"name"`
	Public                   bool                       `json:"public"`
	RedirectURIs             []string                   `json:"redirect_uris"`
	SPARedirectURIs          []string                   `json:"spa_redirect_uris"`
	NativeRedirectURIs       []string                   `json:"native_redirect_uris"`
	IdentifierURI            string                     `json:"identifier_uri"`
	Scopes                   []string                   `json:"scopes"`
	ScopeDetails             map[string]scopeDetailJSON `json:"scope_details,omitempty"`
	Roles                    []string                   `json:"roles"`
	Permissions              []permissionJSON           `json:"permissions"`
	ServicePrincipalID       string                     `json:"service_principal_id"`
	AllowPlainPKCE           bool                       `json:"allow_plain_pkce"`
	AccessTokenLifetime      string                     `json:"access_token_lifetime,omitempty"`
	RefreshTokenLifetime     string                     `json:"refresh_token_lifetime,omitempty"`
	RefreshTokenIdleLifetime string                     `json:"refresh_token_idle_lifetime,omitempty"`
	PostLogoutRedirectURIs   []string                   `json:"post_logout_redirect_uris"`
	LogoutKeepsRefreshTokens bool                       `json:"logout_keeps_refresh_tokens"`
	AllowPublicClientFlows   bool                       `json:"allow_public_client_flows"`
	FrontChannelLogoutURL    string                     `json:"front_channel_logout_url,omitempty"`
	AssignmentRequired       bool                       `json:"assignment_required"`
	GroupsClaim              string                     `json:"groups_claim,omitempty"`
}

type scopeDetailJSON struct {
	Type                    string `json:"type"`
	AdminConsentDisplayName string `json:"admin_consent_display_name,omitempty"`
	AdminConsentDescription string `json:"admin_consent_description,omitempty"`
	UserConsentDisplayName  string `json:"user_consent_display_name,omitempty"`
	UserConsentDescription  string `json:"user_consent_description,omitempty"`
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func durationString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func toAppJSON(a store.App) appJSON {
	out := appJSON{
		ClientID: a.ClientID, TenantID: a.TenantID, Name: a.Name, Public: a.Public,
		RedirectURIs: nonNil(a.RedirectURIs), SPARedirectURIs: nonNil(a.SPARedirectURIs), NativeRedirectURIs: nonNil(a.NativeRedirectURIs),
		IdentifierURI: a.IdentifierURI, Scopes: nonNil(a.Scopes), Roles: nonNil(a.Roles),
		Permissions: []permissionJSON{}, ServicePrincipalID: a.ServicePrincipalID, AllowPlainPKCE: a.AllowPlainPKCE,
		AccessTokenLifetime: durationString(a.AccessTokenLifetime), RefreshTokenLifetime: durationString(a.RefreshTokenLifetime),
		RefreshTokenIdleLifetime: durationString(a.RefreshTokenIdleLifetime),
		PostLogoutRedirectURIs:   nonNil(a.PostLogoutRedirectURIs), LogoutKeepsRefreshTokens: a.LogoutKeepsRefreshTokens,
		AllowPublicClientFlows: a.AllowPublicClientFlows,
		FrontChannelLogoutURL:  a.FrontChannelLogoutURI,
		AssignmentRequired:     a.AppRoleAssignmentRequired, GroupsClaim: string(a.GroupMembershipClaims),
	}
	for _, p := range a.Permissions {
		out.Permissions = append(out.Permissions, permissionJSON{Resource: p.ResourceID, Kind: string(p.Kind), Value: p.Value})
	}
	for v, d := range a.ScopeDetails {
		if out.ScopeDetails == nil {
			out.ScopeDetails = map[string]scopeDetailJSON{}
		}
		kind := string(d.Type)
		if kind == "" {
			kind = string(store.ConsentByUser)
		}
		out.ScopeDetails[v] = scopeDetailJSON{Type: kind, AdminConsentDisplayName: d.AdminConsentDisplayName, AdminConsentDescription: d.AdminConsentDescription,
			UserConsentDisplayName: d.UserConsentDisplayName, UserConsentDescription: d.UserConsentDescription}
	}
	return out
}

func printApp(w io.Writer, a store.App) {
	kind := "confidential"
	if a.Public {
		kind = "public"
	}
	fmt.Fprintf(w, "Application (client) ID: %s\n", a.ClientID)
	fmt.Fprintf(w, "Directory (tenant) ID:   %s\n", a.TenantID)
	if a.AllowPublicClientFlows {
		kind += " client allowing public client flows"
	} else {
		kind += " client"
	}
	fmt.Fprintf(w, "Name:                    %s (%s)\n", a.Name, kind)
	fmt.Fprintf(w, "Application ID URI:      %s\n", a.IdentifierURI)
	if a.AppRoleAssignmentRequired {
		fmt.Fprintf(w, "Assignment required:     yes (only assigned users and groups may sign in)\n")
	}
	if a.GroupMembershipClaims.Emits() {
		fmt.Fprintf(w, "Groups claim:            %s\n", a.GroupMembershipClaims)
	}
	if len(a.RedirectURIs) > 0 {
		fmt.Fprintf(w, "Redirect URIs:           %s\n", strings.Join(a.RedirectURIs, ", "))
	}
	if len(a.SPARedirectURIs) > 0 {
		fmt.Fprintf(w, "Single-page redirects:   %s\n", strings.Join(a.SPARedirectURIs, ", "))
	}
	if len(a.NativeRedirectURIs) > 0 {
		fmt.Fprintf(w, "Mobile redirect URIs:    %s\n", strings.Join(a.NativeRedirectURIs, ", "))
	}
	if len(a.Scopes) > 0 {
		var scopes []string
		for _, v := range a.Scopes {
			if d := a.ScopeDetails[v]; d.AdminOnly() {
				v += " (admins only)"
			}
			scopes = append(scopes, v)
		}
		fmt.Fprintf(w, "Exposed scopes:          %s\n", strings.Join(scopes, ", "))
	}
	if len(a.Roles) > 0 {
		fmt.Fprintf(w, "App roles:               %s\n", strings.Join(a.Roles, ", "))
	}
	for _, p := range a.Permissions {
		fmt.Fprintf(w, "Permission:              %s %s on %s\n", p.Kind, p.Value, p.ResourceID)
	}
	if a.AccessTokenLifetime > 0 {
		fmt.Fprintf(w, "Access token lifetime:   %s\n", a.AccessTokenLifetime)
	}
	if a.RefreshTokenLifetime > 0 {
		fmt.Fprintf(w, "Refresh token lifetime:  %s\n", a.RefreshTokenLifetime)
	}
	if a.RefreshTokenIdleLifetime > 0 {
		fmt.Fprintf(w, "Refresh token idle:      %s\n", a.RefreshTokenIdleLifetime)
	}
	if a.FrontChannelLogoutURI != "" {
		fmt.Fprintf(w, "Front-channel logout:    %s\n", a.FrontChannelLogoutURI)
	}
}

// appTarget is the --tenant/--app pair most app commands take. --tenant
// may be left out: a client id names one app in the whole store (as in
// issue 3's `tessera app certificate add --app ID --file cert.pem`), and
// an App ID URI does while only one tenant has it.
type appTarget struct{ tenant, app string }

func (t *appTarget) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.tenant, "tenant", "", "tenant name or id (may be left out when --app is found in one tenant only)")
	cmd.Flags().StringVar(&t.app, "app", "", "application (client) id or App ID URI")
	_ = cmd.MarkFlagRequired("app")
}

func (t *appTarget) resolve(ctx context.Context, e *env) (store.App, error) {
	if t.tenant == "" {
		return e.admin.FindApp(ctx, t.app)
	}
	tenant, err := e.admin.Tenant(ctx, t.tenant)
	if err != nil {
		return store.App{}, err
	}
	return e.admin.App(ctx, tenant, t.app)
}

// withEnv runs fn with the opened data directory, which must exist.
func (g *globals) withEnv(fn func(ctx context.Context, e *env) error) func(*cobra.Command, []string) error {
	return g.withEnvOptions(openOptions{}, fn)
}

// withOperatorEnv is withEnv for what only the operator does, with the
// store and master key: never through --server.
func (g *globals) withOperatorEnv(fn func(ctx context.Context, e *env) error) func(*cobra.Command, []string) error {
	return g.withEnvOptions(openOptions{operatorOnly: true}, fn)
}

// withEnvOptions is withEnv opening the data directory with o; with
// --server, fn administers that server's tenant through its admin API.
func (g *globals) withEnvOptions(o openOptions, fn func(ctx context.Context, e *env) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if g.server != "" {
			if o.operatorOnly {
				return fmt.Errorf("tessera %s is the operator's: run it where the store is (--data-dir or --store), without --server", strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" "))
			}
			d, err := g.openRemote()
			if err != nil {
				return err
			}
			g.remote = d
			return fn(cmd.Context(), &env{admin: d})
		}
		e, err := g.open(cmd.Context(), o)
		if err != nil {
			return err
		}
		defer e.Close()
		return fn(cmd.Context(), e)
	}
}

func newAppCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "app", Short: "Register and configure applications"}
	cmd.AddCommand(newAppRegisterCommand(g), newAppListCommand(g), newAppShowCommand(g), newAppSetCommand(g),
		newAppRedirectCommand(g), newAppExposeCommand(g), newAppUnexposeCommand(g), newAppScopeCommand(g), newAppPermissionCommand(g), newAppConsentCommand(g), newAppSecretCommand(g),
		newAppCertificateCommand(g), newAppDeleteCommand(g), newAppRoleCommand(g))
	return cmd
}

func newAppRegisterCommand(g *globals) *cobra.Command {
	var tenant, name string
	var public bool
	var redirects []string
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register an application; prints its Application (client) ID and Directory (tenant) ID",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		t, err := e.admin.Tenant(ctx, tenant)
		if err != nil {
			return err
		}
		a, err := e.admin.RegisterApp(ctx, t, admin.RegisterOptions{Name: name, Public: public, RedirectURIs: redirects})
		if err != nil {
			return err
		}
		return g.print(toAppJSON(a), func(w io.Writer) {
			fmt.Fprintln(w, "Application registered.")
			printApp(w, a)
		})
	})
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant name or id")
	cmd.Flags().StringVar(&name, "name", "", "display name shown to users")
	cmd.Flags().BoolVar(&public, "public", false, "a public client (native, CLI, single-page): no secret, PKCE required")
	cmd.Flags().StringArrayVar(&redirects, "redirect-uri", nil, "redirect URI (repeatable)")
	markLocalRequired(cmd, "tenant")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func newAppListCommand(g *globals) *cobra.Command {
	var tenant, search string
	cmd := &cobra.Command{Use: "list", Short: "List a tenant's applications", Args: cobra.NoArgs}
	cmd.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		t, err := e.admin.Tenant(ctx, tenant)
		if err != nil {
			return err
		}
		apps, err := e.admin.Apps(ctx, t)
		if err != nil {
			return err
		}
		if search != "" {
			// As the portal's search: the name, in any case, or the client id.
			apps = slices.DeleteFunc(apps, func(a store.App) bool {
				return !strings.Contains(strings.ToLower(a.Name), strings.ToLower(search)) && a.ClientID != search
			})
			g.narrowRemote(func(item map[string]any) bool {
				name, _ := item["displayName"].(string)
				return strings.Contains(strings.ToLower(name), strings.ToLower(search)) || item["appId"] == search
			})
		}
		out := make([]appJSON, 0, len(apps))
		for _, a := range apps {
			out = append(out, toAppJSON(a))
		}
		return g.print(out, func(w io.Writer) {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "APPLICATION (CLIENT) ID\tNAME\tTYPE")
			for _, a := range apps {
				kind := "confidential"
				if a.Public {
					kind = "public"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", a.ClientID, a.Name, kind)
			}
			tw.Flush()
		})
	})
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant name or id")
	cmd.Flags().StringVar(&search, "search", "", "only apps whose name contains this (any case), or with this client id")
	markLocalRequired(cmd, "tenant")
	return cmd
}

func newAppShowCommand(g *globals) *cobra.Command {
	var target appTarget
	cmd := &cobra.Command{Use: "show", Short: "Show an application's registration", Args: cobra.NoArgs}
	cmd.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := target.resolve(ctx, e)
		if err != nil {
			return err
		}
		return g.print(toAppJSON(a), func(w io.Writer) { printApp(w, a) })
	})
	target.flags(cmd)
	return cmd
}

func newAppSetCommand(g *globals) *cobra.Command {
	var target appTarget
	var name, access, refresh, idle string
	var plain, keepRefresh, publicFlows bool
	var postLogout, removeLogout []string
	var frontChannel, groupsClaim string
	var assignmentRequired bool
	cmd := &cobra.Command{Use: "set", Short: "Change an application's name, token lifetimes, PKCE policy or sign-out URLs", Args: cobra.NoArgs}
	cmd.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := target.resolve(ctx, e)
		if err != nil {
			return err
		}
		var s admin.AppSettings
		flags := cmd.Flags()
		if flags.Changed("name") {
			s.Name = &name
		}
		for _, f := range []struct {
			flag  string
			value string
			dst   **time.Duration
		}{
			{"access-token-lifetime", access, &s.AccessTokenLifetime},
			{"refresh-token-lifetime", refresh, &s.RefreshTokenLifetime},
			{"refresh-token-idle-lifetime", idle, &s.RefreshTokenIdleLifetime},
		} {
			if flags.Changed(f.flag) {
				d, err := admin.ParseLifetime(f.value)
				if err != nil {
					return fmt.Errorf("--%s: %w", f.flag, err)
				}
				*f.dst = &d
			}
		}
		if flags.Changed("allow-plain-pkce") {
			s.AllowPlainPKCE = &plain
		}
		if flags.Changed("logout-keeps-refresh-tokens") {
			s.LogoutKeepsRefreshTokens = &keepRefresh
		}
		if flags.Changed("allow-public-client-flows") {
			s.AllowPublicClientFlows = &publicFlows
		}
		s.PostLogoutRedirectURIs = postLogout
		if flags.Changed("front-channel-logout-url") {
			s.FrontChannelLogoutURI = &frontChannel
		}
		if flags.Changed("assignment-required") {
			s.AppRoleAssignmentRequired = &assignmentRequired
		}
		if flags.Changed("groups-claim") {
			s.GroupMembershipClaims = &groupsClaim
		}
		if len(removeLogout) > 0 {
			if a, err = e.admin.RemovePostLogoutRedirectURIs(ctx, a, removeLogout); err != nil {
				return err
			}
		}
		if !s.Empty() || len(removeLogout) == 0 {
			if a, err = e.admin.Set(ctx, a, s); err != nil {
				return err
			}
		}
		if s.AccessTokenLifetime != nil && admin.RefreshesEveryCall(*s.AccessTokenLifetime) {
			fmt.Fprintf(g.streams.err, "tessera: warning: MSAL refreshes access tokens %s before they expire, so with --access-token-lifetime %s its silent calls mostly refresh; use %s or more unless that is what you want\n",
				admin.MSALRenewalWindow, *s.AccessTokenLifetime, 2*admin.MSALRenewalWindow)
		}
		return g.print(toAppJSON(a), func(w io.Writer) {
			fmt.Fprintln(w, "Application updated.")
			printApp(w, a)
		})
	})
	target.flags(cmd)
	cmd.Flags().StringVar(&name, "name", "", "display name")
	cmd.Flags().StringVar(&access, "access-token-lifetime", "", "access token lifetime, e.g. 1h (5m to 24h; under 10m, MSAL refreshes on almost every call)")
	cmd.Flags().StringVar(&refresh, "refresh-token-lifetime", "", "refresh token absolute lifetime, e.g. 90d")
	cmd.Flags().StringVar(&idle, "refresh-token-idle-lifetime", "", "refresh token inactivity lifetime, e.g. 30d")
	cmd.Flags().BoolVar(&plain, "allow-plain-pkce", false, "accept code_challenge_method=plain (not recommended)")
	cmd.Flags().BoolVar(&publicFlows, "allow-public-client-flows", false, "let a confidential app use the device code flow without its secret (false to stop)")
	cmd.Flags().BoolVar(&keepRefresh, "logout-keeps-refresh-tokens", false, "keep this app's refresh tokens valid when the user signs out (default: they end with the session)")
	cmd.Flags().StringArrayVar(&postLogout, "post-logout-redirect-uri", nil, "add a URI logout may return to (repeatable)")
	cmd.Flags().StringArrayVar(&removeLogout, "remove-post-logout-redirect-uri", nil, "remove a URI logout may return to (repeatable)")
	cmd.Flags().StringVar(&frontChannel, "front-channel-logout-url", "", `where the app clears its session when the user signs out (OpenID Connect Front-Channel Logout); "" removes it`)
	cmd.Flags().BoolVar(&assignmentRequired, "assignment-required", false, "let only users assigned to the app (in person or through a group) sign in to it (false to stop)")
	cmd.Flags().StringVar(&groupsClaim, "groups-claim", "", "groups claim in the app's tokens: None, SecurityGroup or All")
	return cmd
}

func newAppRedirectCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "redirect-uri", Short: "Manage redirect URIs"}
	var target appTarget
	var uris []string
	var platform string
	add := &cobra.Command{Use: "add", Short: "Add redirect URIs (to the app's Web platform, or Mobile and desktop for a public app, unless --platform)", Args: cobra.NoArgs}
	add.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := target.resolve(ctx, e)
		if err != nil {
			return err
		}
		p := admin.PrimaryPlatform(a)
		if platform != "" {
			if p, err = admin.ParsePlatform(platform); err != nil {
				return fmt.Errorf("--platform: %w", err)
			}
		}
		if a, err = e.admin.AddPlatformRedirectURIs(ctx, a, p, uris); err != nil {
			return err
		}
		return g.print(toAppJSON(a), func(w io.Writer) { printApp(w, a) })
	})
	target.flags(add)
	add.Flags().StringArrayVar(&uris, "uri", nil, "redirect URI (repeatable)")
	add.Flags().StringVar(&platform, "platform", "", "web, spa (single-page: codes redeemed without the secret, with PKCE) or mobile (mobile and desktop, likewise; loopback on any port)")
	_ = add.MarkFlagRequired("uri")
	remove := &cobra.Command{Use: "remove", Short: "Remove redirect URIs", Args: cobra.NoArgs}
	remove.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := target.resolve(ctx, e)
		if err != nil {
			return err
		}
		if a, err = e.admin.RemoveRedirectURIs(ctx, a, uris); err != nil {
			return err
		}
		return g.print(toAppJSON(a), func(w io.Writer) { printApp(w, a) })
	})
	target.flags(remove)
	remove.Flags().StringArrayVar(&uris, "uri", nil, "redirect URI (repeatable)")
	_ = remove.MarkFlagRequired("uri")
	cmd.AddCommand(add, remove)
	return cmd
}

func newAppExposeCommand(g *globals) *cobra.Command {
	var target appTarget
	var uri string
	var scopes, roles []string
	cmd := &cobra.Command{Use: "expose", Short: "Expose an API: App ID URI, delegated scopes and app roles", Args: cobra.NoArgs}
	cmd.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := target.resolve(ctx, e)
		if err != nil {
			return err
		}
		if a, err = e.admin.Expose(ctx, a, uri, scopes, roles); err != nil {
			return err
		}
		return g.print(toAppJSON(a), func(w io.Writer) { printApp(w, a) })
	})
	target.flags(cmd)
	cmd.Flags().StringVar(&uri, "app-id-uri", "", "Application ID URI (default api://{client_id})")
	cmd.Flags().StringArrayVar(&scopes, "scope", nil, "delegated scope to expose (repeatable)")
	cmd.Flags().StringArrayVar(&roles, "role", nil, "app role to define (repeatable)")
	return cmd
}

func newAppUnexposeCommand(g *globals) *cobra.Command {
	var target appTarget
	var scopes, roles []string
	cmd := &cobra.Command{Use: "unexpose", Short: "Stop exposing delegated scopes or app roles (consents given stay until revoked)", Args: cobra.NoArgs}
	cmd.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := target.resolve(ctx, e)
		if err != nil {
			return err
		}
		if a, err = e.admin.Unexpose(ctx, a, scopes, roles); err != nil {
			return err
		}
		return g.print(toAppJSON(a), func(w io.Writer) { printApp(w, a) })
	})
	target.flags(cmd)
	cmd.Flags().StringArrayVar(&scopes, "scope", nil, "delegated scope to remove (repeatable)")
	cmd.Flags().StringArrayVar(&roles, "role", nil, "app role to remove (repeatable)")
	return cmd
}

func newAppScopeCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "scope", Short: "Describe an exposed delegated scope: who may consent, and what consent pages say"}
	var target appTarget
	var value string
	var adminOnly bool
	var d store.ScopeDetail
	set := &cobra.Command{Use: "set", Short: "Add a scope or replace what it says (texts not given are cleared)", Args: cobra.NoArgs}
	set.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := target.resolve(ctx, e)
		if err != nil {
			return err
		}
		d.Type = store.ConsentByUser
		if adminOnly {
			d.Type = store.ConsentByAdmin
		}
		if a, err = e.admin.ExposeScope(ctx, a, value, d); err != nil {
			return err
		}
		return g.print(toAppJSON(a), func(w io.Writer) { printApp(w, a) })
	})
	target.flags(set)
	f := set.Flags()
	f.StringVar(&value, "scope", "", "the scope's value, e.g. Files.Read")
	f.BoolVar(&adminOnly, "admin-consent-only", false, "only an administrator may consent, for the whole tenant (Entra's \"Admins only\")")
	f.StringVar(&d.AdminConsentDisplayName, "admin-consent-display-name", "", "what an administrator is asked to grant")
	f.StringVar(&d.AdminConsentDescription, "admin-consent-description", "", "what it allows, for an administrator")
	f.StringVar(&d.UserConsentDisplayName, "user-consent-display-name", "", "what a user is asked to grant (the consent page's line)")
	f.StringVar(&d.UserConsentDescription, "user-consent-description", "", "what it allows, for a user")
	_ = set.MarkFlagRequired("scope")
	cmd.AddCommand(set)
	return cmd
}

func newAppPermissionCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "permission", Short: "Manage the API permissions an application needs"}
	var target appTarget
	var resource string
	var scopes, roles []string
	add := &cobra.Command{Use: "add", Short: "Add delegated scopes or app roles of a resource app", Args: cobra.NoArgs}
	add.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := target.resolve(ctx, e)
		if err != nil {
			return err
		}
		if a, err = e.admin.AddPermission(ctx, a, resource, scopes, roles); err != nil {
			return err
		}
		return g.print(toAppJSON(a), func(w io.Writer) { printApp(w, a) })
	})
	remove := &cobra.Command{Use: "remove", Short: "Remove delegated scopes or app roles of a resource app (consents given stay until revoked)", Args: cobra.NoArgs}
	remove.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := target.resolve(ctx, e)
		if err != nil {
			return err
		}
		if a, err = e.admin.RemovePermission(ctx, a, resource, scopes, roles); err != nil {
			return err
		}
		return g.print(toAppJSON(a), func(w io.Writer) { printApp(w, a) })
	})
	for _, c := range []*cobra.Command{add, remove} {
		target.flags(c)
		c.Flags().StringVar(&resource, "resource", "", "resource app: client id or App ID URI")
		c.Flags().StringArrayVar(&scopes, "scope", nil, "delegated scope (repeatable)")
		c.Flags().StringArrayVar(&roles, "role", nil, "app role, i.e. application permission (repeatable)")
		_ = c.MarkFlagRequired("resource")
	}
	cmd.AddCommand(add, remove)
	return cmd
}

func newAppDeleteCommand(g *globals) *cobra.Command {
	var target appTarget
	var yes bool
	cmd := &cobra.Command{Use: "delete", Short: "Delete an application with its secrets, certificates and consents, and revoke its refresh tokens", Args: cobra.NoArgs}
	cmd.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := target.resolve(ctx, e)
		if err != nil {
			return err
		}
		if !yes {
			return fmt.Errorf("deleting app %s (%s) cannot be undone: add --yes", a.ClientID, a.Name)
		}
		if err := e.admin.DeleteApp(ctx, a, a.Name); err != nil {
			return err
		}
		return g.print(map[string]string{"client_id": a.ClientID, "deleted": a.Name}, func(w io.Writer) {
			fmt.Fprintf(w, "Application %s (%s) deleted.\n", a.Name, a.ClientID)
		})
	})
	target.flags(cmd)
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm the deletion")
	return cmd
}

func newAppConsentCommand(g *globals) *cobra.Command {
	var target appTarget
	var revoke bool
	var user string
	cmd := &cobra.Command{
		Use:   "consent",
		Short: "Grant tenant-wide admin consent for an application's permissions (or --revoke)",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := target.resolve(ctx, e)
		if err != nil {
			return err
		}
		if revoke {
			userID := ""
			if user != "" {
				t, err := e.admin.Tenant(ctx, a.TenantID)
				if err != nil {
					return err
				}
				u, err := e.admin.User(ctx, t, user)
				if err != nil {
					return err
				}
				userID = u.ID
			}
			if err := e.admin.RevokeConsent(ctx, a, userID); err != nil {
				return err
			}
			return g.print(map[string]string{"client_id": a.ClientID, "status": "revoked"}, func(w io.Writer) {
				fmt.Fprintln(w, "Consent revoked.")
			})
		}
		rows, err := e.admin.GrantAdminConsent(ctx, a)
		if err != nil {
			return err
		}
		out := []permissionJSON{}
		for _, c := range rows {
			out = append(out, permissionJSON{Resource: c.ResourceID, Kind: string(c.Kind), Value: c.Value})
		}
		return g.print(map[string]any{"client_id": a.ClientID, "granted": out}, func(w io.Writer) {
			fmt.Fprintf(w, "Admin consent granted to %s for all users:\n", a.Name)
			for _, c := range rows {
				res := c.ResourceID
				if res == "" {
					res = "OpenID Connect"
				}
				fmt.Fprintf(w, "  %s %s (%s)\n", c.Kind, c.Value, res)
			}
		})
	})
	target.flags(cmd)
	cmd.AddCommand(newAppConsentListCommand(g))
	cmd.Flags().BoolVar(&revoke, "revoke", false, "remove consent instead (a user's with --user, else the tenant-wide grant)")
	cmd.Flags().StringVar(&user, "user", "", "with --revoke: the user (id or username) whose consent to remove")
	return cmd
}

type consentJSON struct {
	Principal string `json:"principal_id,omitempty"` // "" for the tenant-wide (admin) consent
	Resource  string `json:"resource"`
	Kind      string `json:"kind"`
	Value     string `json:"value"`
}

// newAppConsentListCommand lists what the portal's Consents page shows:
// every user's and the admin's grants to an app.
func newAppConsentListCommand(g *globals) *cobra.Command {
	var target appTarget
	cmd := &cobra.Command{Use: "list", Short: "List every user's and the admin's grants to an application", Args: cobra.NoArgs}
	cmd.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := target.resolve(ctx, e)
		if err != nil {
			return err
		}
		rows, err := e.admin.AllConsents(ctx, a)
		if err != nil {
			return err
		}
		out := make([]consentJSON, 0, len(rows))
		for _, c := range rows {
			out = append(out, consentJSON{Principal: c.PrincipalID, Resource: c.ResourceID, Kind: string(c.Kind), Value: c.Value})
		}
		return g.print(out, func(w io.Writer) {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "GRANTED FOR\tRESOURCE\tTYPE\tPERMISSION")
			for _, c := range rows {
				who, res := "all users (admin consent)", c.ResourceID
				if c.PrincipalID != "" {
					who = "user " + c.PrincipalID
				}
				if res == "" {
					res = "OpenID Connect"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", who, res, c.Kind, c.Value)
			}
			tw.Flush()
		})
	})
	target.flags(cmd)
	return cmd
}

type secretJSON struct {
	ID          string    `json:"id"`
	Description string    `json:"description"`
	Hint        string    `json:"hint"`
	ExpiresAt   time.Time `json:"expires_at"`
	CreatedAt   time.Time `json:"created_at"`
	Secret      string    `json:"secret,omitempty"`
}

func newAppSecretCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Short: "Manage client secrets"}

	var addTarget appTarget
	var description, expires string
	add := &cobra.Command{Use: "add", Short: "Add a client secret; its value is printed once", Args: cobra.NoArgs}
	add.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := addTarget.resolve(ctx, e)
		if err != nil {
			return err
		}
		at, err := admin.ParseExpiry(expires, time.Now().UTC())
		if err != nil {
			return fmt.Errorf("--expires: %w", err)
		}
		value, s, err := e.admin.AddSecret(ctx, a, description, at)
		if err != nil {
			return err
		}
		return g.print(secretJSON{ID: s.ID, Description: s.Description, Hint: s.Hint, ExpiresAt: s.ExpiresAt, CreatedAt: s.CreatedAt, Secret: value}, func(w io.Writer) {
			fmt.Fprintf(w, "Client secret added. Copy the value now: it cannot be shown again.\n")
			fmt.Fprintf(w, "  Value:       %s\n  Secret ID:   %s\n  Description: %s\n  Expires:     %s\n", value, s.ID, s.Description, s.ExpiresAt.Format(time.RFC3339))
		})
	})
	addTarget.flags(add)
	add.Flags().StringVar(&description, "description", "", "what the secret is for")
	add.Flags().StringVar(&expires, "expires", "6mo", "6mo, 12mo, 24mo or a date (YYYY-MM-DD)")

	var listTarget appTarget
	list := &cobra.Command{Use: "list", Short: "List client secrets (description, hint, expiry)", Args: cobra.NoArgs}
	list.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := listTarget.resolve(ctx, e)
		if err != nil {
			return err
		}
		secrets, err := e.admin.Secrets(ctx, a)
		if err != nil {
			return err
		}
		out := make([]secretJSON, 0, len(secrets))
		for _, s := range secrets {
			out = append(out, secretJSON{ID: s.ID, Description: s.Description, Hint: s.Hint, ExpiresAt: s.ExpiresAt, CreatedAt: s.CreatedAt})
		}
		return g.print(out, func(w io.Writer) {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SECRET ID\tDESCRIPTION\tVALUE (HINT)\tEXPIRES")
			for _, s := range secrets {
				fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\n", s.ID, s.Description, s.Hint, s.ExpiresAt.Format("2006-01-02"))
			}
			tw.Flush()
		})
	})
	listTarget.flags(list)

	var removeTarget appTarget
	var secretID string
	remove := &cobra.Command{Use: "remove", Short: "Remove a client secret", Args: cobra.NoArgs}
	remove.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := removeTarget.resolve(ctx, e)
		if err != nil {
			return err
		}
		if err := e.admin.RemoveSecret(ctx, a, secretID); err != nil {
			return err
		}
		return g.print(map[string]string{"id": secretID, "status": "removed"}, func(w io.Writer) { fmt.Fprintln(w, "Client secret removed.") })
	})
	removeTarget.flags(remove)
	remove.Flags().StringVar(&secretID, "id", "", "secret id (from secret list)")
	_ = remove.MarkFlagRequired("id")

	cmd.AddCommand(add, list, remove)
	return cmd
}

type credentialJSON struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Description string    `json:"description,omitempty"`
	Thumbprint  string    `json:"x5t,omitempty"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
}

func toCredentialJSON(c store.AppCredential) credentialJSON {
	out := credentialJSON{ID: c.ID, Kind: string(c.Kind), Description: c.Description, ExpiresAt: c.ExpiresAt, CreatedAt: c.CreatedAt}
	if len(c.SHA1Thumbprint) > 0 {
		out.Thumbprint = strings.ToUpper(hex.EncodeToString(c.SHA1Thumbprint))
	}
	return out
}

func newAppCertificateCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "certificate", Short: "Manage certificates and keys for client assertions (private_key_jwt)"}

	var addTarget appTarget
	var file, description string
	add := &cobra.Command{Use: "add", Short: "Register a certificate (PEM) or public JWK the app signs client assertions with", Args: cobra.NoArgs}
	add.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := addTarget.resolve(ctx, e)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("--file: %w", err)
		}
		c, err := e.admin.AddCredential(ctx, a, data, description)
		if err != nil {
			return err
		}
		return g.print(toCredentialJSON(c), func(w io.Writer) {
			fmt.Fprintf(w, "Credential added.\n  ID (x5t#S256): %s\n  Kind:          %s\n", c.ID, c.Kind)
			if len(c.SHA1Thumbprint) > 0 {
				fmt.Fprintf(w, "  Thumbprint:    %s\n  Expires:       %s\n", strings.ToUpper(hex.EncodeToString(c.SHA1Thumbprint)), c.ExpiresAt.Format(time.RFC3339))
			}
		})
	})
	addTarget.flags(add)
	add.Flags().StringVar(&file, "file", "", "PEM certificate or JWK (JSON) file")
	add.Flags().StringVar(&description, "description", "", "what the key is for")
	_ = add.MarkFlagRequired("file")

	var listTarget appTarget
	list := &cobra.Command{Use: "list", Short: "List registered certificates and keys", Args: cobra.NoArgs}
	list.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := listTarget.resolve(ctx, e)
		if err != nil {
			return err
		}
		creds, err := e.admin.Credentials(ctx, a)
		if err != nil {
			return err
		}
		out := make([]credentialJSON, 0, len(creds))
		for _, c := range creds {
			out = append(out, toCredentialJSON(c))
		}
		return g.print(out, func(w io.Writer) {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID (X5T#S256)\tKIND\tTHUMBPRINT\tEXPIRES\tDESCRIPTION")
			for _, c := range out {
				exp := ""
				if !c.ExpiresAt.IsZero() {
					exp = c.ExpiresAt.Format("2006-01-02")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Kind, c.Thumbprint, exp, c.Description)
			}
			tw.Flush()
		})
	})
	listTarget.flags(list)

	var removeTarget appTarget
	var id string
	remove := &cobra.Command{Use: "remove", Short: "Remove a registered certificate or key", Args: cobra.NoArgs}
	remove.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		a, err := removeTarget.resolve(ctx, e)
		if err != nil {
			return err
		}
		if err := e.admin.RemoveCredential(ctx, a, id); err != nil {
			return err
		}
		return g.print(map[string]string{"id": id, "status": "removed"}, func(w io.Writer) { fmt.Fprintln(w, "Credential removed.") })
	})
	removeTarget.flags(remove)
	remove.Flags().StringVar(&id, "id", "", "credential id (from certificate list)")
	_ = remove.MarkFlagRequired("id")

	cmd.AddCommand(add, list, remove)
	return cmd
}
