package password

import (
	"strings"
	"testing"
)

// cheap keeps the suite fast; the format and logic are the same.
var cheap = Params{Memory: 64, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("unexpected encoding %q", h)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{
		{"correct horse", true},
		{"correct horse ", false},
		{"Correct horse", false},
		{"", false},
		{strings.Repeat("x", MaxLen+1), false},
	} {
		ok, err := Verify(tc.pw, h)
		if err != nil {
			t.Fatal(err)
		}
		if ok != tc.want {
			t.Errorf("Verify(%.20q) = %v, want %v", tc.pw, ok, tc.want)
		}
	}
	h2, _ := Hash("correct horse", cheap)
	if h == h2 {
		t.Error("two hashes of one password are equal: salt is not random")
	}
}

func TestDefaultParams(t *testing.T) {
	h, err := Hash("pw", Default())
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := Verify("pw", h); err != nil || !ok {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
}

func TestMalformed(t *testing.T) {
	for _, enc := range []string{
		"",
		"plain",
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!!$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aA",
	} {
		if _, err := Verify("pw", enc); err == nil {
			t.Errorf("Verify accepted %q", enc)
		}
	}
}

func TestHashRefusesHugePassword(t *testing.T) {
	if _, err := Hash(strings.Repeat("x", MaxLen+1), cheap); err == nil {
		t.Fatal("Hash accepted an oversized password")
	}
}

func TestDummyHashHasDefaultCost(t *testing.T) {
	p, _, _, err := parse(Dummy())
	if err != nil || p != Default() {
		t.Fatalf("Dummy() parameters %+v (%v), want %+v", p, err, Default())
	}
	if ok, err := Verify("anything", Dummy()); ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
}
