package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the addresses of the proxies (load balancers) in
// front of the server whose X-Forwarded-For header is believed. The zero
// value trusts nobody.
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// ParseTrustedProxies reads a list of CIDR prefixes or single addresses,
// separated by commas or white space, such as "10.0.0.0/8, 192.168.1.7".
// The empty string trusts nobody.
func ParseTrustedProxies(s string) (TrustedProxies, error) {
	var tp TrustedProxies
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return TrustedProxies{}, fmt.Errorf("trusted proxies: %q: %w", f, err)
			}
			tp.prefixes = append(tp.prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return TrustedProxies{}, fmt.Errorf("trusted proxies: %q is neither an address nor a CIDR prefix: %w", f, err)
		}
		a = a.Unmap()
		tp.prefixes = append(tp.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return tp, nil
}

// Empty reports whether no proxy is trusted.
func (tp TrustedProxies) Empty() bool { return len(tp.prefixes) == 0 }

// String lists the prefixes, for logs.
func (tp TrustedProxies) String() string {
	s := make([]string, len(tp.prefixes))
	for i, p := range tp.prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func (tp TrustedProxies) trusts(a netip.Addr) bool {
	for _, p := range tp.prefixes {
		// An IPv4 prefix never contains an IPv6 address and the other way
		// round; addresses are unmapped, so ::ffff:10.0.0.1 is 10.0.0.1.
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddress returns the address of the client that sent r: the peer's
// address unless the peer is a trusted proxy, and otherwise the rightmost
// address of X-Forwarded-For that is not a trusted proxy. Each proxy
// appends the address it received the request from, so the hops right of
// that one were written by proxies we trust and everything left of it by
// the client, who can write anything there. A hop that does not parse
// ends the walk at the last address a trusted proxy vouched for (stricter
// for the rate limit, never looser); when every hop is trusted, the
// leftmost is the client.
func (tp TrustedProxies) ClientAddress(r *http.Request) string {
	peer, ok := parseHop(r.RemoteAddr)
	if !ok {
		return peerHost(r.RemoteAddr)
	}
	if !tp.trusts(peer) {
		return peer.String()
	}
	client := peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		hops := strings.Split(values[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, ok := parseHop(hops[j])
			if !ok {
				return client.String()
			}
			client = a
			if !tp.trusts(a) {
				return a.String()
			}
		}
	}
	return client.String()
}

// parseHop reads one address as X-Forwarded-For or RemoteAddr carry it:
// bare, or with a port ("192.0.2.1:4711", "[2001:db8::1]:4711").
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

// peerHost is RemoteAddr without its port, as far as it parses.
func peerHost(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}
