package oauth

import (
	"context"
	"slices"
	"testing"

	"github.com/tessera-id/tessera/store"
)

// accessStore answers UserAccess with what it holds and counts the calls;
// every other method of the contract is left nil, so a call to one fails
// the test loudly.
type accessStore struct {
	store.Store
	held  store.Access
	calls int
	asked store.AccessQuery
}

func (s *accessStore) UserAccess(_ context.Context, _, _ string, q store.AccessQuery) (store.Access, error) {
	s.calls++
	s.asked = q
	return s.held, nil
}

// TestUserAccessQueriesOnlyWhenNeeded: tokens of apps that define no roles
// and want no groups claim cost no query; otherwise one query answers both
// tokens of a response. Roles the app no longer defines and default
// access stay out of roles; past the limit, groups give way to the
// overage claim.
func TestUserAccessQueriesOnlyWhenNeeded(t *testing.T) {
	held := store.Access{GroupIDs: []string{"g1", "g2", "g3"},
		Roles: map[string][]string{"api": {"Old.Role", "Reader", defaultAccessRole}, "web": {"Web.Admin"}}}
	plain := store.App{ClientID: "web"}
	webRoles := store.App{ClientID: "web", Roles: []string{"Web.Admin"}}
	webGroups := store.App{ClientID: "web", GroupMembershipClaims: store.GroupsSecurity}
	api := store.App{ClientID: "api", Roles: []string{"Reader"}}
	apiGroups := store.App{ClientID: "api", Roles: []string{"Reader"}, GroupMembershipClaims: store.GroupsAll}
	ep := Endpoint{Tenant: store.Tenant{ID: "t"}, Base: "https://id.test/t"}
	user := store.User{ID: "u"}
	for _, tc := range []struct {
		name             string
		audience, client store.App
		idToken          bool
		overage          int
		calls            int
		asked            store.AccessQuery
		access, id       userClaims
	}{
		{name: "no roles, no groups claim", audience: plain, client: plain, idToken: true},
		{name: "ID token of a client without roles for an API without roles", audience: store.App{ClientID: "api"}, client: plain, idToken: true},
		{name: "access token for an API with roles", audience: api, client: plain, calls: 1,
			asked: store.AccessQuery{Resources: []string{"api"}}, access: userClaims{roles: []string{"Reader"}}},
		{name: "client roles need an ID token", audience: store.App{ClientID: "api"}, client: webRoles},
		{name: "both tokens, one query", audience: api, client: webGroups, idToken: true, calls: 1,
			asked:  store.AccessQuery{Groups: true, Resources: []string{"api"}},
			access: userClaims{roles: []string{"Reader"}}, id: userClaims{groups: []string{"g1", "g2", "g3"}}},
		{name: "client as its own audience", audience: webRoles, client: webRoles, idToken: true, calls: 1,
			asked:  store.AccessQuery{Resources: []string{"web"}},
			access: userClaims{roles: []string{"Web.Admin"}}, id: userClaims{roles: []string{"Web.Admin"}}},
		{name: "overage", audience: apiGroups, client: plain, overage: 2, calls: 1,
			asked: store.AccessQuery{Groups: true, Resources: []string{"api"}},
			access: userClaims{roles: []string{"Reader"}, claimNames: map[string]string{"groups": "src1"},
				claimSrcs: map[string]claimSource{"src1": {Endpoint: "https://id.test/t/api/v1/users/u/getMemberObjects"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &accessStore{held: held}
			cfg := DefaultConfig()
			cfg.GroupsOverage = tc.overage
			p := New(cfg, Deps{Store: st})
			got, err := p.userAccess(t.Context(), ep, user, tc.audience, tc.client, tc.idToken)
			if err != nil {
				t.Fatal(err)
			}
			if st.calls != tc.calls {
				t.Errorf("%d queries, want %d", st.calls, tc.calls)
			}
			if tc.calls > 0 && (st.asked.Groups != tc.asked.Groups || !slices.Equal(st.asked.Resources, tc.asked.Resources)) {
				t.Errorf("asked %+v, want %+v", st.asked, tc.asked)
			}
			for _, c := range []struct {
				what      string
				got, want userClaims
			}{{"access", got.access, tc.access}, {"id", got.id, tc.id}} {
				if !slices.Equal(c.got.roles, c.want.roles) || !slices.Equal(c.got.groups, c.want.groups) ||
					len(c.got.claimNames) != len(c.want.claimNames) || c.got.claimSrcs["src1"] != c.want.claimSrcs["src1"] {
					t.Errorf("%s token claims %+v, want %+v", c.what, c.got, c.want)
				}
			}
		})
	}

	// An app that does not require assignment costs no query either.
	st := &accessStore{}
	p := New(DefaultConfig(), Deps{Store: st})
	if e := p.checkAssigned(t.Context(), ep, plain, "u", ErrAccessDenied); e != nil || st.calls != 0 {
		t.Errorf("assignment not required: %v after %d queries", e, st.calls)
	}
	required := store.App{ClientID: "web", AppRoleAssignmentRequired: true}
	if e := p.checkAssigned(t.Context(), ep, required, "u", ErrAccessDenied); e == nil || e.Number != CodeNotAssigned || e.Code != ErrAccessDenied {
		t.Errorf("unassigned: %v", e)
	}
	st.held = store.Access{Roles: map[string][]string{"web": {defaultAccessRole}}}
	if e := p.checkAssigned(t.Context(), ep, required, "u", ErrAccessDenied); e != nil {
		t.Errorf("default access: %v", e)
	}
}
