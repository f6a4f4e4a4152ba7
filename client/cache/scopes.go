package cache

import "strings"

// Scope rules follow msal-common's ScopeSet: scopes compare
// case-insensitively (with strings.EqualFold: RFC 6749 scopes are ASCII);
// a search ignores the OpenID Connect scopes unless it asks for nothing
// else (then only offline_access is ignored, since no access token carries
// it); and when a new token is saved, the OIDC scopes of a cached token do
// not count towards "intersecting", or every token would replace every
// other.

func isOIDCScope(s string) bool {
	switch len(s) {
	case len("openid"):
		return strings.EqualFold("openid", s)
	case len("profile"):
		return strings.EqualFold("profile", s)
	case len("email"):
		return strings.EqualFold("email", s)
	case len("offline_access"):
		return strings.EqualFold("offline_access", s)
	}
	return false
}

// parseScopes splits a target into lower-cased scopes without duplicates.
func parseScopes(target string) []string {
	fields := strings.Split(strings.ToLower(target), " ")
	out := fields[:0]
	for _, f := range fields {
		if f != "" && !containsFold(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func containsFold(have []string, q string) bool {
	for _, h := range have {
		if strings.EqualFold(h, q) {
			return true
		}
	}
	return false
}

// hasScope reports whether target, lower-cased scopes separated by single
// spaces, contains q.
func hasScope(target, q string) bool {
	for target != "" {
		s := target
		if i := strings.IndexByte(target, ' '); i >= 0 {
			s, target = target[:i], target[i+1:]
		} else {
			target = ""
		}
		if strings.EqualFold(s, q) {
			return true
		}
	}
	return false
}

// scopeIter walks the scopes of a query without allocating. Callers may pass
// "a b" as one element, as a space-separated target, so elements are split
// on spaces too.
type scopeIter struct {
	scopes []string
	rest   string
}

func (it *scopeIter) next() (string, bool) {
	for {
		if it.rest == "" {
			if len(it.scopes) == 0 {
				return "", false
			}
			it.rest, it.scopes = it.scopes[0], it.scopes[1:]
		}
		s := it.rest
		if i := strings.IndexByte(s, ' '); i >= 0 {
			s, it.rest = s[:i], s[i+1:]
		} else {
			it.rest = ""
		}
		if s != "" {
			return s, true
		}
	}
}

// coversScopes reports whether a token granted target (lower-cased,
// single-spaced) satisfies a request for query. An empty request matches
// nothing: the caller must say what it wants.
func coversScopes(target string, query []string) bool {
	other := 0
	it := scopeIter{scopes: query}
	for s, ok := it.next(); ok; s, ok = it.next() {
		if isOIDCScope(s) {
			continue
		}
		if !hasScope(target, s) {
			return false
		}
		other++
	}
	if other > 0 {
		return true
	}
	// Only OIDC scopes were asked for: then they count.
	oidc := 0
	it = scopeIter{scopes: query}
	for s, ok := it.next(); ok; s, ok = it.next() {
		if strings.EqualFold("offline_access", s) {
			continue
		}
		if !hasScope(target, s) {
			return false
		}
		oidc++
	}
	return oidc > 0
}

// intersectScopes reports whether a newly saved token (fresh) replaces a
// cached one (cached): they share a scope other than the OIDC ones.
func intersectScopes(cached, fresh []string) bool {
	onlyOIDC := true
	for _, s := range cached {
		if !isOIDCScope(s) {
			onlyOIDC = false
			break
		}
	}
	for _, s := range cached {
		if !onlyOIDC && isOIDCScope(s) {
			continue
		}
		if containsFold(fresh, s) {
			return true
		}
	}
	return false
}
