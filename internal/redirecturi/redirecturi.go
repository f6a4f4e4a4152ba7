// Package redirecturi holds the rules of redirect URIs in one place: what
// an app may register (package admin checks it on every door) and how a
// URI in an authorization request matches a registered one (package oauth).
// The two halves share what a loopback address is, so a URI that may be
// registered as a native app's listener is exactly one whose port floats.
package redirecturi

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// MaxLen bounds a registered redirect URI.
const MaxLen = 2048

// Validate accepts https URIs, http only on loopback hosts (a local
// development server or a native app's listener), and private-use schemes
// for public (native) apps (RFC 8252 §7.1), never with a fragment or user
// information. The error says what is wrong, for the person registering.
func Validate(raw string, public bool) error {
	if len(raw) > MaxLen {
		return fmt.Errorf("redirect URI longer than %d characters", MaxLen)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return fmt.Errorf("redirect URI %q is not an absolute URI", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("redirect URI %q must not contain a fragment", raw)
	}
	if u.User != nil {
		return fmt.Errorf("redirect URI %q must not contain user information", raw)
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return fmt.Errorf("redirect URI %q has no host", raw)
		}
	case "http":
		if !loopbackHost(u.Hostname()) {
			return fmt.Errorf("redirect URI %q: http is allowed only for localhost, 127.0.0.1 and [::1]; use https", raw)
		}
	case "javascript", "data", "file", "vbscript":
		return fmt.Errorf("redirect URI %q uses a forbidden scheme", raw)
	default:
		if !public {
			return fmt.Errorf("redirect URI %q: custom schemes are for public (native) apps", raw)
		}
		if !strings.Contains(u.Scheme, ".") && !strings.HasPrefix(u.Scheme, "msal") {
			return fmt.Errorf("redirect URI %q: a custom scheme must be a reverse domain name such as com.example.app", raw)
		}
	}
	return nil
}

// Match reports whether given is one of the registered redirect URIs: an
// exact match, or, for a public client and http loopback addresses, a
// match in all but the port, because native apps listen on whatever port
// is free (RFC 8252 §7.3; MSAL's interactive flow does this). A
// confidential client is a web server with a fixed address, so its
// redirect URIs match exactly: anything listening on another port of the
// same machine is not that client, and must not receive its codes.
func Match(registered []string, given string, public bool) bool {
	if slices.Contains(registered, given) {
		return true
	}
	if !public {
		return false
	}
	g, err := url.Parse(given)
	if err != nil || g.Scheme != "http" || !loopbackHost(g.Hostname()) || g.Fragment != "" || g.User != nil {
		return false
	}
	for _, r := range registered {
		u, err := url.Parse(r)
		if err != nil || u.Scheme != "http" || u.Hostname() != g.Hostname() {
			continue
		}
		if rootPath(u.EscapedPath()) == rootPath(g.EscapedPath()) && u.RawQuery == g.RawQuery {
			return true
		}
	}
	return false
}

// loopbackHost reports whether host names the machine itself as RFC 8252
// §7.3 lets a native app's redirect URI do: the loopback literals of IPv4
// and IPv6, and "localhost", which MSAL registers. Only these spellings:
// Validate lets nothing else be registered with http, and Match needs the
// registered host to equal the requested one, so another spelling of a
// loopback address (127.0.0.2, [0:0::1]) could never match anyway.
func loopbackHost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// rootPath treats "http://localhost:1234" and "http://localhost:1234/" as
// the same address, as a browser does.
func rootPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
