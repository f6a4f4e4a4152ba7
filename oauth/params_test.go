package oauth

import (
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
