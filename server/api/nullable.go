package api

import "encoding/json"

// nullableString is a PATCH field that null or "" clears: set tells it
// from a field left out.
type nullableString struct {
	set bool
	v   string
}

func (n *nullableString) UnmarshalJSON(b []byte) error {
	n.set = true
	if string(b) == "null" {
		n.v = ""
		return nil
	}
	return json.Unmarshal(b, &n.v)
}

// orNull is s, or null when it is empty.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
