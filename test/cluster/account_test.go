package cluster

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/testbrowser"
)

// TestAccountAcrossInstances: with every request of the browser going to a
// random instance, the account page signs the user in, serves its page
// and forms (a session ended, the password changed), and signing out on
// one instance ends the session on all.
func TestAccountAcrossInstances(t *testing.T) {
	each(t, 3, func(t *testing.T, c *cluster) {
		before := make([]int64, len(c.instances))
		for i := range c.instances {
			before[i] = c.hits[i].Load()
		}
		base := c.public + "/demo/account"
		// Another browser's session, for this one to end.
		other := testbrowser.New(t, c.client)
		if o := other.Login(other.Get(base), c.demo.Username, c.demo.Password); o.Status != http.StatusOK {
			t.Fatalf("the other browser's sign-in: %d %q", o.Status, o.Page)
		}
		b := testbrowser.New(t, c.client)
		page := b.Login(b.Get(base), c.demo.Username, c.demo.Password)
		if page.Status != http.StatusOK || !strings.Contains(page.Body, "<h1>My account</h1>") || !strings.Contains(page.Body, "Another browser or device") {
			t.Fatalf("sign-in: %d %q\n%s", page.Status, page.Page, page.Body)
		}
		csrf := html.UnescapeString(csrfInput.FindStringSubmatch(page.Body)[1])
		var session string
		for _, ck := range b.Cookies(mustParse(t, base)) {
			if ck.Name == "tessera_account" {
				session = ck.Value
			}
		}
		for k := range 4 {
			if o := b.Get(base); o.Status != http.StatusOK || !strings.Contains(o.Body, "<h1>My account</h1>") {
				t.Fatalf("the page, %d: %d %q", k, o.Status, o.Page)
			}
		}
		if o := b.PostForm(base+"/sessions/signout", url.Values{"csrf": {csrf}}); o.Status != http.StatusOK || !strings.Contains(o.Body, "other sessions were signed out") {
			t.Fatalf("sign out the other session: %d\n%s", o.Status, o.Body)
		}
		if o := other.Get(base); o.Page != "login" {
			t.Errorf("the other browser after its session ended: %d %q", o.Status, o.Page)
		}
		const next = "a cluster-wide new passphrase"
		o := b.PostForm(base+"/password", url.Values{"csrf": {csrf}, "current_password": {c.demo.Password}, "new_password": {next}, "confirm_password": {next}})
		if o.Status != http.StatusOK || !strings.Contains(o.Body, "Your password was changed") {
			t.Fatalf("change the password: %d\n%s", o.Status, o.Body)
		}
		if o := b.PostForm(base+"/signout", url.Values{"csrf": {csrf}}); o.Status != http.StatusOK || !strings.Contains(o.Body, "signed out") {
			t.Fatalf("sign out: %d\n%s", o.Status, o.Body)
		}
		for k := range 6 {
			stolen := testbrowser.New(t, c.client)
			stolen.SetCookie(mustParse(t, base), &http.Cookie{Name: "tessera_account", Value: session, Path: "/demo/account"})
			if o := stolen.Get(base); o.Page != "login" {
				t.Errorf("the session cookie after sign-out, try %d: %d %q", k, o.Status, o.Page)
			}
		}
		again := testbrowser.New(t, c.client)
		if o := again.Login(again.Get(base), c.demo.Username, next); o.Status != http.StatusOK || !strings.Contains(o.Body, "<h1>My account</h1>") {
			t.Errorf("signing in with the new password: %d %q", o.Status, o.Page)
		}
		for i := range c.instances {
			if c.hits[i].Load() == before[i] {
				t.Errorf("instance %d served none of the account page's requests; the test proves nothing about sharing", i)
			}
		}
	})
}
