// Package username decides when two sign-in names are the same name, and
// which names may be created at all.
//
// Sameness is PRECIS UsernameCaseMapped (RFC 8265 §3.3): full-width forms
// are mapped to their ordinary width, letters to lower case, the result to
// NFC, and it must then pass the IdentifierClass (letters, digits, and the
// printable ASCII symbols, so "alice+tag@contoso.test" is fine; no spaces,
// no other symbols, no invisible characters) and the Bidi Rule. Tessera
// stores that form, so "ＤＥＭＯ", "Demo" and "demo" are one account, and
// sign-in normalises what was typed the same way before looking it up.
//
// PRECIS does not catch look-alikes from other scripts ("dеmo" with a
// Cyrillic е is a valid, different identifier): CheckScripts refuses those
// when a name is created.
package username

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/secure/precis"
)

// MaxLen bounds a username in bytes, before and after normalisation.
const MaxLen = 256

// ErrInvalid is returned for names that PRECIS refuses, empty names and
// over-long ones.
var ErrInvalid = errors.New("not a valid username")

// Normalize returns the PRECIS UsernameCaseMapped form of s: the form
// Tessera stores and looks users up by.
func Normalize(s string) (string, error) {
	if s == "" || len(s) > MaxLen {
		return "", ErrInvalid
	}
	n, err := precis.UsernameCaseMapped.String(s)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// Width mapping and NFC can lengthen a name a little; the bound holds
	// for the stored form too.
	if n == "" || len(n) > MaxLen {
		return "", ErrInvalid
	}
	return n, nil
}

// CheckScripts refuses a name whose letters mix scripts that look alike,
// such as Latin with Cyrillic or Greek ("dеmo", "pаypal"), which would let
// one account pass for another on a sign-in page or in a list.
//
// The rule is UTS #39's "highly restrictive" level, applied to each part
// of the name between '@' and '.' on its own, as browsers judge each label
// of a domain name: the letters of a part are of one script, or of one of
// the CJK combinations people write in (Japanese: Han, Hiragana, Katakana;
// Chinese: Han, Bopomofo; Korean: Han, Hangul; each also with Latin).
// Digits, punctuation and combining marks (scripts Common and Inherited)
// do not count. So "дмитрий", "дмитрий@contoso.test" and "田中たなか" are
// allowed, "dеmo" and "dеmo@contoso.test" are not.
//
// Whole-script look-alikes ("рау", all Cyrillic, against "pay") pass: they
// need the Unicode confusables data (UTS #39 skeletons), which the standard
// library does not carry.
func CheckScripts(name string) error {
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '@' || r == '.' }) {
		var seen []string
		var first rune
		for _, r := range part {
			if !unicode.IsLetter(r) {
				continue
			}
			s := scriptOf(r)
			if s == "" || slices.Contains(seen, s) {
				continue
			}
			if len(seen) == 1 {
				first = r
			}
			seen = append(seen, s)
		}
		if len(seen) > 1 && !allowedMix(seen) {
			return fmt.Errorf("%q mixes letters of the %s scripts (%U %q is %s), which lets one name pass for another; use the letters of one script in each part of the name",
				part, strings.Join(seen, " and "), first, first, seen[1])
		}
	}
	return nil
}

// scriptOf is the Unicode script of r, or "" for Common and Inherited
// (shared by all scripts) and for unassigned code points.
func scriptOf(r rune) string {
	// The usual scripts first; the map walk is for the rest.
	for _, s := range []string{"Latin", "Cyrillic", "Greek", "Han", "Hiragana", "Katakana", "Hangul"} {
		if unicode.Is(unicode.Scripts[s], r) {
			return s
		}
	}
	for name, table := range unicode.Scripts {
		if name != "Common" && name != "Inherited" && unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// cjkSets are UTS #39's permitted combinations of scripts (§5.2, "highly
// restrictive"). Read-only.
var cjkSets = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

func allowedMix(scripts []string) bool {
	for _, set := range cjkSets {
		if !slices.ContainsFunc(scripts, func(s string) bool { return !slices.Contains(set, s) }) {
			return true
		}
	}
	return false
}
