package admin

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tessera-id/tessera/store"
)

// Bounds on a scope's consent texts. The display names are one line of a
// consent page, like an app's name; a description is a sentence or two
// under it.
const (
	maxScopeDisplayName = 120
	maxScopeDescription = 400
)

// ExposeScope exposes the delegated scope value on app, or changes it when
// app exposes it already: d says who may consent to it and what consent
// pages show for it, and replaces whatever was said before. One write, one
// audit entry.
func (a *Admin) ExposeScope(ctx context.Context, app store.App, value string, d store.ScopeDetail) (store.App, error) {
	value = strings.TrimSpace(value)
	scopes := uniqueAppend(slices.Clone(app.Scopes), value)
	details := maps.Clone(app.ScopeDetails)
	if details == nil {
		details = map[string]store.ScopeDetail{}
	}
	details[value] = d
	return a.PatchApp(ctx, app, AppPatch{Scopes: &scopes, ScopeDetails: &details})
}

// exposedScopes checks an app's delegated scopes and what it says of them.
// details replaces old (the app's details so far) when given; otherwise
// old is kept for the scopes that remain. Either way a scope that is no
// longer exposed loses its details, and a scope whose details say only
// the defaults has none, so the map holds only what tells something.
func exposedScopes(scopes []string, details *map[string]store.ScopeDetail, old map[string]store.ScopeDetail) ([]string, map[string]store.ScopeDetail, error) {
	scopes, err := exposedList("scope", scopes)
	if err != nil {
		return nil, nil, err
	}
	src := old
	if details != nil {
		src = *details
		if len(src) > maxExposed {
			return nil, nil, invalid("details of %d scopes: at most %d", len(src), maxExposed)
		}
		for v := range src {
			if !slices.Contains(scopes, v) {
				return nil, nil, invalid("scope %q has details but is not one of the scopes the app exposes", v)
			}
		}
	}
	var out map[string]store.ScopeDetail
	for _, v := range scopes {
		d, ok := src[v]
		if !ok {
			continue
		}
		if details != nil {
			if d, err = validScopeDetail(v, d); err != nil {
				return nil, nil, err
			}
		}
		if d == (store.ScopeDetail{Type: store.ConsentByUser}) || d == (store.ScopeDetail{}) {
			continue
		}
		if out == nil {
			out = map[string]store.ScopeDetail{}
		}
		out[v] = d
	}
	return scopes, out, nil
}

// validScopeDetail checks and tidies what is said of the scope value: a
// known consent type (none means users may consent), and texts that are
// short and hold no control or invisible characters, for the same reasons
// as an app's name (validName): consent pages show them to users, and a
// text that reads reversed or hides a line break can mislead them.
func validScopeDetail(value string, d store.ScopeDetail) (store.ScopeDetail, error) {
	switch d.Type {
	case "":
		d.Type = store.ConsentByUser
	case store.ConsentByUser, store.ConsentByAdmin:
	default:
		return d, invalid("scope %q: who may consent is %q; use %s (admins and users) or %s (admins only)",
			value, d.Type, store.ConsentByUser, store.ConsentByAdmin)
	}
	for _, f := range []struct {
		what string
		text *string
		max  int
	}{
		{"admin consent display name", &d.AdminConsentDisplayName, maxScopeDisplayName},
		{"admin consent description", &d.AdminConsentDescription, maxScopeDescription},
		{"user consent display name", &d.UserConsentDisplayName, maxScopeDisplayName},
		{"user consent description", &d.UserConsentDescription, maxScopeDescription},
	} {
		*f.text = strings.TrimSpace(*f.text)
		if err := validScopeText(value, f.what, *f.text, f.max); err != nil {
			return d, err
		}
	}
	return d, nil
}

func validScopeText(value, what, text string, max int) error {
	if len(text) > max || !utf8.ValidString(text) {
		return invalid("scope %q: the %s must be at most %d printable characters", value, what, max)
	}
	for _, r := range text {
		if kind := invisible(r); kind != "" {
			return invalid("scope %q: the %s contains %U, %s; remove it", value, what, r, kind)
		}
	}
	return nil
}

// scopeDetails adds to c, per scope, what changed in what the app
// says of it.
func (c *changes) scopeDetails(old, new map[string]store.ScopeDetail) {
	values := slices.Collect(maps.Keys(old))
	for v := range new {
		if _, ok := old[v]; !ok {
			values = append(values, v)
		}
	}
	slices.Sort(values)
	for _, v := range values {
		c.text("api.oauth2PermissionScopes["+v+"]", scopeDetailText(old[v]), scopeDetailText(new[v]))
	}
}

// scopeDetailText is one scope's details as audit text, under Graph's
// names; the defaults say nothing.
func scopeDetailText(d store.ScopeDetail) string {
	var parts []string
	if d.Type != "" && d.Type != store.ConsentByUser {
		parts = append(parts, "type="+string(d.Type))
	}
	for _, f := range []struct{ name, text string }{
		{"adminConsentDisplayName", d.AdminConsentDisplayName},
		{"adminConsentDescription", d.AdminConsentDescription},
		{"userConsentDisplayName", d.UserConsentDisplayName},
		{"userConsentDescription", d.UserConsentDescription},
	} {
		if f.text != "" {
			parts = append(parts, fmt.Sprintf("%s=%q", f.name, f.text))
		}
	}
	return strings.Join(parts, " ")
}
