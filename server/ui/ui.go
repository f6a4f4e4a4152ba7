// Package ui renders the pages a browser sees during sign-in: plain HTML
// forms that work without JavaScript, parsed once at start.
package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Static is the stylesheet and other assets, served under /assets/.
func Static() fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	return sub
}

// Pages holds the parsed templates.
type Pages struct {
	t *template.Template
}

// New parses the embedded templates.
func New() (*Pages, error) {
	t, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("ui: parse templates: %w", err)
	}
	return &Pages{t: t}, nil
}

// Login is the sign-in page.
type Login struct {
	Action     string
	RequestID  string
	CSRF       string
	ClientName string
	TenantName string
	Username   string
	Error      string
	// Passkey, when set, offers "Sign in with a passkey".
	Passkey *Passkey
}

// Passkey is a passkey ceremony a page runs (passkey.js): where its
// answer goes, the options for the browser (JSON, carried in a data
// attribute) and the ceremony's sealed state.
type Passkey struct {
	Action  string
	Options string
	State   string
}

// Consent is the consent page.
type Consent struct {
	Action      string
	RequestID   string
	CSRF        string
	ClientName  string
	Username    string
	Permissions []Permission
	// NeedsAdmin shows the page that says only an admin can grant what
	// the app asks for, with a way back to it instead of Accept.
	NeedsAdmin bool
	// AccountURL is the user's account page, where consent is withdrawn;
	// "" when the server serves none.
	AccountURL string
}

// SecondFactor is the page that asks for a second factor. Method is the
// form shown; Others link to the page with another method.
type SecondFactor struct {
	Action      string
	RequestID   string
	CSRF        string
	ClientName  string
	TenantName  string
	Username    string
	Method      string
	Others      []Link
	SignInAgain string
	StepUp      bool
	Error       string
	Passkey     *Passkey
}

// Link is a link with its text.
type Link struct{ Href, Label string }

// Enrol is the page that sets up an authenticator app. QR is a data:
// URL the server made, hence template.URL.
type Enrol struct {
	Action     string
	RequestID  string
	CSRF       string
	ClientName string
	TenantName string
	Username   string
	Secret     string
	QR         template.URL
	Error      string
}

// Recovery shows new recovery codes once.
type Recovery struct {
	Action     string
	RequestID  string
	CSRF       string
	TenantName string
	Codes      []string
}

// Permission is one line of the consent page; Detail, when set, is shown
// under it.
type Permission struct {
	Scope       string
	Description string
	Detail      string
}

// Error is the page shown when the client cannot be sent the error.
type Error struct {
	// SignOut heads the page as a failed sign-out rather than sign-in.
	SignOut     bool
	Code        string
	Description string
	TraceID     string
	Timestamp   string
}

// FormPost carries an authorization response to the client in a form the
// browser submits (response_mode=form_post).
type FormPost struct {
	Action string
	Fields []Field
	Nonce  string
}

// Device is the page where a user types a device's code.
type Device struct {
	Action     string
	UserCode   string
	TenantName string
	Error      string
}

// SignedOut is the page after a sign-out that has applications to tell in
// the front channel: one hidden iframe each, then on to Continue, when the
// application that asked named where to go.
type SignedOut struct {
	TenantName   string
	FrontChannel []string // front-channel logout URIs with iss and sid
	// Continue is the post_logout_redirect_uri, or "". It is a
	// template.URL because it was matched against the app's registered
	// URIs already, and a native app's (com.example.app:/logout) is a
	// scheme html/template would otherwise replace with #ZgotmplZ.
	Continue template.URL
	Nonce    string
}

// Message is a page with a title and one paragraph: the result of a
// device sign-in, a sign-out.
type Message struct {
	Title string
	Text  string
	Error bool
}

// LogoutConfirm asks a signed-in user whether to sign out, when the
// request does not prove that the application asking took part in the
// session.
type LogoutConfirm struct {
	Action     string
	CSRF       string
	Fields     []Field // the logout request's parameters, repeated
	TenantName string
	ClientName string
	Username   string
}

// Field is one hidden form field.
type Field struct{ Name, Value string }

// Render returns the named page. It renders into a buffer so a template
// error never leaves half a page on the wire.
func (p *Pages) Render(name string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := p.t.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("ui: render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}
