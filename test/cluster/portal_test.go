package cluster

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/testbrowser"
)

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestPortalAcrossInstances: with every request of the browser going to a
// random instance, the portal signs the administrator in (the sign-in's
// steps and its callback spread over the instances), serves its pages
// and forms, and signing out on one instance ends the session on all.
func TestPortalAcrossInstances(t *testing.T) {
	each(t, 3, func(t *testing.T, c *cluster) {
		before := make([]int64, len(c.instances))
		for i := range c.instances {
			before[i] = c.hits[i].Load()
		}
		base := strings.TrimSuffix(c.demo.PortalURL, "/")
		var b *testbrowser.Browser
		for k := range 3 {
			b = testbrowser.New(t, c.client)
			o := b.Get(base + "/apps")
			if o.Page != "login" {
				t.Fatalf("sign-in %d: the portal did not ask to sign in: %d %q", k, o.Status, o.Page)
			}
			if o = b.Login(o, c.demo.AdminUsername, c.demo.AdminPassword); o.Status != http.StatusOK || !strings.Contains(o.Body, "<h1>App registrations</h1>") {
				t.Fatalf("sign-in %d: %d %q\n%s", k, o.Status, o.Page, o.Body)
			}
		}
		var session string
		for _, ck := range b.Cookies(mustParse(t, base+"/")) {
			if ck.Name == "tessera_portal" {
				session = ck.Value
			}
		}
		for k := range 6 {
			form := b.Get(base + "/apps/new")
			m := csrfInput.FindStringSubmatch(form.Body)
			if form.Status != http.StatusOK || m == nil {
				t.Fatalf("New registration, %d: %d %q", k, form.Status, form.Page)
			}
			name := "app " + string(rune('a'+k))
			o := b.PostForm(base+"/apps/new", url.Values{"csrf": {html.UnescapeString(m[1])}, "name": {name}, "audience": {"single"}, "platform": {"web"}})
			if o.Status != http.StatusOK || !strings.Contains(o.Body, "<h1>"+name+"</h1>") {
				t.Fatalf("Register, %d: %d %q\n%s", k, o.Status, o.Page, o.Body)
			}
		}

		page := b.Get(base + "/apps")
		m := csrfInput.FindStringSubmatch(page.Body)
		if m == nil {
			t.Fatal("no CSRF token on App registrations")
		}
		if o := b.PostForm(base+"/signout", url.Values{"csrf": {html.UnescapeString(m[1])}}); o.Page != "login" {
			t.Fatalf("signing out led to %d %q", o.Status, o.Page)
		}
		// The old session cookie, as a copy of it would come back: signed
		// out whichever instance answers.
		for k := range 6 {
			stolen := testbrowser.New(t, c.client)
			stolen.SetCookie(mustParse(t, base+"/"), &http.Cookie{Name: "tessera_portal", Value: session, Path: "/"})
			if o := stolen.Get(base + "/apps"); o.Page != "login" {
				t.Errorf("the session cookie after sign-out, try %d: %d %q", k, o.Status, o.Page)
			}
		}
		for i := range c.instances {
			if c.hits[i].Load() == before[i] {
				t.Errorf("instance %d served none of the portal's requests; the test proves nothing about sharing", i)
			}
		}
	})
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
