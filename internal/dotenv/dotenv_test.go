package dotenv

import "testing"

func TestParse(t *testing.T) {
	got, err := Parse([]byte("# secrets\nclientSecret=abc~123\nexport QUOTED=\"a b\\nc\"\nSINGLE='x#y'\nTRAIL=value # note\n\nEMPTY=\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"clientSecret": "abc~123", "QUOTED": "a b\nc", "SINGLE": "x#y", "TRAIL": "value", "EMPTY": ""}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, err := Parse([]byte("not a pair\n")); err == nil {
		t.Error("a line without = was accepted")
	}
}
