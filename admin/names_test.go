package admin_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/password"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
	"github.com/tessera-id/tessera/token"
)

func newAdmin(t *testing.T) (*admin.Admin, store.Tenant) {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "tessera.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := admin.New(st, token.NewMasterKey(), nil, password.Params{Memory: 64, Time: 1, Threads: 1})
	ten, err := a.CreateTenant(t.Context(), "contoso", "")
	if err != nil {
		t.Fatal(err)
	}
	return a, ten
}

func createUser(t *testing.T, a *admin.Admin, ten store.Tenant, name string) (store.User, error) {
	u, _, err := a.CreateUser(t.Context(), ten, admin.UserOptions{Username: name, Password: "long enough password"})
	return u, err
}

// wantInvalid checks that err is an input error whose message has all of
// the given parts.
func wantInvalid(t *testing.T, what string, err error, parts ...string) {
	t.Helper()
	if !errors.Is(err, admin.ErrInvalid) {
		t.Errorf("%s: got %v, want an invalid-input error", what, err)
		return
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q lacks %q", what, err, p)
		}
	}
}

func TestUsernamesAreNormalised(t *testing.T) {
	a, ten := newAdmin(t)
	demo, err := createUser(t, a, ten, "demo")
	if err != nil {
		t.Fatal(err)
	}
	// Full width and upper case are the same name as demo: refused as a
	// duplicate, not created beside it.
	for _, dup := range []string{"ｄｅｍｏ", "DEMO", "Ｄｅｍｏ"} {
		_, err := createUser(t, a, ten, dup)
		wantInvalid(t, dup, err, "already exists", `"demo"`)
	}
	// A full-width name is stored in its normal form, and found by any form.
	bob, err := createUser(t, a, ten, "ＢＯＢ@Contoso.Test")
	if err != nil {
		t.Fatal(err)
	}
	if bob.Username != "bob@contoso.test" {
		t.Errorf("stored username %q, want the PRECIS form bob@contoso.test", bob.Username)
	}
	for _, name := range []string{"bob@contoso.test", "ＢＯＢ@ＣＯＮＴＯＳＯ.ＴＥＳＴ"} {
		if u, err := a.User(t.Context(), ten, name); err != nil || u.ID != bob.ID {
			t.Errorf("User(%q) = %v, %v; want bob", name, u.ID, err)
		}
	}
	if u, err := a.User(t.Context(), ten, "Ｄｅｍｏ"); err != nil || u.ID != demo.ID {
		t.Errorf("User(Ｄｅｍｏ) = %v, %v; want demo", u.ID, err)
	}
}

func TestUsernamesRefusedOrAccepted(t *testing.T) {
	a, ten := newAdmin(t)
	for _, tc := range []struct {
		name  string
		parts []string
	}{
		{"dеmo", []string{"Latin and Cyrillic", "U+0435"}},               // Cyrillic е
		{"alice@cоntoso.test", []string{"Latin and Cyrillic", "U+043E"}}, // Cyrillic о in the domain
		{"αlice", []string{"Greek and Latin", "U+006C"}},                 // Greek alpha first
		{"bοb", []string{"Latin and Greek", "U+03BF"}},                   // Greek omicron
		{"a b", []string{"no spaces"}},                                   // PRECIS: space
		{"bob\u200b", []string{"invisible"}},                             // PRECIS: zero width
		{"bob\u202e", []string{"invisible"}},                             // PRECIS: bidi control
		{"bob\u2603", []string{"other symbols"}},                         // PRECIS: a symbol
		{strings.Repeat("a", 257), []string{"1-256"}},                    // too long
		{"", []string{"1-256"}},                                          //
	} {
		_, err := createUser(t, a, ten, tc.name)
		wantInvalid(t, tc.name, err, tc.parts...)
	}
	for _, tc := range []struct{ name, stored string }{
		{"дмитрий", "дмитрий"},
		{"Дмитрий@contoso.test", "дмитрий@contoso.test"},
		{"σωκράτης", "σωκράτης"},
		{"田中たなかタナカ", "田中たなかタナカ"},
		{"alice.o'neil+tag_1-2@contoso.test", "alice.o'neil+tag_1-2@contoso.test"},
	} {
		u, err := createUser(t, a, ten, tc.name)
		if err != nil {
			t.Errorf("%q refused: %v", tc.name, err)
			continue
		}
		if u.Username != tc.stored {
			t.Errorf("%q stored as %q, want %q", tc.name, u.Username, tc.stored)
		}
	}
}

func TestDisplayNamesRefuseInvisibleCharacters(t *testing.T) {
	a, ten := newAdmin(t)
	app, err := a.RegisterApp(t.Context(), ten, admin.RegisterOptions{Name: "Files"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, part string
	}{
		{"Contoso\u202eppA", "U+202E, a bidirectional text control"},
		{"\u2067Admin", "U+2067, a bidirectional text control"},
		{"Ali\u200bce", "U+200B, a zero-width character"},
		{"Ali\ufeffce", "U+FEFF, a zero-width character"},
		{"Alice\u00ad", "U+00AD, an invisible formatting character"},
		{"Ali\u0085ce", "U+0085, a control character"},
		{"Alice\u2028Bob", "U+2028, a line or paragraph separator"},
	} {
		_, _, err := a.CreateUser(t.Context(), ten, admin.UserOptions{Username: "u" + strings.ToLower(tc.part[2:6]), Password: "long enough password", Name: tc.name})
		wantInvalid(t, "user name "+tc.part, err, tc.part)
		_, err = a.RegisterApp(t.Context(), ten, admin.RegisterOptions{Name: tc.name})
		wantInvalid(t, "app name "+tc.part, err, tc.part)
		name := tc.name
		_, err = a.Set(t.Context(), app, admin.AppSettings{Name: &name})
		wantInvalid(t, "app set name "+tc.part, err, tc.part)
	}
	// Names in right-to-left scripts need no control characters.
	if _, _, err := a.CreateUser(t.Context(), ten, admin.UserOptions{Username: "rtl", Password: "long enough password", Name: "דוד כהן"}); err != nil {
		t.Errorf("a Hebrew display name: %v", err)
	}
	if _, err := a.RegisterApp(t.Context(), ten, admin.RegisterOptions{Name: "ファイル (Files) – 2"}); err != nil {
		t.Errorf("a Japanese app name: %v", err)
	}
}
