package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/admin"
)

// TestPortalGroups: the Groups page over HTTP: New group, add a user and a
// group as members, remove one, a refused form, delete; each audited.
func TestPortalGroups(t *testing.T) {
	e := newEnv(t)
	e.globalAdmin()
	u, _ := e.signInToPortal("alice@contoso.test", e.password)
	list := u.Get(u.base + "/groups")
	if list.Status != http.StatusOK || !strings.Contains(list.Body, "<h1>Groups</h1>") || !strings.Contains(list.Body, `aria-current="page">Groups</a>`) {
		t.Fatalf("groups page: %d\n%s", list.Status, list.Body)
	}
	form := u.Get(u.base + "/groups/new")
	page := u.post(form, "/groups/new", url.Values{"name": {"Engineering"}, "description": {"Builders"}})
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "<h1>Engineering</h1>") {
		t.Fatalf("after New group: %d\n%s", page.Status, page.Body)
	}
	groupURL := page.URL.Path
	staff, err := e.admin.CreateGroup(t.Context(), e.tenant, admin.GroupOptions{Name: "Staff"})
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(groupURL, "/contoso/portal")
	page = u.post(page, path, url.Values{"action": {"add-member"}, "member": {"alice@contoso.test"}})
	page = u.post(page, path, url.Values{"action": {"add-member"}, "member": {"Staff"}})
	if !strings.Contains(page.Body, "Saved.") || !strings.Contains(page.Body, ">alice@contoso.test</a>") || !strings.Contains(page.Body, ">Staff</a>") {
		t.Fatalf("members not shown:\n%s", page.Body)
	}
	refused := u.post(page, path, url.Values{"action": {"add-member"}, "member": {"nobody"}})
	if refused.Status != http.StatusBadRequest || !strings.Contains(refused.Body, "No user or group nobody") {
		t.Errorf("unknown member: %d", refused.Status)
	}
	page = u.post(page, path, url.Values{"action": {"remove-member"}, "member": {staff.ID}})
	if strings.Contains(page.Body, ">Staff</a>") {
		t.Errorf("Staff still a member")
	}
	if noCSRF := u.PostForm(u.base+path, url.Values{"action": {"delete"}, "confirm": {"Engineering"}}); noCSRF.Status == http.StatusSeeOther || noCSRF.Status == http.StatusOK && strings.Contains(noCSRF.Body, "<h1>Groups</h1>") {
		t.Errorf("a form without CSRF deleted the group: %d", noCSRF.Status)
	}
	page = u.post(page, path, url.Values{"action": {"delete"}, "confirm": {"Engineering"}})
	if !strings.Contains(page.Body, "<h1>Groups</h1>") || strings.Contains(page.Body, "Engineering") {
		t.Errorf("after delete: %d\n%s", page.Status, page.Body)
	}
}
