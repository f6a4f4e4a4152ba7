package portal

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

// The app pages beyond sign-in configuration: Token configuration, API
// permissions and Expose an API.

// refused renders page name again with the admin core's refusal of a
// form, or returns what is not a refusal for fail to answer.
func (p *Portal) refused(q *request, pg *page, name string, err error) error {
	var fe *formError
	if !errors.Is(err, admin.ErrInvalid) && !errors.Is(err, admin.ErrStale) && !errors.As(err, &fe) {
		return err
	}
	pg.Error = message(err)
	p.render(q.w, http.StatusBadRequest, name, pg)
	return nil
}

// saved sends the browser back to path with a notice, after a change.
func (q *request) saved(path string) {
	http.Redirect(q.w, q.r, q.base+path+"?saved=1", http.StatusSeeOther)
}

func (q *request) notice(pg *page) {
	if q.r.URL.Query().Get("saved") == "1" {
		pg.Notice = "Saved."
	}
}

// lifetimeText is a lifetime as the form shows it: "" for the server's
// default, else in the largest whole unit (90d, 12h, 45m).
func lifetimeText(d time.Duration) string {
	for _, u := range []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if d != 0 && d%u.size == 0 {
			return strconv.FormatInt(int64(d/u.size), 10) + u.name
		}
	}
	if d == 0 {
		return ""
	}
	return d.String()
}

func (p *Portal) tokenConfiguration(q *request, app store.App) error {
	pg := p.appPage(q, app, "Token configuration · "+app.Name, "tokens")
	pg.Fields["access"], pg.Fields["refresh"], pg.Fields["idle"] = lifetimeText(app.AccessTokenLifetime),
		lifetimeText(app.RefreshTokenLifetime), lifetimeText(app.RefreshTokenIdleLifetime)
	if q.r.Method != http.MethodPost {
		q.notice(pg)
		p.render(q.w, http.StatusOK, "tokens", pg)
		return nil
	}
	f := q.r.PostForm
	if f.Get("action") == "groups-claim" {
		// Add groups claim: which groups the app's tokens name.
		claims := f.Get("groups_claim")
		if _, err := q.admin.PatchApp(q.r.Context(), app, admin.AppPatch{GroupMembershipClaims: &claims}); err != nil {
			return p.refused(q, pg, "tokens", err)
		}
		q.saved("/apps/" + app.ClientID + "/tokens")
		return nil
	}
	var patch admin.AppPatch
	for _, l := range []struct {
		field string
		dst   **time.Duration
	}{{"access", &patch.AccessTokenLifetime}, {"refresh", &patch.RefreshTokenLifetime}, {"idle", &patch.RefreshTokenIdleLifetime}} {
		v := strings.TrimSpace(f.Get(l.field))
		pg.Fields[l.field] = v
		d := time.Duration(0)
		if v != "" {
			var err error
			if d, err = admin.ParseLifetime(v); err != nil {
				return p.refused(q, pg, "tokens", err)
			}
		}
		*l.dst = &d
	}
	if _, err := q.admin.PatchApp(q.r.Context(), app, patch); err != nil {
		return p.refused(q, pg, "tokens", err)
	}
	q.saved("/apps/" + app.ClientID + "/tokens")
	return nil
}

// permissionRow is one line of Configured permissions.
type permissionRow struct {
	API      string // the resource's name
	Value    string
	Kind     store.PermissionKind
	Granted  bool
	Resource string // its client id
}

// apiChoice is an API a permission can be added from, with what it
// exposes.
type apiChoice struct {
	App    store.App
	Scopes []string
	Roles  []string
}

type permissionsData struct {
	Rows    []permissionRow
	Adding  bool
	APIs    []apiChoice // the tenant's APIs, while adding
	Chosen  *apiChoice  // the API whose permissions are offered
	Granted bool        // every configured permission is granted
}

func (p *Portal) permissions(q *request, app store.App) error {
	ctx := q.r.Context()
	pg := p.appPage(q, app, "API permissions · "+app.Name, "permissions")
	if q.r.Method == http.MethodPost {
		f := q.r.PostForm
		var err error
		switch f.Get("action") {
		case "add":
			var scopes, roles []string
			for _, v := range f["permission"] {
				switch kind, value, _ := strings.Cut(v, ":"); kind {
				case "scope":
					scopes = append(scopes, value)
				case "role":
					roles = append(roles, value)
				}
			}
			_, err = q.admin.AddPermission(ctx, app, f.Get("api"), scopes, roles)
		case "remove":
			kind, value, _ := strings.Cut(f.Get("permission"), ":")
			if kind == "role" {
				_, err = q.admin.RemovePermission(ctx, app, f.Get("api"), nil, []string{value})
			} else {
				_, err = q.admin.RemovePermission(ctx, app, f.Get("api"), []string{value}, nil)
			}
		case "consent":
			_, err = q.admin.GrantAdminConsent(ctx, app)
		case "revoke":
			err = q.admin.RevokeConsent(ctx, app, "")
		default:
			err = invalidForm("The form asked for nothing this page does.")
		}
		if err == nil {
			q.saved("/apps/" + app.ClientID + "/permissions")
			return nil
		}
		var fe *formError
		if !errors.Is(err, admin.ErrInvalid) && !errors.As(err, &fe) {
			return err
		}
		pg.Error = message(err)
	}
	q.notice(pg)
	data, err := p.permissionsData(q, app)
	if err != nil {
		return err
	}
	pg.Data = data
	status := http.StatusOK
	if pg.Error != "" {
		status = http.StatusBadRequest
	}
	p.render(q.w, status, "permissions", pg)
	return nil
}

func (p *Portal) permissionsData(q *request, app store.App) (*permissionsData, error) {
	ctx := q.r.Context()
	apps, err := q.admin.Apps(ctx, q.ep.Tenant)
	if err != nil {
		return nil, err
	}
	byID := map[string]store.App{}
	for _, a := range apps {
		byID[a.ClientID] = a
	}
	granted, err := q.admin.Consents(ctx, app, "")
	if err != nil {
		return nil, err
	}
	data := &permissionsData{Adding: q.r.URL.Query().Get("add") == "1", Granted: true}
	for _, perm := range app.Permissions {
		res := byID[perm.ResourceID]
		row := permissionRow{API: res.Name, Value: perm.Value, Kind: perm.Kind, Resource: perm.ResourceID}
		row.Granted = slices.ContainsFunc(granted, func(c store.Consent) bool {
			return c.ResourceID == perm.ResourceID && c.Kind == perm.Kind && c.Value == perm.Value
		})
		data.Granted = data.Granted && row.Granted
		data.Rows = append(data.Rows, row)
	}
	if data.Adding {
		for _, a := range apps {
			if len(a.Scopes)+len(a.Roles) == 0 {
				continue
			}
			choice := apiChoice{App: a, Scopes: a.Scopes, Roles: a.Roles}
			data.APIs = append(data.APIs, choice)
			if a.ClientID == q.r.URL.Query().Get("api") {
				data.Chosen = &choice
			}
		}
		slices.SortFunc(data.APIs, func(x, y apiChoice) int {
			return strings.Compare(strings.ToLower(x.App.Name), strings.ToLower(y.App.Name))
		})
	}
	return data, nil
}

// exposeData is what Expose an API shows besides the app: its scopes
// with what each says, and the scope form when it is open (Editing names
// the scope it changes; "" adds one).
type exposeData struct {
	Prefix  string // how clients name this API in a scope
	Scopes  []scopeRow
	Form    bool
	Editing string
}

type scopeRow struct {
	Value string
	store.ScopeDetail
}

func (p *Portal) exposeAPI(q *request, app store.App) error {
	pg := p.appPage(q, app, "Expose an API · "+app.Name, "expose")
	data := &exposeData{Prefix: app.IdentifierURI}
	if data.Prefix == "" {
		data.Prefix = app.ClientID
	}
	for _, s := range app.Scopes {
		data.Scopes = append(data.Scopes, scopeRow{Value: s, ScopeDetail: app.ScopeDetails[s]})
	}
	pg.Data = data
	if q.r.Method != http.MethodPost {
		q.notice(pg)
		query := q.r.URL.Query()
		if edit := query.Get("scope"); edit != "" {
			if !slices.Contains(app.Scopes, edit) {
				return notFoundPage()
			}
			data.Form, data.Editing = true, edit
			d := app.ScopeDetails[edit]
			pg.Fields["scope"], pg.Fields["consent"] = edit, string(d.Type)
			pg.Fields["admin_name"], pg.Fields["admin_description"] = d.AdminConsentDisplayName, d.AdminConsentDescription
			pg.Fields["user_name"], pg.Fields["user_description"] = d.UserConsentDisplayName, d.UserConsentDescription
		}
		data.Form = data.Form || query.Get("add") == "scope"
		p.render(q.w, http.StatusOK, "expose", pg)
		return nil
	}
	f := q.r.PostForm
	ctx := q.r.Context()
	for _, k := range []string{"uri", "scope", "role", "consent", "admin_name", "admin_description", "user_name", "user_description"} {
		pg.Fields[k] = f.Get(k)
	}
	var err error
	switch f.Get("action") {
	case "uri":
		uri := f.Get("uri")
		_, err = q.admin.PatchApp(ctx, app, admin.AppPatch{IdentifierURI: &uri})
	case "add-scope", "edit-scope":
		data.Form = true
		value := strings.TrimSpace(f.Get("scope"))
		exists := slices.Contains(app.Scopes, value)
		if f.Get("action") == "edit-scope" {
			data.Editing = value
		}
		switch {
		case f.Get("action") == "add-scope" && exists:
			err = invalidForm("The app already exposes the scope " + value + ": edit it instead.")
		case f.Get("action") == "edit-scope" && !exists:
			err = invalidForm("The app no longer exposes the scope " + value + ".")
		default:
			_, err = q.admin.ExposeScope(ctx, app, value, store.ScopeDetail{Type: store.ScopeConsentType(f.Get("consent")),
				AdminConsentDisplayName: f.Get("admin_name"), AdminConsentDescription: oneLine(f.Get("admin_description")),
				UserConsentDisplayName: f.Get("user_name"), UserConsentDescription: oneLine(f.Get("user_description"))})
		}
	case "add-role":
		_, err = q.admin.Expose(ctx, app, "", nil, []string{strings.TrimSpace(f.Get("role"))})
	case "remove-scope":
		_, err = q.admin.Unexpose(ctx, app, []string{f.Get("scope")}, nil)
	case "remove-role":
		_, err = q.admin.Unexpose(ctx, app, nil, []string{f.Get("role")})
	default:
		return invalidForm("The form asked for nothing this page does.")
	}
	if err != nil {
		return p.refused(q, pg, "expose", err)
	}
	q.saved("/apps/" + app.ClientID + "/expose")
	return nil
}

// oneLine joins the lines of a text area: a scope's descriptions are one
// paragraph, and the admin core refuses line breaks in them.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }), " ")
}

// consentGroup is what one principal granted an app: a user, or every
// user (an administrator's consent).
type consentGroup struct {
	PrincipalID string // "" for every user
	Principal   string
	Grants      []consentRow
}

type consentRow struct {
	API     string
	Value   string
	Kind    store.PermissionKind
	Granted time.Time
}

// consents lists every grant to the app, by whom, with Revoke for each
// user's (which ends the app's refresh tokens for them) and for the
// tenant-wide ones.
func (p *Portal) consents(q *request, app store.App) error {
	ctx := q.r.Context()
	pg := p.appPage(q, app, "Consents · "+app.Name, "consents")
	if q.r.Method == http.MethodPost {
		if q.r.PostForm.Get("action") != "revoke" {
			return invalidForm("The form asked for nothing this page does.")
		}
		if err := q.admin.RevokeConsent(ctx, app, q.r.PostForm.Get("principal")); err != nil {
			return err
		}
		q.saved("/apps/" + app.ClientID + "/consents")
		return nil
	}
	q.notice(pg)
	all, err := q.admin.AllConsents(ctx, app)
	if err != nil {
		return err
	}
	apps, err := q.admin.Apps(ctx, q.ep.Tenant)
	if err != nil {
		return err
	}
	names := map[string]string{"": "OpenID Connect"}
	for _, a := range apps {
		names[a.ClientID] = a.Name
	}
	var groups []consentGroup
	for _, c := range all {
		if len(groups) == 0 || groups[len(groups)-1].PrincipalID != c.PrincipalID {
			g := consentGroup{PrincipalID: c.PrincipalID, Principal: "All users (admin consent)"}
			if c.PrincipalID != "" {
				g.Principal = c.PrincipalID
				if u, err := q.admin.User(ctx, q.ep.Tenant, c.PrincipalID); err == nil {
					g.Principal = u.Username
				}
			}
			groups = append(groups, g)
		}
		g := &groups[len(groups)-1]
		g.Grants = append(g.Grants, consentRow{API: names[c.ResourceID], Value: c.Value, Kind: c.Kind, Granted: c.CreatedAt})
	}
	pg.Data = groups
	p.render(q.w, http.StatusOK, "consents", pg)
	return nil
}
