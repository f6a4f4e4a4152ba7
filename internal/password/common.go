package password

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"strings"
	"sync"
)

// commonList is zxcvbn 4.4.2's list of the 30,000 most common passwords,
// most common first, one per line, lower case (see NOTICE).
//
//go:embed common-passwords.txt.gz
var commonList []byte

// Refusal is why a password may not be chosen, in words meant for the
// person choosing it (so a sentence, unlike most error strings).
type Refusal string

func (r Refusal) Error() string { return string(r) }

// The refusals of Check.
const (
	ErrCommon   Refusal = "This password is too common; choose another."
	ErrUsername Refusal = "The password must not be the username."
)

// common is the list as a set, built on first use: a server that never
// sets a password never pays for it. The keys share the one decompressed
// string, so the set costs the list's size plus the map.
var common = sync.OnceValue(func() map[string]struct{} {
	zr, err := gzip.NewReader(bytes.NewReader(commonList))
	if err != nil {
		panic("password: embedded list: " + err.Error())
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		panic("password: embedded list: " + err.Error())
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	set := make(map[string]struct{}, len(lines))
	for _, l := range lines {
		set[l] = struct{}{}
	}
	return set
})

// IsCommon reports whether pw, in any case, is on the list.
func IsCommon(pw string) bool {
	_, found := common()[strings.ToLower(pw)]
	return found
}

// Check returns why pw must not be the password of the user named
// username, or nil: NIST SP 800-63B §5.1.1.2 asks that a chosen password
// be compared with passwords known to be commonly used and with
// context-specific words such as the username. Both comparisons ignore
// case, and the username's part before an '@' counts as the username.
// Length is the caller's rule.
func Check(pw, username string) error {
	local, _, _ := strings.Cut(username, "@")
	if strings.EqualFold(pw, username) || local != "" && strings.EqualFold(pw, local) {
		return ErrUsername
	}
	if IsCommon(pw) {
		return ErrCommon
	}
	return nil
}
