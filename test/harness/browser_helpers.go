package harness

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// For returns a view of the same browser tab (same cookies, same page) that
// reports failures to t, records its own requests from now on, and saves
// its own screenshot when t fails. Subtests sharing one browser use it so
// that a failing step fails the subtest it belongs to.
func (b *Browser) For(t *testing.T) *Browser {
	t.Helper()
	ctx, cancel := context.WithCancel(b.ctx)
	v := &Browser{t: t, ctx: ctx, auth: b.auth}
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			v.mu.Lock()
			v.requests = append(v.requests, e.Request.URL)
			v.mu.Unlock()
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			v.screenshot("")
		}
		cancel()
	})
	return v
}

// Requests returns every URL the browser requested since it started or
// since the last ForgetRequests, in order.
func (b *Browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.requests)
}

// Eval evaluates a JavaScript expression in the page through the DevTools
// protocol (it works when the page's scripts are disabled, and is not
// subject to the page's Content-Security-Policy) and decodes its JSON
// result into out.
func (b *Browser) Eval(expression string, out any) {
	b.t.Helper()
	b.run(chromedp.Evaluate(expression, out))
}

// Value is the current value of a form field ("" if there is none). Like
// Eval it reads the page in one call, with no DOM node ids that a
// navigation could invalidate halfway.
func (b *Browser) Value(selector string) string {
	b.t.Helper()
	var v string
	b.Eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e && typeof e.value === "string" ? e.value : ""; })()`, selector), &v)
	return v
}

// InnerText is the text of the page as rendered (document.body.innerText).
func (b *Browser) InnerText() string {
	b.t.Helper()
	var s string
	b.Eval(`document.body ? document.body.innerText : ""`, &s)
	return s
}

// Focus moves keyboard focus to an element, failing the test if there is
// no such element.
func (b *Browser) Focus(selector string) {
	b.t.Helper()
	var ok bool
	b.Eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.focus(); return true; })()`, selector), &ok)
	if !ok {
		b.t.Fatalf("browser: focus %s: no such element (at %s)", selector, b.Location())
	}
}

// PressTab sends a real Tab key press (keyDown and keyUp through the
// DevTools input domain), which moves focus as a keyboard user's would.
func (b *Browser) PressTab() {
	b.t.Helper()
	b.run(chromedp.KeyEvent(kb.Tab))
}

// ActiveElement describes document.activeElement: "#id" when it has an
// id, otherwise "tag[type=...]" or the tag name.
func (b *Browser) ActiveElement() string {
	b.t.Helper()
	var s string
	b.Eval(`(() => {
		const e = document.activeElement;
		if (!e) return "";
		if (e.id) return "#" + e.id;
		const type = e.getAttribute("type");
		return e.tagName.toLowerCase() + (type ? "[type=" + type + "]" : "");
	})()`, &s)
	return s
}

// DisableScripts turns JavaScript off in the tab, for this page and the
// pages it navigates to, as a browser with scripting disabled would.
func (b *Browser) DisableScripts() {
	b.t.Helper()
	b.run(emulation.SetScriptExecutionDisabled(true))
}

// AddPasskeyAuthenticator attaches a virtual authenticator to the
// browser's tab (DevTools WebAuthn.addVirtualAuthenticator): an internal
// platform authenticator holding discoverable credentials, which answers
// every ceremony at once and verifies the user when verified is set, as a
// fingerprint reader would. It returns the authenticator's id.
func (b *Browser) AddPasskeyAuthenticator(verified bool) webauthn.AuthenticatorID {
	b.t.Helper()
	var id webauthn.AuthenticatorID
	b.run(webauthn.Enable(), chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		id, err = webauthn.AddVirtualAuthenticator(&webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: verified, AutomaticPresenceSimulation: true,
		}).Do(ctx)
		return err
	}))
	return id
}

// PasskeyCredentials lists what the virtual authenticator holds.
func (b *Browser) PasskeyCredentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	b.t.Helper()
	var creds []*webauthn.Credential
	b.run(chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		creds, err = webauthn.GetCredentials(id).Do(ctx)
		return err
	}))
	return creds
}

// SetPasskeyPresence turns the virtual authenticator's automatic user
// presence on or off: off, a ceremony waits for a touch that never comes,
// as when the user ignores the autofill's passkey and types a password.
func (b *Browser) SetPasskeyPresence(id webauthn.AuthenticatorID, present bool) {
	b.t.Helper()
	b.run(webauthn.SetAutomaticPresenceSimulation(id, present))
}
