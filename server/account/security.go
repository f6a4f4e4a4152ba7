package account

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/passkey"
	"github.com/tessera-id/tessera/server/ui"
	"github.com/tessera-id/tessera/store"
)

// Security info: the user's sign-in methods beside the password
// (authenticator apps, passkeys, recovery codes), added and removed
// through the protocol core's factor API, behind the page's session,
// CSRF token and recent sign-in, as changing the password is.

// factorKind is how the page names a kind of factor.
func factorKind(k store.FactorKind) string {
	switch k {
	case store.FactorTOTP:
		return "Authenticator app"
	case store.FactorPasskey:
		return "Passkey"
	}
	return string(k)
}

// securityInfo adds the section's data to the page: the factors, the
// recovery codes left, and a begun passkey registration for its form.
func (a *Account) securityInfo(q *request, data *ui.Account) error {
	ctx := q.r.Context()
	u := q.self.User()
	fs, err := a.provider.UserFactors(ctx, q.ep, u.ID)
	if err != nil {
		return err
	}
	for _, f := range fs.Factors {
		row := ui.AccountFactor{ID: f.ID, Kind: factorKind(f.Kind), Name: f.Name, Added: when(f.CreatedAt)}
		if !f.LastUsedAt.IsZero() {
			row.LastUsed = when(f.LastUsedAt)
		}
		data.Factors = append(data.Factors, row)
	}
	data.RecoveryCodes = fs.RecoveryCodes
	if q.self.SignedInRecently() {
		ch, err := a.provider.BeginPasskeyRegistration(ctx, q.ep, u, q.session.CSRF)
		if err == nil {
			data.Passkey = &ui.Passkey{Action: q.base + "/security/passkey", Options: string(ch.Options), State: ch.State}
		} else {
			// An origin passkeys cannot be used on (an address, plain
			// http): the page offers the other methods.
			a.log.DebugContext(ctx, "account: no passkey registration", "tenant", q.ep.Tenant.Name, "err", err)
		}
	}
	return nil
}

// recent refuses a change to the sign-in methods without a recent
// sign-in; the section then offers to sign in again.
func (a *Account) recent(q *request) bool {
	if q.self.SignedInRecently() {
		return true
	}
	a.page(q, http.StatusForbidden, pageState{SecurityError: "Sign in again to change your sign-in methods."})
	return false
}

// totpPage begins adding an authenticator app: its QR code and key.
func (a *Account) totpPage(q *request) {
	if !a.recent(q) {
		return
	}
	e, err := a.provider.BeginTOTP(q.r.Context(), q.ep, q.self.User())
	if err != nil {
		a.fail(q, err)
		return
	}
	a.renderTOTP(q, http.StatusOK, e, "")
}

func (a *Account) renderTOTP(q *request, status int, e oauth.TOTPEnrolment, message string) {
	// The QR code is an image in the page (a data: URL), so that the
	// secret goes nowhere else.
	q.w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'")
	a.render(q.w, q.r, status, "account_totp", ui.AccountTOTP{Base: q.base, CSRF: q.session.CSRF, Pending: e.Pending,
		QR: template.URL(e.QR), Secret: ui.GroupsOfFour(e.Secret), Error: message, TenantName: q.ep.Tenant.Name})
}

// confirmTOTP adds the authenticator app whose first code the form
// carries. A first factor comes with recovery codes, shown once.
func (a *Account) confirmTOTP(q *request) {
	if !a.recent(q) {
		return
	}
	f := q.r.PostForm
	_, codes, e := a.provider.ConfirmTOTP(q.r.Context(), q.ep, q.self.User(), f.Get("pending"), f.Get("code"), f.Get("name"), q.address)
	if e != nil {
		if e.Code == oauth.ErrServerError {
			a.fail(q, e)
			return
		}
		// A page answers 400, not the token endpoint's 401 (which would
		// want a WWW-Authenticate challenge).
		status := e.Status
		if status == http.StatusUnauthorized || status == 0 {
			status = http.StatusBadRequest
		}
		// The same key again, to type the right code.
		pending, err := a.provider.ResumeTOTP(q.ep, q.self.User(), f.Get("pending"))
		if err != nil {
			a.page(q, status, pageState{SecurityError: e.Description})
			return
		}
		a.renderTOTP(q, status, pending, e.Description)
		return
	}
	if len(codes) > 0 {
		a.showCodes(q, "Authenticator app added", "Your authenticator app is set up. These are your recovery codes.", codes)
		return
	}
	a.done(q, "totp")
}

// addPasskey stores the passkey the browser just created.
func (a *Account) addPasskey(q *request) {
	if !a.recent(q) {
		return
	}
	f := q.r.PostForm
	_, codes, err := a.provider.FinishPasskeyRegistration(q.r.Context(), q.ep, q.self.User(), q.session.CSRF,
		f.Get("passkey_state"), f.Get("credential"), f.Get("name"), q.address)
	if errors.Is(err, passkey.ErrRefused) {
		a.log.InfoContext(q.r.Context(), "account: passkey refused", "tenant", q.ep.Tenant.Name, "reason", err.Error())
		a.page(q, http.StatusBadRequest, pageState{SecurityError: "The passkey could not be added. Try again, or use another device."})
		return
	}
	if err != nil {
		a.fail(q, err)
		return
	}
	if len(codes) > 0 {
		a.showCodes(q, "Passkey added", "Your passkey is set up. These are your recovery codes.", codes)
		return
	}
	a.done(q, "passkey")
}

// removeFactor removes one of the user's sign-in methods.
func (a *Account) removeFactor(q *request) {
	if !a.recent(q) {
		return
	}
	err := a.provider.RemoveFactor(q.r.Context(), q.ep, q.self.User(), q.r.PostForm.Get("factor"), q.address)
	if errors.Is(err, store.ErrNotFound) {
		a.page(q, http.StatusNotFound, pageState{SecurityError: "You have no such sign-in method."})
		return
	}
	if err != nil {
		a.fail(q, err)
		return
	}
	a.done(q, "factor")
}

// newRecoveryCodes replaces the user's recovery codes, shown once.
func (a *Account) newRecoveryCodes(q *request) {
	if !a.recent(q) {
		return
	}
	codes, err := a.provider.RegenerateRecoveryCodes(q.r.Context(), q.ep, q.self.User(), q.address)
	if errors.Is(err, store.ErrNotFound) {
		a.page(q, http.StatusBadRequest, pageState{SecurityError: "Recovery codes stand in for an authenticator app or a passkey: add one first."})
		return
	}
	if err != nil {
		a.fail(q, err)
		return
	}
	a.showCodes(q, "New recovery codes", "These are your new recovery codes; the ones you had before no longer work.", codes)
}

func (a *Account) showCodes(q *request, title, text string, codes []string) {
	a.render(q.w, q.r, http.StatusOK, "account_codes", ui.AccountCodes{Base: q.base, Title: title, Text: text, Codes: codes})
}
