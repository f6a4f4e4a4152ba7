package portal

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// formError is a refusal the page explains to the user.
type formError struct {
	status  int
	message string
}

func (e *formError) Error() string { return e.message }

func invalidForm(msg string) error   { return &formError{http.StatusBadRequest, msg} }
func forbiddenForm(msg string) error { return &formError{http.StatusForbidden, msg} }
func notFoundPage() error {
	return &formError{http.StatusNotFound, "There is no such page or app registration."}
}

// page is what every portal page template receives.
type page struct {
	Title    string
	Tenant   store.Tenant
	Username string
	CSRF     string
	Base     string
	Nonce    string
	Section  string // the left menu's current item
	Error    string
	Notice   string

	App      *store.App
	AppPage  string // the app menu's current item
	Data     any
	Fields   map[string]string // a refused form's values, shown again
	Platform string
}

func (q *request) page(title, section string) *page {
	return &page{Title: title, Tenant: q.ep.Tenant, Username: q.session.username, CSRF: q.session.CSRF, Base: q.base,
		Nonce: token.NewOpaque(), Section: section, Fields: map[string]string{}}
}

// render writes a page. Rendering goes to a buffer first, so a template
// error never leaves half a page on the wire.
func (p *Portal) render(w http.ResponseWriter, status int, name string, pg *page) {
	var buf bytes.Buffer
	if err := p.pages.ExecuteTemplate(&buf, name, pg); err != nil {
		p.log.Error("portal: render", "page", name, "err", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'nonce-"+pg.Nonce+
		"'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// message is a page with a title and one paragraph, for what happens
// outside a session (a failed sign-in).
func (p *Portal) message(w http.ResponseWriter, r *http.Request, status int, title, text, link string) {
	p.render(w, status, "message", &page{Title: title, Error: text, Base: link, Nonce: token.NewOpaque()})
}

// fail answers a request whose handler failed: the user's mistake on the
// page it came from, a refusal or a missing object on a page of its own,
// anything else as a generic failure whose cause goes to the log only.
func (p *Portal) fail(q *request, err error) {
	var fe *formError
	status, msg := http.StatusInternalServerError, "Something went wrong on the server; it is logged. Try again."
	switch {
	case errors.As(err, &fe):
		status, msg = fe.status, fe.message
	case errors.Is(err, admin.ErrForbidden):
		status, msg = http.StatusForbidden, "You are not allowed to do this: "+admin.Reason(err)
	case errors.Is(err, admin.ErrNotFound):
		status, msg = http.StatusNotFound, admin.Reason(err)
	case errors.Is(err, admin.ErrStale):
		status, msg = http.StatusConflict, admin.Reason(err)
	case errors.Is(err, admin.ErrInvalid):
		status, msg = http.StatusBadRequest, admin.Reason(err)
	default:
		p.log.ErrorContext(q.r.Context(), "portal request failed", "path", q.r.URL.Path, "err", err)
	}
	pg := q.page("Error", "")
	pg.Error = msg
	p.render(q.w, status, "failure", pg)
}

// message is what a form's refusal says on the page: the admin core's
// reason, or the portal's own.
func message(err error) string {
	if reason := admin.Reason(err); reason != "" {
		return reason
	}
	return err.Error()
}

// route dispatches a signed-in request below the portal.
func (p *Portal) route(q *request, rest string) error {
	parts := strings.Split(rest, "/")
	switch {
	case rest == "":
		http.Redirect(q.w, q.r, q.base+"/"+defaultLanding, http.StatusSeeOther)
		return nil
	case rest == "apps":
		return p.appList(q)
	case rest == "users":
		return p.userList(q)
	case rest == "users/new":
		return p.newUser(q)
	case rest == "groups":
		return p.groupList(q)
	case rest == "groups/new":
		return p.newGroup(q)
	case len(parts) == 2 && parts[0] == "groups":
		return p.groupPage(q, parts[1])
	case len(parts) == 2 && parts[0] == "users":
		return p.withUser(q, parts[1], p.userPage)
	case rest == "audit":
		return p.logPage(q, store.AuditDirectory, "audit", "Audit logs", "audit")
	case rest == "signins":
		return p.logPage(q, store.AuditSignIn, "signins", "Sign-in logs", "signins")
	case rest == "apps/new":
		return p.newApp(q)
	case len(parts) == 2 && parts[0] == "apps":
		return p.withApp(q, parts[1], p.overview)
	case len(parts) == 3 && parts[0] == "apps":
		switch parts[2] {
		case "authentication":
			return p.withApp(q, parts[1], p.authentication)
		case "credentials":
			return p.withApp(q, parts[1], p.credentials)
		case "delete":
			return p.withApp(q, parts[1], p.deleteApp)
		case "tokens":
			return p.withApp(q, parts[1], p.tokenConfiguration)
		case "permissions":
			return p.withApp(q, parts[1], p.permissions)
		case "expose":
			return p.withApp(q, parts[1], p.exposeAPI)
		case "consents":
			return p.withApp(q, parts[1], p.consents)
		case "assignments":
			return p.withApp(q, parts[1], p.assignments)
		}
	}
	return notFoundPage()
}

func (p *Portal) withApp(q *request, id string, h func(q *request, app store.App) error) error {
	app, err := q.admin.App(q.r.Context(), q.ep.Tenant, id)
	if errors.Is(err, admin.ErrNotFound) {
		return notFoundPage()
	}
	if err != nil {
		return err
	}
	return h(q, app)
}

// appRow is one line of the app list.
type appRow struct {
	store.App
	BuiltIn bool
}

func (p *Portal) appList(q *request) error {
	apps, err := q.admin.Apps(q.r.Context(), q.ep.Tenant)
	if err != nil {
		return err
	}
	search := strings.TrimSpace(q.r.URL.Query().Get("search"))
	var rows []appRow
	for _, a := range apps {
		if search != "" && !strings.Contains(strings.ToLower(a.Name), strings.ToLower(search)) && a.ClientID != search {
			continue
		}
		rows = append(rows, appRow{App: a, BuiltIn: admin.IsBuiltIn(a)})
	}
	slices.SortFunc(rows, func(a, b appRow) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	pg := q.page("App registrations", "apps")
	pg.Data = rows
	pg.Fields["search"] = search
	p.render(q.w, http.StatusOK, "apps", pg)
	return nil
}

// platformSection is one platform of the Authentication page, shown when
// it has redirect URIs.
type platformSection struct {
	ID, Name, Hint string
	URIs           []string
}

func platformSections(app *store.App) []platformSection {
	all := []platformSection{
		{"web", "Web", "Codes sent here are redeemed with the app's client secret or certificate.", app.WebRedirectURIs()},
		{"spa", "Single-page application", "Codes sent here are redeemed by the browser, without a secret, with PKCE.", app.SPARedirectURIs},
		{"mobile", "Mobile and desktop applications", "Codes sent here are redeemed without a secret, with PKCE; http://localhost and 127.0.0.1 take any port.", app.MobileRedirectURIs()},
	}
	var out []platformSection
	for _, s := range all {
		if len(s.URIs) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// Platforms of a redirect URI, as the Entra portal names them.
const (
	platformWeb    = "web"
	platformSPA    = "spa"
	platformMobile = "mobile"
)

func (p *Portal) newApp(q *request) error {
	pg := q.page("Register an application", "apps")
	if q.r.Method != http.MethodPost {
		pg.Fields["platform"] = platformWeb
		p.render(q.w, http.StatusOK, "newapp", pg)
		return nil
	}
	f := q.r.PostForm
	name, platform, uri := f.Get("name"), f.Get("platform"), strings.TrimSpace(f.Get("redirect_uri"))
	if f.Get("audience") != "single" {
		return invalidForm("Choose who can use the application: this directory's accounts only.")
	}
	opts := admin.RegisterOptions{Name: name, Public: platform == platformSPA || platform == platformMobile}
	if uri != "" {
		opts.RedirectURIs = []string{uri}
	}
	app, err := q.admin.RegisterApp(q.r.Context(), q.ep.Tenant, opts)
	if errors.Is(err, admin.ErrInvalid) && !errors.Is(err, admin.ErrNotFound) {
		pg.Error = message(err)
		pg.Fields["name"], pg.Fields["platform"], pg.Fields["redirect_uri"] = name, platform, uri
		p.render(q.w, http.StatusBadRequest, "newapp", pg)
		return nil
	}
	if err != nil {
		return err
	}
	http.Redirect(q.w, q.r, q.base+"/apps/"+app.ClientID, http.StatusSeeOther)
	return nil
}

// endpoint is one line of the Overview's endpoints.
type endpoint struct{ Name, URL string }

func (p *Portal) appPage(q *request, app store.App, title, appPage string) *page {
	pg := q.page(title, "apps")
	pg.App, pg.AppPage = &app, appPage
	return pg
}

func (p *Portal) overview(q *request, app store.App) error {
	pg := p.appPage(q, app, app.Name, "overview")
	base := q.ep.Base
	eps := []endpoint{
		{"Authority URL", base},
		{"OpenID Connect metadata document", base + "/v2.0/.well-known/openid-configuration"},
		{"OAuth 2.0 authorization endpoint (v2)", base + "/oauth2/v2.0/authorize"},
		{"OAuth 2.0 token endpoint (v2)", base + "/oauth2/v2.0/token"},
		{"Device authorization endpoint", base + "/oauth2/v2.0/devicecode"},
		{"UserInfo endpoint", base + "/oidc/userinfo"},
		{"Sign-out endpoint", base + "/oauth2/v2.0/logout"},
	}
	if p.defaultTenant == q.ep.Tenant.Name || p.defaultTenant == q.ep.Tenant.ID {
		eps = append(eps, endpoint{"Authorization endpoint (/oauth2 alias)", q.ep.Origin + "/oauth2/authorize"},
			endpoint{"Token endpoint (/oauth2 alias)", q.ep.Origin + "/oauth2/token"},
			endpoint{"UserInfo endpoint (/oauth2 alias)", q.ep.Origin + "/oauth2/userinfo"})
	}
	pg.Data = eps
	p.render(q.w, http.StatusOK, "overview", pg)
	return nil
}

// authentication is the Authentication page: the app's redirect URIs by
// platform, adding a platform, post-logout URIs, the front-channel logout
// URL.
func (p *Portal) authentication(q *request, app store.App) error {
	pg := p.appPage(q, app, "Authentication · "+app.Name, "authentication")
	pg.Platform = q.r.URL.Query().Get("platform")
	pg.Fields["frontchannel_logout_url"] = app.FrontChannelLogoutURI
	if q.r.Method == http.MethodPost {
		f := q.r.PostForm
		ctx := q.r.Context()
		var updated store.App
		var err error
		switch f.Get("action") {
		case "add-redirect":
			uri := strings.TrimSpace(f.Get("redirect_uri"))
			pg.Platform = f.Get("platform")
			var platform admin.Platform
			if platform, err = admin.ParsePlatform(pg.Platform); err == nil {
				updated, err = q.admin.AddPlatformRedirectURIs(ctx, app, platform, []string{uri})
			}
		case "remove-redirect":
			updated, err = q.admin.RemoveRedirectURIs(ctx, app, []string{f.Get("redirect_uri")})
		case "public-flows":
			allow := f.Get("allow_public_client_flows") == "yes"
			updated, err = q.admin.PatchApp(ctx, app, admin.AppPatch{AllowPublicClientFlows: &allow})
		case "add-logout":
			updated, err = q.admin.Set(ctx, app, admin.AppSettings{PostLogoutRedirectURIs: []string{f.Get("logout_uri")}})
		case "remove-logout":
			updated, err = q.admin.RemovePostLogoutRedirectURIs(ctx, app, []string{f.Get("logout_uri")})
		case "set-frontchannel":
			// An empty field removes the URL.
			uri := f.Get("frontchannel_logout_url")
			updated, err = q.admin.Set(ctx, app, admin.AppSettings{FrontChannelLogoutURI: &uri})
		default:
			return invalidForm("The form asked for nothing this page does.")
		}
		if errors.Is(err, admin.ErrInvalid) || errors.Is(err, admin.ErrStale) {
			pg.Error = admin.Reason(err)
			pg.Fields["redirect_uri"], pg.Fields["logout_uri"] = f.Get("redirect_uri"), f.Get("logout_uri")
			if f.Get("action") == "set-frontchannel" {
				pg.Fields["frontchannel_logout_url"] = f.Get("frontchannel_logout_url")
			}
			p.render(q.w, http.StatusBadRequest, "authentication", pg)
			return nil
		}
		if err != nil {
			return err
		}
		http.Redirect(q.w, q.r, q.base+"/apps/"+updated.ClientID+"/authentication?saved=1", http.StatusSeeOther)
		return nil
	}
	if q.r.URL.Query().Get("saved") == "1" {
		pg.Notice = "Saved."
	}
	p.render(q.w, http.StatusOK, "authentication", pg)
	return nil
}

// credentialsData is the Certificates & secrets page's content.
type credentialsData struct {
	Secrets      []store.ClientSecret
	Certificates []store.AppCredential
	New          bool // the New client secret form is open
	Created      *store.ClientSecret
	Value        string // the new secret's value, shown once
}

func (p *Portal) credentials(q *request, app store.App) error {
	ctx := q.r.Context()
	pg := p.appPage(q, app, "Certificates & secrets · "+app.Name, "credentials")
	data := &credentialsData{New: q.r.URL.Query().Get("new") == "1"}
	pg.Data = data
	status := http.StatusOK
	if q.r.Method == http.MethodPost {
		f := q.r.PostForm
		var err error
		switch f.Get("action") {
		case "add-secret":
			var expires time.Time
			if expires, err = secretExpiry(f.Get("expires"), f.Get("start"), f.Get("end"), time.Now().UTC()); err == nil {
				var s store.ClientSecret
				data.Value, s, err = q.admin.AddSecret(ctx, app, f.Get("description"), expires)
				data.Created = &s
			}
			if err != nil {
				data.New = true
				pg.Fields["description"], pg.Fields["expires"] = f.Get("description"), f.Get("expires")
			}
		case "remove-secret":
			err = q.admin.RemoveSecret(ctx, app, f.Get("id"))
			if err == nil {
				pg.Notice = "The client secret was deleted."
			}
		case "add-certificate":
			_, err = q.admin.AddCredential(ctx, app, []byte(f.Get("certificate")), f.Get("description"))
			if err == nil {
				pg.Notice = "The certificate was added."
			}
		case "remove-certificate":
			err = q.admin.RemoveCredential(ctx, app, f.Get("id"))
			if err == nil {
				pg.Notice = "The certificate was deleted."
			}
		default:
			err = invalidForm("The form asked for nothing this page does.")
		}
		var fe *formError
		switch {
		case err == nil:
		case errors.Is(err, admin.ErrInvalid) || errors.As(err, &fe):
			pg.Error = message(err)
			status = http.StatusBadRequest
		default:
			return err
		}
	}
	var err error
	if data.Secrets, err = q.admin.Secrets(ctx, app); err != nil {
		return err
	}
	if data.Certificates, err = q.admin.Credentials(ctx, app); err != nil {
		return err
	}
	p.render(q.w, status, "credentials", pg)
	return nil
}

// secretExpiry reads the New client secret form's Expires: 6, 12 or 24
// months, or custom with an end date, read as the CLI reads them
// (admin.ParseExpiry) and at most 24 months away, as in the Entra portal.
func secretExpiry(choice, start, end string, now time.Time) (time.Time, error) {
	switch choice {
	case "6", "12", "24":
		return admin.ParseExpiry(choice+"mo", now)
	case "custom":
	default:
		return time.Time{}, invalidForm("Choose when the secret expires.")
	}
	if start != "" {
		if s, err := time.Parse("2006-01-02", start); err != nil || s.After(now.AddDate(0, 0, 1)) {
			return time.Time{}, invalidForm("The start date must be today: Tessera's secrets are valid from when they are made.")
		}
	}
	e, err := admin.ParseExpiry(end, now)
	if err != nil {
		return time.Time{}, err
	}
	if e.After(now.AddDate(2, 0, 1)) {
		return time.Time{}, invalidForm("The end date must be at most 24 months away.")
	}
	return e, nil
}

func (p *Portal) deleteApp(q *request, app store.App) error {
	pg := p.appPage(q, app, "Delete · "+app.Name, "delete")
	if q.r.Method != http.MethodPost {
		p.render(q.w, http.StatusOK, "deleteapp", pg)
		return nil
	}
	err := q.admin.DeleteApp(q.r.Context(), app, q.r.PostForm.Get("confirm"))
	if errors.Is(err, admin.ErrInvalid) && !errors.Is(err, admin.ErrNotFound) {
		pg.Error = message(err)
		p.render(q.w, http.StatusBadRequest, "deleteapp", pg)
		return nil
	}
	if err != nil {
		return err
	}
	http.Redirect(q.w, q.r, q.base+"/apps?deleted=1", http.StatusSeeOther)
	return nil
}
