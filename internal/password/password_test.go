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

func TestCommonList(t *testing.T) {
	set := common()
	if len(set) != 30000 {
		t.Errorf("the list holds %d passwords, want zxcvbn's 30000", len(set))
	}
	for _, pw := range []string{"123456", "password", "qwerty", "trustno1", "password1", "iloveyou", "geekboy"} {
		if _, ok := set[pw]; !ok {
			t.Errorf("%q is not on the list", pw)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		pw, username string
		want         error
	}{
		{"password", "alice", ErrCommon},
		{"PassWord1", "alice", ErrCommon}, // any case
		{"QWERTY123", "alice", ErrCommon},
		{"baseball", "alice", ErrCommon},
		{"alice@contoso.test", "alice@contoso.test", ErrUsername},
		{"ALICE@Contoso.TEST", "alice@contoso.test", ErrUsername},
		{"Alexandria", "alexandria@contoso.test", ErrUsername}, // the part before the @
		{"Alexandria", "alexandria", ErrUsername},
		{"correct horse battery", "alice", nil},
		{"alice@contoso.test!", "alice@contoso.test", nil},
		{"Zq8#vLm2!pRt", "", nil},
	} {
		if got := Check(tc.pw, tc.username); got != tc.want {
			t.Errorf("Check(%q, %q) = %v, want %v", tc.pw, tc.username, got, tc.want)
		}
	}
}

func TestMemoryOf(t *testing.T) {
	if got := MemoryOf(Dummy()); got != 7<<20 {
		t.Errorf("MemoryOf(Dummy()) = %d, want 7 MiB", got)
	}
	h, err := Hash("a long passphrase", Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := MemoryOf(h); got != 64<<10 {
		t.Errorf("MemoryOf(64 KiB hash) = %d", got)
	}
	if got := MemoryOf("not a hash"); got != 0 {
		t.Errorf("MemoryOf(garbage) = %d", got)
	}
}
