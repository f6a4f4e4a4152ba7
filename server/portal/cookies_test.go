package portal

import (
	"bytes"
	"errors"
	"testing"
)

// A sealed cookie opens only under the key, kind and tenant it was sealed
// for, and never says what it holds.
func TestSealedCookies(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	s, err := newSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	other, err := newSealer(bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	in := sealedSession{AccessToken: "the-access-token", SessionID: "sid-1", CSRF: "csrf-1", Expires: 1893456000}
	v, err := s.seal(purposeSession, "tenant-a", in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains([]byte(v), []byte("the-access-token")) {
		t.Error("the sealed value shows the access token")
	}
	if again, _ := s.seal(purposeSession, "tenant-a", in); again == v {
		t.Error("sealing the same session twice gives the same value")
	}
	var out sealedSession
	if err := s.open(purposeSession, "tenant-a", v, &out); err != nil || out != in {
		t.Fatalf("open: %+v %v", out, err)
	}
	for name, open := range map[string]func() error{
		"another key":    func() error { return other.open(purposeSession, "tenant-a", v, &out) },
		"another tenant": func() error { return s.open(purposeSession, "tenant-b", v, &out) },
		"the other kind": func() error { return s.open(purposePending, "tenant-a", v, &out) },
		"empty":          func() error { return s.open(purposeSession, "tenant-a", "", &out) },
	} {
		if err := open(); !errors.Is(err, errBadCookie) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := newSealer(key[:16]); err == nil {
		t.Error("a 16-byte cookie key is accepted")
	}
}

// A session cookie sealed before the portal's sealer moved to package
// cookieseal still opens: moving it signed nobody out.
func TestSealedCookieFormatKept(t *testing.T) {
	s, err := newSealer(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	const sealedBefore = "cAUi1K6LLObnVMxmOEUnwe-W60YnkK2ERizDS7VW03VBrwTl5prFd-Jnm9QtS2Cr3lglzseAXfXk40sQ2CNWR66SFIs611fN0kHOV1g3_JvUGDQ"
	var out sealedSession
	if err := s.open(purposeSession, "tenant-g", sealedBefore, &out); err != nil ||
		out != (sealedSession{AccessToken: "at", SessionID: "sid", CSRF: "c", Expires: 42}) {
		t.Fatalf("a cookie of the earlier sealer: %+v %v", out, err)
	}
}
