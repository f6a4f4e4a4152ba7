package redirecturi

import (
	"slices"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
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
		if got := Match(registered, tc.uri, true); got != tc.want {
			t.Errorf("Match(%q, public) = %v, want %v", tc.uri, got, tc.want)
		}
		// A confidential client's redirect URIs match exactly.
		exact := slices.Contains(registered, tc.uri)
		if got := Match(registered, tc.uri, false); got != exact {
			t.Errorf("Match(%q, confidential) = %v, want %v", tc.uri, got, exact)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		uri    string
		public bool
		err    string // a part of the error; "" for valid
	}{
		{"https://app.example/cb", false, ""},
		{"https://app.example/cb?x=1", false, ""},
		{"http://localhost", false, ""},
		{"http://localhost:8080/cb", true, ""},
		{"http://127.0.0.1/callback", true, ""},
		{"http://[::1]:5000/", true, ""},
		{"com.example.app:/oauth2redirect", true, ""},
		{"msauth.com.example://auth", true, ""},
		{"msal0000-1111://auth", true, ""},
		{"https://app.example/" + strings.Repeat("a", MaxLen), false, "longer than 2048"},
		{"/cb", false, "not an absolute URI"},
		{"https://app.example/cb#x", false, "fragment"},
		{"https://app.example/cb#", false, "fragment"},
		{"https://user:pw@app.example/cb", false, "user information"},
		{"https:///cb", false, "no host"},
		{"http://app.example/cb", false, "http is allowed only"},
		{"http://127.0.0.2/cb", true, "http is allowed only"},
		{"http://localhost.evil.example/cb", true, "http is allowed only"},
		{"javascript:alert(1)", true, "forbidden scheme"},
		{"data:text/html,x", true, "forbidden scheme"},
		{"file:///etc/passwd", true, "forbidden scheme"},
		{"com.example.app:/cb", false, "custom schemes are for public"},
		{"myapp://cb", true, "reverse domain name"},
	} {
		err := Validate(tc.uri, tc.public)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("Validate(%.40q, public %v) = %v, want valid", tc.uri, tc.public, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Validate(%.40q, public %v) = %v, want an error about %q", tc.uri, tc.public, err, tc.err)
		}
	}
}

// Every URI that may be registered for http matches itself on another
// port when the client is public: what Validate lets in is what Match
// treats as a native app's listener.
func TestValidLoopbackURIsFloat(t *testing.T) {
	for _, reg := range []string{"http://localhost/cb", "http://127.0.0.1/cb", "http://[::1]/cb"} {
		if err := Validate(reg, true); err != nil {
			t.Fatal(err)
		}
		given := strings.Replace(reg, "/cb", ":51234/cb", 1)
		if !Match([]string{reg}, given, true) {
			t.Errorf("Match(%q, %q, public) = false", reg, given)
		}
	}
}
