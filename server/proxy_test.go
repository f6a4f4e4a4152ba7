package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestParseTrustedProxies(t *testing.T) {
	tp, err := ParseTrustedProxies(" 10.0.0.0/8, 192.168.1.7 2001:db8::/32\t::ffff:172.16.0.1 ")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tp.String(), "10.0.0.0/8,192.168.1.7/32,2001:db8::/32,172.16.0.1/32"; got != want {
		t.Errorf("parsed %s, want %s", got, want)
	}
	if tp, err := ParseTrustedProxies(""); err != nil || !tp.Empty() {
		t.Errorf("empty list: %v, %v", tp, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "localhost", "10.0.0.1/8/8", "1.2.3", "*"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	// A prefix with host bits set is taken as its network.
	if tp, err := ParseTrustedProxies("10.1.2.3/8"); err != nil || tp.String() != "10.0.0.0/8" {
		t.Errorf("10.1.2.3/8: %v, %v", tp, err)
	}
}

func TestClientAddress(t *testing.T) {
	tp, err := ParseTrustedProxies("10.0.0.0/8, 2001:db8:1::/48")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		peer   string
		xff    []string
		want   string
		noneTo string // without trusted proxies
	}{
		{name: "direct client, no header", peer: "203.0.113.5:4711", want: "203.0.113.5"},
		{name: "untrusted peer's header is ignored", peer: "203.0.113.5:4711", xff: []string{"198.51.100.1"}, want: "203.0.113.5"},
		{name: "one trusted proxy", peer: "10.0.0.2:4711", xff: []string{"198.51.100.1"}, want: "198.51.100.1", noneTo: "10.0.0.2"},
		{name: "client-written hops left of the client are ignored", peer: "10.0.0.2:4711",
			xff: []string{"192.0.2.66, 192.0.2.77, 198.51.100.1"}, want: "198.51.100.1"},
		{name: "chain of trusted proxies", peer: "10.0.0.2:4711", xff: []string{"198.51.100.1, 10.9.9.9, 10.0.0.3"}, want: "198.51.100.1"},
		{name: "several header lines read as one list", peer: "10.0.0.2:4711",
			xff: []string{"192.0.2.66", "198.51.100.1, 10.0.0.3"}, want: "198.51.100.1"},
		{name: "a spoofed trusted address left of the client does not help", peer: "10.0.0.2:4711",
			xff: []string{"10.0.0.9, 198.51.100.1"}, want: "198.51.100.1"},
		{name: "garbage stops at the last trusted hop", peer: "10.0.0.2:4711", xff: []string{"198.51.100.1, not-an-ip, 10.0.0.3"}, want: "10.0.0.3"},
		{name: "empty hop stops too", peer: "10.0.0.2:4711", xff: []string{"198.51.100.1,,"}, want: "10.0.0.2"},
		{name: "all hops trusted: the leftmost", peer: "10.0.0.2:4711", xff: []string{"10.1.1.1, 10.0.0.3"}, want: "10.1.1.1"},
		{name: "trusted peer without header", peer: "10.0.0.2:4711", want: "10.0.0.2"},
		{name: "hops with ports", peer: "10.0.0.2:4711", xff: []string{"[2001:db8:2::7]:5555, 10.0.0.3:80"}, want: "2001:db8:2::7"},
		{name: "IPv6 proxy, IPv4-mapped client", peer: "[2001:db8:1::1]:443", xff: []string{"::ffff:198.51.100.1"}, want: "198.51.100.1", noneTo: "2001:db8:1::1"},
		{name: "IPv4-mapped trusted peer", peer: "[::ffff:10.0.0.2]:443", xff: []string{"198.51.100.1"}, want: "198.51.100.1", noneTo: "10.0.0.2"},
		{name: "unparsable peer", peer: "@pipe", xff: []string{"198.51.100.1"}, want: "@pipe"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/demo/device", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tp.ClientAddress(r); got != c.want {
				t.Errorf("ClientAddress = %q, want %q", got, c.want)
			}
			// Through the server, as the device page sees it.
			if seen := (&Server{cfg: Config{TrustedProxies: tp}}).clientAddress(r); seen != c.want {
				t.Errorf("clientAddress with trusted proxies = %q, want %q", seen, c.want)
			}
			// With no trusted proxy the header never counts.
			want := c.noneTo
			if want == "" {
				want = peerHost(c.peer)
				if a, ok := parseHop(c.peer); ok {
					want = a.String()
				}
			}
			if got := (TrustedProxies{}).ClientAddress(r); got != want {
				t.Errorf("with no trusted proxy: %q, want %q", got, want)
			}
			if seen := (&Server{}).clientAddress(r); seen != peerHost(c.peer) {
				t.Errorf("clientAddress without trusted proxies = %q, want the peer %q", seen, peerHost(c.peer))
			}
		})
	}
}
