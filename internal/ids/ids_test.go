package ids

import "testing"

func TestNewIsUniqueVersion4(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := New()
		if !IsUUID(id) {
			t.Fatalf("%q is not a UUID", id)
		}
		if id[14] != '4' {
			t.Fatalf("%q is not version 4", id)
		}
		if v := id[19]; v != '8' && v != '9' && v != 'a' && v != 'b' {
			t.Fatalf("%q has the wrong variant", id)
		}
		if seen[id] {
			t.Fatalf("duplicate %q", id)
		}
		seen[id] = true
	}
}

func TestIsUUID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"6e1c7a3e-2f0b-4c7e-9d3a-0a1b2c3d4e5f", true},
		{"6E1C7A3E-2F0B-4C7E-9D3A-0A1B2C3D4E5F", true},
		{"6e1c7a3e2f0b4c7e9d3a0a1b2c3d4e5f", false},
		{"6e1c7a3e-2f0b-4c7e-9d3a-0a1b2c3d4e5g", false},
		{"demo", false},
		{"", false},
	} {
		if got := IsUUID(tc.in); got != tc.want {
			t.Errorf("IsUUID(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestNewOrderedSorts(t *testing.T) {
	prev := NewOrdered()
	for range 10000 {
		id := NewOrdered()
		if !IsUUID(id) || id[14] != '7' {
			t.Fatalf("%q is not a version 7 UUID", id)
		}
		if id <= prev {
			t.Fatalf("%q came after %q but sorts before it", id, prev)
		}
		prev = id
	}
}
