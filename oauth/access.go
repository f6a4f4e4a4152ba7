package oauth

import (
	"context"
	"net/http"
	"slices"

	"github.com/tessera-id/tessera/store"
)

// Roles and groups in user tokens. A user token carries, in roles, the
// app roles of its audience (the resource, or the client when it is its
// own audience) the user holds in person or through a group; an ID token
// carries the client's. A groups claim names the user's groups when the
// app the token is for asks for one (Graph's groupMembershipClaims: the
// resource's setting for access tokens, the client's for ID tokens).
// None of it costs a query for apps that define no roles and want no
// groups claim: the store is asked only for what some token needs, once
// for both tokens of a response.

// DefaultGroupsOverage is Entra's limit for JWTs: past it, a token names
// where to read the user's groups instead of naming them (the overage
// claim), so that tokens stay small enough for headers.
const DefaultGroupsOverage = 200

// defaultAccessRole is Entra's Default Access app role id (see
// admin.DefaultAccessRole): an assignment that lets a user sign in to an
// app requiring assignment, and that no roles claim shows.
const defaultAccessRole = "00000000-0000-0000-0000-000000000000"

// CodeNotAssigned is Entra's AADSTS50105: "The signed in user is not
// assigned to a role for the application".
const CodeNotAssigned = 50105

// notAssigned is the refusal of a user not assigned to an app that
// requires assignment. A redirect carries no error_codes, so the
// description starts with the code as Entra's do ("AADSTS50105: …"),
// which is what people search for and what a client can match on.
func notAssigned(code string, app store.App) *Error {
	return newError(code, http.StatusBadRequest, CodeNotAssigned,
		"AADSTS50105: The signed in user is not assigned to a role for the application '%s' (%s).", truncate(app.Name, 200), app.ClientID)
}

// userClaims are the roles and groups claims of one token.
type userClaims struct {
	roles      []string
	groups     []string
	claimNames map[string]string
	claimSrcs  map[string]claimSource
}

// claimSource is one entry of _claim_sources (OpenID Connect Core §5.6.2,
// distributed claims), as Entra writes it for a groups overage.
type claimSource struct {
	Endpoint string `json:"endpoint"`
}

// tokenAccess is what a response's tokens carry of the user's roles and
// groups: the access token's for its audience, the ID token's for the
// client.
type tokenAccess struct {
	access, id userClaims
}

// userAccess resolves the roles and groups the tokens of a response carry
// for user, with at most one store query, and none when neither the
// audience nor (with an ID token) the client wants any.
func (p *Provider) userAccess(ctx context.Context, ep Endpoint, user store.User, audience, client store.App, idToken bool) (tokenAccess, error) {
	var q store.AccessQuery
	if len(audience.Roles) > 0 {
		q.Resources = append(q.Resources, audience.ClientID)
	}
	q.Groups = audience.GroupMembershipClaims.Emits()
	if idToken {
		if len(client.Roles) > 0 && !slices.Contains(q.Resources, client.ClientID) {
			q.Resources = append(q.Resources, client.ClientID)
		}
		q.Groups = q.Groups || client.GroupMembershipClaims.Emits()
	}
	var out tokenAccess
	if !q.Groups && len(q.Resources) == 0 {
		return out, nil
	}
	held, err := p.store.UserAccess(ctx, ep.Tenant.ID, user.ID, q)
	if err != nil {
		return out, err
	}
	claims := func(app store.App) userClaims {
		var c userClaims
		for _, r := range held.Roles[app.ClientID] {
			// A role the app no longer defines is not held any more.
			if r != defaultAccessRole && slices.Contains(app.Roles, r) {
				c.roles = append(c.roles, r)
			}
		}
		if app.GroupMembershipClaims.Emits() && len(held.GroupIDs) > 0 {
			if len(held.GroupIDs) > p.groupsOverage() {
				c.claimNames = map[string]string{"groups": "src1"}
				c.claimSrcs = map[string]claimSource{"src1": {Endpoint: ep.Base + "/api/v1/users/" + user.ID + "/getMemberObjects"}}
			} else {
				c.groups = held.GroupIDs
			}
		}
		return c
	}
	out.access = claims(audience)
	if idToken {
		out.id = claims(client)
	}
	return out, nil
}

func (p *Provider) groupsOverage() int {
	if p.cfg.GroupsOverage > 0 {
		return p.cfg.GroupsOverage
	}
	return DefaultGroupsOverage
}

// checkAssigned refuses a user who is not assigned to client, in person or
// through a group, when the client requires assignment; code is the
// OAuth error the refusal is sent as. Apps that do not require it cost
// nothing.
func (p *Provider) checkAssigned(ctx context.Context, ep Endpoint, client store.App, userID, code string) *Error {
	if !client.AppRoleAssignmentRequired {
		return nil
	}
	held, err := p.store.UserAccess(ctx, ep.Tenant.ID, userID, store.AccessQuery{Resources: []string{client.ClientID}})
	if err != nil {
		return ServerError(err)
	}
	if len(held.Roles[client.ClientID]) == 0 {
		return notAssigned(code, client)
	}
	return nil
}
