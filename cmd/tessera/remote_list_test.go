package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The remote directory follows @odata.nextLink's cursor on --server, not
// the link's host: the server builds links from its public URL, and the
// bearer token goes nowhere else. A link of another collection is refused.
func TestRemoteListFollowsTheCursorOnItsOwnServer(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("request without the token: %s", r.URL)
		}
		paths = append(paths, r.URL.RequestURI())
		page := map[string]any{"value": []any{map[string]any{"appId": r.URL.Query().Get("$skiptoken")}}}
		switch r.URL.Query().Get("$skiptoken") {
		case "":
			page["@odata.nextLink"] = "https://public.example/contoso/api/v1/applications?$top=1&$skiptoken=b"
		case "b":
			page["@odata.nextLink"] = "https://public.example/contoso/api/v1/users?$skiptoken=c"
		}
		_ = json.NewEncoder(w).Encode(page)
	}))
	defer srv.Close()
	d := &remoteDirectory{server: srv.URL + "/contoso", tenant: "contoso", hc: srv.Client(),
		token: func(context.Context) (string, error) { return "tok", nil }}
	var got []string
	err := d.list(t.Context(), "/applications?$top=1", func(raw json.RawMessage) error {
		var a struct{ AppID string }
		err := json.Unmarshal(raw, &a)
		got = append(got, a.AppID)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "not of /applications") {
		t.Fatalf("a link to another collection was followed: %v (pages %v)", err, paths)
	}
	if len(paths) != 2 || paths[1] != "/contoso/api/v1/applications?$top=1&$skiptoken=b" {
		t.Errorf("requests %v: want the second page's cursor on the test server", paths)
	}
}
