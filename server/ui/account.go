package ui

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
