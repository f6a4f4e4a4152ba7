package oauth

import (
	"slices"
	"strings"
	"testing"
)

func TestParseForm(t *testing.T) {
	p, e := ParseForm("client_id=abc\n  &scope=a%2f.default openid profile\n  &code=xyz\r\n")
	if e != nil {
		t.Fatal(e)
	}
	if p.Get("client_id") != "abc" || p.Get("scope") != "a/.default openid profile" || p.Get("code") != "xyz" {
		t.Fatalf("white space not trimmed: %q", p)
	}
	for _, bad := range []string{
		"a=1&a=2",
		"a=1&%20a=2",
		"a=%zz",
		"a=%00",
		"a=%ff",
		"a=" + strings.Repeat("x", MaxValueLen+1),
		"a=1;b=2",
	} {
		if _, e := ParseForm(bad); e == nil || e.Code != ErrInvalidRequest {
			t.Errorf("ParseForm(%.30q) = %v, want invalid_request", bad, e)
		}
	}
	if _, e := ParseForm("assertion=" + strings.Repeat("x", MaxValueLen+1)); e != nil {
		t.Errorf("a long assertion must be allowed: %v", e)
	}
}

func TestMatchRedirectURI(t *testing.T) {
	registered := []string{"http://localhost", "https://app.example/cb", "http://127.0.0.1/callback"}
	for _, tc := range []struct {
		uri  string
		want bool
	}{
		{"https://app.example/cb", true},
		{"https://app.example/cb/", false},
		{"https://app.example/CB", false},
		{"https://app.example:444/cb", false},
		{"https://app.example/cb?x=1", false},
		{"http://localhost", true},
		{"http://localhost:53117", true},
		{"http://localhost:53117/", true},
		{"http://localhost:53117/cb", false},
		{"http://127.0.0.1:8080/callback", true},
		{"http://127.0.0.1:8080/other", false},
		{"http://localhost.evil.example:80", false},
		{"http://localhost:1@evil.example", false},
		{"https://localhost:8080", false},
		{"http://localhost:8080#frag", false},
	} {
		if got := MatchRedirectURI(registered, tc.uri, true); got != tc.want {
			t.Errorf("MatchRedirectURI(%q, public) = %v, want %v", tc.uri, got, tc.want)
		}
		// A confidential client's redirect URIs match exactly.
		exact := slices.Contains(registered, tc.uri)
		if got := MatchRedirectURI(registered, tc.uri, false); got != exact {
			t.Errorf("MatchRedirectURI(%q, confidential) = %v, want %v", tc.uri, got, exact)
		}
	}
}
