package username

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"demo", "demo"},
		{"ｄｅｍｏ", "demo"}, // full-width
		{"DEMO", "demo"},
		{"ＡＬＩＣＥ@contoso.test", "alice@contoso.test"},
		{"Alice+Tag_x-y.z@Contoso.Test", "alice+tag_x-y.z@contoso.test"},
		{"O\u0308laf", "\u00f6laf"}, // NFD to NFC
		{"Дмитрий", "дмитрий"},
		{"田中たなかタナカ", "田中たなかタナカ"},
		{"dеmo", "dеmo"}, // a valid identifier: CheckScripts is what refuses it
	} {
		got, err := Normalize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "a b", "a\u200bb", "a\u202eb", "bob\u2603", "tab\there", strings.Repeat("a", MaxLen+1)} {
		if got, err := Normalize(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("Normalize(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

func TestCheckScripts(t *testing.T) {
	for _, ok := range []string{
		"demo", "alice@contoso.test", "a.b-c_d+e@x.y", "user1",
		"дмитрий", "дмитрий@contoso.test", "σωκράτης", "田中たなかタナカ", "たなか@contoso.test",
		"김철수", "x\u0301", "1234",
	} {
		if err := CheckScripts(ok); err != nil {
			t.Errorf("CheckScripts(%q) = %v; want nil", ok, err)
		}
	}
	for _, bad := range []string{
		"dеmo",               // Cyrillic е
		"dеmo@contoso.test",  // the same in an address
		"alice@cоntoso.test", // Cyrillic о in the domain
		"αlice",              // Greek alpha
		"раypal",             // two Cyrillic letters up front
		"дмитрийx",           // Cyrillic then Latin
		"田中дмитрий",          // Han with Cyrillic
	} {
		err := CheckScripts(bad)
		if err == nil || !strings.Contains(err.Error(), "mixes letters") {
			t.Errorf("CheckScripts(%q) = %v; want a mixed-script error", bad, err)
		}
	}
	if err := CheckScripts("dеmo"); err == nil || !strings.Contains(err.Error(), "U+0435") || !strings.Contains(err.Error(), "Latin and Cyrillic") {
		t.Errorf("the error should name the scripts and the odd letter: %v", err)
	}
}
