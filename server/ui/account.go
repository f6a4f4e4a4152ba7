package ui

import (
	"html/template"
	"strings"
)

// Account is the signed-in user's own page, /{tenant}/account: one page
// of sections, each a plain form, so that it works without JavaScript.
type Account struct {
	Base       string // /{tenant}/account, which every form posts below
	CSRF       string
	TenantName string
	TenantID   string

	UserID      string
	Username    string
	DisplayName string
	Email       string

	// Notice is what the last action did, shown at the top of the section
	// whose id is NoticeSection.
	Notice        string
	NoticeSection string
	// Recent says the user signed in less than RecentMinutes ago, as
	// changing the password and signing out other sessions require;
	// otherwise those sections offer to sign in again instead.
	Recent        bool
	RecentMinutes int
	SignedInAt    string

	PasswordError string
	MinPassword   int
	MaxPassword   int

	Sessions []AccountSession
	// MoreSessions is how many other sessions there are beyond those
	// listed.
	MoreSessions  int
	SessionsError string

	Apps      []AccountApp
	AppsError string

	// Factors are the user's sign-in methods beside the password, and
	// RecoveryCodes how many unused recovery codes they have.
	Factors       []AccountFactor
	RecoveryCodes int
	SecurityError string
	// Passkey is the registration the "Add a passkey" form runs; nil
	// where the page's origin cannot use passkeys.
	Passkey *Passkey
}

// AccountFactor is one sign-in method of the Security info section.
type AccountFactor struct {
	ID       string
	Kind     string // "Authenticator app", "Passkey"
	Name     string
	Added    string
	LastUsed string
}

// AccountTOTP is the page that sets up an authenticator app from the
// account page: the QR code and key, and the form for its first code.
type AccountTOTP struct {
	Base, CSRF string
	Pending    string
	QR         template.URL
	Secret     string
	Error      string
	TenantName string
}

// AccountCodes shows new recovery codes, once.
type AccountCodes struct {
	Base  string
	Title string
	Text  string
	Codes []string
}

// AccountSession is one line of the sessions section.
type AccountSession struct {
	ID         string
	Started    string
	SignedInAt string
	Expires    string
	Current    bool
}

// AccountApp is one app of the "Apps with access" section.
type AccountApp struct {
	ClientID    string
	Name        string
	GrantedAt   string
	Permissions []Permission
}

// AccountMessage is a page of the account page's with a title, one
// paragraph and a way back: a result, a refusal or a failure.
type AccountMessage struct {
	Title string
	Text  string
	Link  string // the account page, "" for none
	// LinkText is the link's words, "Go to your account page" when "".
	LinkText string
	Error    bool
}

// GroupsOfFour spaces an authenticator app's key into groups of four
// characters, as people read and type it (the apps ignore the spaces),
// and so that it wraps on a phone.
func GroupsOfFour(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}
