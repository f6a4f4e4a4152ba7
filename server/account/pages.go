package account

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/server/ui"
)

// notices are the status lines an action leaves for the page it redirects
// to, by the key in ?done=: fixed texts, so that a link cannot make the
// page say something else.
func notices(key string) notice {
	switch key {
	case "password":
		return notice{"change-password", "Your password was changed. Use the new one from now on."}
	case "sessions":
		return notice{"sessions", "Your other sessions were signed out."}
	case "session":
		return notice{"sessions", "The session was signed out."}
	case "withdraw":
		return notice{"apps", "The app's permissions were withdrawn; it has been signed out and must ask you again."}
	case "totp":
		return notice{"security-info", "Your authenticator app was added."}
	case "passkey":
		return notice{"security-info", "Your passkey was added."}
	case "factor":
		return notice{"security-info", "The sign-in method was removed."}
	}
	return notice{}
}

// notice is a status line and the section (its id) it is shown in: the
// one the action was taken in, where the browser is sent back to.
type notice struct{ section, text string }

// maxSessionsShown bounds the sessions one page lists, so that an account
// signed in thousands of times (a script) still gets a page of a sane size.
const maxSessionsShown = 50

// pageState is what an action adds to the page: a notice, or the error of
// the section it failed in.
type pageState struct {
	Notice        notice
	PasswordError string
	SessionsError string
	AppsError     string
	SecurityError string
}

// page renders the account page with status.
func (a *Account) page(q *request, status int, st pageState) {
	ctx := q.r.Context()
	u := q.self.User()
	data := ui.Account{
		Base: q.base, CSRF: q.session.CSRF, TenantName: q.ep.Tenant.Name, TenantID: q.ep.Tenant.ID,
		UserID: u.ID, Username: u.Username, DisplayName: u.Name, Email: u.Email,
		Notice: st.Notice.text, NoticeSection: st.Notice.section, Recent: q.self.SignedInRecently(), RecentMinutes: int(admin.RecentSignIn.Minutes()),
		SignedInAt: when(q.self.SignedInAt()), PasswordError: st.PasswordError, MinPassword: 8, MaxPassword: password.MaxLen,
		SessionsError: st.SessionsError, AppsError: st.AppsError, SecurityError: st.SecurityError,
	}
	if err := a.securityInfo(q, &data); err != nil {
		a.fail(q, err)
		return
	}
	sessions, err := q.self.Sessions(ctx)
	if err != nil {
		a.fail(q, err)
		return
	}
	// A page lists a bounded number: the current session comes first, and
	// "Sign out of all other sessions" reaches the ones not shown.
	if len(sessions) > maxSessionsShown {
		data.MoreSessions = len(sessions) - maxSessionsShown
		sessions = sessions[:maxSessionsShown]
	}
	for _, s := range sessions {
		data.Sessions = append(data.Sessions, ui.AccountSession{ID: s.ID, Started: when(s.CreatedAt), SignedInAt: when(s.SignedInAt),
			Expires: when(s.ExpiresAt), Current: s.Current})
	}
	apps, err := q.self.AppsWithAccess(ctx)
	if err != nil {
		a.fail(q, err)
		return
	}
	for _, app := range apps {
		row := ui.AccountApp{ClientID: app.ClientID, Name: app.Name, GrantedAt: when(app.GrantedAt)}
		for _, p := range app.Permissions {
			row.Permissions = append(row.Permissions, permissionLine(p))
		}
		data.Apps = append(data.Apps, row)
	}
	a.render(q.w, q.r, status, "account", data)
}

// permissionLine describes a granted permission as the consent page did
// when the user granted it.
func permissionLine(p admin.GrantedPermission) ui.Permission {
	if p.Resource == nil {
		return ui.Permission{Scope: p.Value, Description: oauth.ScopeDescription(p.Value)}
	}
	line := ui.Permission{Scope: p.Value, Description: p.Detail.UserConsentDisplayName, Detail: p.Detail.UserConsentDescription}
	if line.Description == "" {
		line.Description = fmt.Sprintf("Access %s as you", p.Resource.Name)
	}
	return line
}

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// changePassword checks the form, then has the admin core change the
// password once the sign-in's throttled check accepts the current one.
func (a *Account) changePassword(q *request) {
	f := q.r.PostForm
	current, next := f.Get("current_password"), f.Get("new_password")
	if next != f.Get("confirm_password") {
		a.page(q, http.StatusBadRequest, pageState{PasswordError: "The new password and its confirmation differ; type them again."})
		return
	}
	verify := func(ctx context.Context, current string) error {
		if e := a.provider.VerifyPassword(ctx, q.ep, q.self.User().ID, current, q.address); e != nil {
			return e
		}
		return nil
	}
	if err := q.self.ChangePassword(q.r.Context(), current, next, verify); err != nil {
		status, msg := a.refusal(q, err)
		if status == 0 {
			return
		}
		a.page(q, status, pageState{PasswordError: msg})
		return
	}
	a.done(q, "password")
}

// signOutSessions ends one other session (the form names it) or all of
// them.
func (a *Account) signOutSessions(q *request) {
	var ids []string
	done := "sessions"
	if id := q.r.PostForm.Get("session"); id != "" {
		ids, done = []string{id}, "session"
	}
	if _, err := q.self.SignOutOthers(q.r.Context(), ids); err != nil {
		status, msg := a.refusal(q, err)
		if status == 0 {
			return
		}
		a.page(q, status, pageState{SessionsError: msg})
		return
	}
	a.done(q, done)
}

// withdraw withdraws the consent the user gave one app.
func (a *Account) withdraw(q *request) {
	if _, err := q.self.WithdrawConsent(q.r.Context(), q.r.PostForm.Get("client_id")); err != nil {
		status, msg := a.refusal(q, err)
		if status == 0 {
			return
		}
		a.page(q, status, pageState{AppsError: msg})
		return
	}
	a.done(q, "withdraw")
}

// done sends the browser back to the page after a successful change, to
// the section it was made in, which shows the notice (post, redirect,
// get: a reload repeats nothing).
func (a *Account) done(q *request, key string) {
	http.Redirect(q.w, q.r, q.base+"?"+url.Values{"done": {key}}.Encode()+"#"+notices(key).section, http.StatusSeeOther)
}

// refusal turns an action's error into the status and words its section
// shows. A failure (not the user's doing) is answered here, with status 0.
func (a *Account) refusal(q *request, err error) (int, string) {
	var oe *oauth.Error
	switch {
	case errors.As(err, &oe) && oe.Code != oauth.ErrServerError:
		status := oe.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		return status, oe.Description
	case errors.Is(err, admin.ErrSignInAgain):
		return http.StatusForbidden, capitalize(admin.Reason(err)) + "."
	case errors.Is(err, admin.ErrNotFound):
		return http.StatusNotFound, capitalize(admin.Reason(err)) + "."
	case errors.Is(err, admin.ErrStale):
		return http.StatusConflict, "Your account changed while you were on this page; try again."
	case errors.Is(err, admin.ErrInvalid):
		return http.StatusBadRequest, capitalize(admin.Reason(err)) + "."
	}
	a.fail(q, err)
	return 0, ""
}

// fail answers a failure: logged, and a generic page.
func (a *Account) fail(q *request, err error) {
	a.log.ErrorContext(q.r.Context(), "account: request failed", "tenant", q.ep.Tenant.Name, "path", q.r.URL.Path, "err", err)
	a.message(q.w, q.r, http.StatusInternalServerError, "Something went wrong", "Something went wrong on the server; it is logged. Try again.", q.base)
}

// message renders a page with a title, one paragraph and a link back to
// the account page (none when link is "").
func (a *Account) message(w http.ResponseWriter, r *http.Request, status int, title, text, link string) {
	a.render(w, r, status, "account_message", ui.AccountMessage{Title: title, Text: text, Link: link, Error: status >= 400})
}

// render writes an HTML page; the security headers were set by Serve. It
// renders into a buffer so a template error never leaves half a page.
func (a *Account) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	body, err := a.pages.Render(page, data)
	if err != nil {
		a.log.ErrorContext(r.Context(), "account: render page", "page", page, "err", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	if c := s[0]; 'a' <= c && c <= 'z' {
		return string(c-'a'+'A') + s[1:]
	}
	return s
}
