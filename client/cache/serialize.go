package cache

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrCorrupt marks stored cache data that cannot be read: not JSON, not a
// JSON object, or ciphertext that does not authenticate. The Cache does not
// fail on it forever: it reports a warning, moves the data aside when the
// Persistence can, and starts empty.
var ErrCorrupt = errors.New("corrupt cache data")

// The unified cache schema, as MSAL Node writes it (Serializer.ts and
// SerializerTypes.ts in lib/msal-node/src/cache/serializer) and MSAL Go
// reads it (apps/internal/base/storage/items.go):
//
//   - five sections, Account, IdToken, AccessToken, RefreshToken and
//     AppMetadata, each an object from cache key to entry;
//   - snake_case members, times as unix seconds in decimal strings (MSAL Go
//     and MSAL.NET also accept numbers, and so do we);
//   - MSAL Node spells the on-behalf-of assertion hash of an access token
//     userAssertionHash while MSAL Go, Python and .NET spell it
//     user_assertion_hash; we read both and write both, so that every MSAL
//     keeps OBO tokens apart.
//
// Anything else, in an entry or at the top level, is kept verbatim and
// written back, because MSAL Node and Tessera may share one file.

// decode parses a serialized cache into a new state. Empty input is an
// empty cache (MSAL Node's plugin may create an empty file).
func decode(data []byte) (*state, error) {
	s := newState()
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return s, nil
	}
	if err := decodeInto(s, data); err != nil {
		return nil, fmt.Errorf("%w: not MSAL cache JSON: %w", ErrCorrupt, err)
	}
	return s, nil
}

func decodeInto(s *state, data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := expectDelim(dec, '{', "the cache"); err != nil {
		return err
	}
	for dec.More() {
		name, err := objectKey(dec)
		if err != nil {
			return err
		}
		sec, known := sectionByName(name)
		if !known {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fmt.Errorf("section %q: %w", name, err)
			}
			s.unknown = setMember(s.unknown, name, compact(raw))
			continue
		}
		tok, err := token(dec)
		if err != nil {
			return fmt.Errorf("section %q: %w", name, err)
		}
		if tok == nil {
			continue // null: MSAL treats a missing or null section as empty
		}
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return fmt.Errorf("section %q is not an object", name)
		}
		for dec.More() {
			key, err := objectKey(dec)
			if err != nil {
				return fmt.Errorf("section %q: %w", name, err)
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fmt.Errorf("section %q, entry %q: %w", name, key, err)
			}
			s.load(sec, key, compact(raw))
		}
		if err := expectDelim(dec, '}', "section "+strconv.Quote(name)); err != nil {
			return err
		}
	}
	if err := expectDelim(dec, '}', "the cache"); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the end of the cache object")
	}
	return nil
}

// token is dec.Token, except that input ending early says so: the decoder
// reports a bare io.EOF between tokens.
func token(dec *json.Decoder) (json.Token, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return tok, err
}

func expectDelim(dec *json.Decoder, want json.Delim, what string) error {
	tok, err := token(dec)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		if want == '{' {
			return fmt.Errorf("%s is not a JSON object", what)
		}
		return fmt.Errorf("%s: expected %q", what, want)
	}
	return nil
}

func objectKey(dec *json.Decoder) (string, error) {
	tok, err := token(dec)
	if err != nil {
		return "", err
	}
	k, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("expected an object key, got %v", tok)
	}
	return k, nil
}

func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// setMember appends, or replaces a member of the same name: in JSON, as in
// JavaScript, the last duplicate wins.
func setMember(ms []member, name string, v json.RawMessage) []member {
	for i := range ms {
		if ms[i].name == name {
			ms[i].value = v
			return ms
		}
	}
	return append(ms, member{name, v})
}

// objectMembers splits a JSON object into its members, in order.
func objectMembers(raw json.RawMessage) ([]member, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var ms []member
	for dec.More() {
		k, err := objectKey(dec)
		if err != nil {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		ms = setMember(ms, k, v)
	}
	return ms, true
}

// fields reads the members of one entry: known ones into Go values,
// unknown ones into extra. A known member of the wrong JSON type makes the
// entry unusable (bad), and it is then kept opaque.
type fields struct {
	ms    []member
	known map[string]bool
	bad   bool
}

func (f *fields) raw(name string) (json.RawMessage, bool) {
	f.known[name] = true
	for _, m := range f.ms {
		if m.name == name {
			return m.value, true
		}
	}
	return nil, false
}

func (f *fields) str(name string) string {
	raw, ok := f.raw(name)
	if !ok || string(raw) == "null" {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		f.bad = true
	}
	return s
}

// opt reads an optional string member. Present but empty, it is left
// among the unknown members: we omit empty optional members when writing,
// and this way one that was there stays there.
func (f *fields) opt(name string) string {
	if raw, ok := f.raw(name); ok && (string(raw) == `""` || string(raw) == "null") {
		f.known[name] = false
		return ""
	}
	return f.str(name)
}

// optTime is opt for times.
func (f *fields) optTime(name string) time.Time {
	if raw, ok := f.raw(name); ok && (string(raw) == `""` || string(raw) == "null") {
		f.known[name] = false
		return time.Time{}
	}
	return f.time(name)
}

// time reads unix seconds, as a decimal string (MSAL Node) or a number.
func (f *fields) time(name string) time.Time {
	raw, ok := f.raw(name)
	if !ok || string(raw) == "null" {
		return time.Time{}
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			f.bad = true
			return time.Time{}
		}
		text = strings.TrimSpace(text)
		if text == "" {
			return time.Time{}
		}
	}
	sec, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		fl, ferr := strconv.ParseFloat(text, 64)
		if ferr != nil || math.IsNaN(fl) || math.IsInf(fl, 0) || math.Abs(fl) > 1<<62 {
			f.bad = true
			return time.Time{}
		}
		sec = int64(fl)
	}
	return unixTime(sec)
}

func (f *fields) extra() []member {
	var out []member
	for _, m := range f.ms {
		if !f.known[m.name] {
			out = append(out, m)
		}
	}
	return out
}

func unixTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0)
}

// load adds one stored entry. Entries we cannot serve are kept opaque.
func (s *state) load(sec section, key string, raw json.RawMessage) {
	ms, ok := objectMembers(raw)
	f := &fields{ms: ms, known: map[string]bool{}}
	opaque := func() {
		e := &opaqueEntry{meta: meta{key: key}, raw: raw, section: sec}
		f.known = map[string]bool{}
		s.addOpaque(e, f.str("environment"), f.str("home_account_id"))
	}
	if !ok {
		s.addOpaque(&opaqueEntry{meta: meta{key: key}, raw: raw, section: sec}, "", "")
		return
	}
	switch sec {
	case secAccessToken:
		ct := f.str("credential_type")
		tt := f.opt("token_type")
		v := AccessToken{
			HomeAccountID:     f.str("home_account_id"),
			Environment:       f.str("environment"),
			Realm:             f.str("realm"),
			ClientID:          f.str("client_id"),
			Secret:            f.str("secret"),
			Target:            f.str("target"),
			TokenType:         tt,
			CachedAt:          f.time("cached_at"),
			ExpiresOn:         f.time("expires_on"),
			ExtendedExpiresOn: f.optTime("extended_expires_on"),
			RefreshOn:         f.optTime("refresh_on"),
			UserAssertionHash: f.opt("user_assertion_hash"),
		}
		if camel := f.opt("userAssertionHash"); v.UserAssertionHash == "" {
			v.UserAssertionHash = camel
		}
		// A token bound to a key (PoP, SSH) or to requested claims must not
		// answer a plain bearer lookup.
		bound := (ct != "" && !strings.EqualFold(ct, credTypeAccessToken)) ||
			(tt != "" && !strings.EqualFold(tt, tokenTypeBearer)) ||
			nonEmptyMember(ms, "requestedClaims") || nonEmptyMember(ms, "requestedClaimsHash")
		if f.bad || bound || v.Environment == "" || v.ClientID == "" {
			opaque()
			return
		}
		e := s.newATEntry(v)
		e.meta = meta{key: key, extra: f.extra(), credType: canonical(ct, credTypeAccessToken)}
		s.addAT(e, false, time.Time{})
	case secRefreshToken:
		ct := f.str("credential_type")
		v := RefreshToken{
			HomeAccountID:     f.str("home_account_id"),
			Environment:       f.str("environment"),
			ClientID:          f.str("client_id"),
			Secret:            f.str("secret"),
			FamilyID:          f.opt("family_id"),
			UserAssertionHash: f.opt("user_assertion_hash"),
			ExpiresOn:         f.optTime("expires_on"),
		}
		if f.bad || (ct != "" && !strings.EqualFold(ct, credTypeRefreshToken)) || v.Environment == "" || v.ClientID == "" {
			opaque()
			return
		}
		e := newRTEntry(v)
		e.meta = meta{key: key, extra: f.extra(), credType: canonical(ct, credTypeRefreshToken)}
		s.addRT(e, false)
	case secIDToken:
		ct := f.str("credential_type")
		v := IDToken{
			HomeAccountID: f.str("home_account_id"),
			Environment:   f.str("environment"),
			Realm:         f.str("realm"),
			ClientID:      f.str("client_id"),
			Secret:        f.str("secret"),
		}
		if f.bad || (ct != "" && !strings.EqualFold(ct, credTypeIDToken)) || v.Environment == "" || v.ClientID == "" {
			opaque()
			return
		}
		e := newIDTEntry(v)
		e.meta = meta{key: key, extra: f.extra(), credType: canonical(ct, credTypeIDToken)}
		s.addIDT(e, false)
	case secAccount:
		v := Account{
			HomeAccountID:  f.str("home_account_id"),
			Environment:    f.str("environment"),
			Realm:          f.str("realm"),
			LocalAccountID: f.str("local_account_id"),
			Username:       f.str("username"),
			Name:           f.opt("name"),
			AuthorityType:  f.str("authority_type"),
			ClientInfo:     f.opt("client_info"),
		}
		if f.bad || v.Environment == "" || v.HomeAccountID == "" {
			opaque()
			return
		}
		e := newAccEntry(v)
		e.meta = meta{key: key, extra: f.extra()}
		s.addAccount(e, false)
	case secAppMetadata:
		v := AppMetadata{
			ClientID:    f.str("client_id"),
			Environment: f.str("environment"),
			FamilyID:    f.opt("family_id"),
		}
		if f.bad || v.Environment == "" || v.ClientID == "" {
			opaque()
			return
		}
		e := newAppEntry(v)
		e.meta = meta{key: key, extra: f.extra()}
		s.addApp(e, false)
	}
}

// canonical returns "" when got is the usual spelling, so that only
// unusual spellings (MSAL Go's "IDToken") are remembered and written back.
func canonical(got, want string) string {
	if got == "" || got == want {
		return ""
	}
	return got
}

func nonEmptyMember(ms []member, name string) bool {
	for _, m := range ms {
		if m.name == name {
			v := string(m.value)
			return v != "null" && v != `""`
		}
	}
	return false
}

// ---- encoding ----

func encode(s *state) []byte {
	buf := make([]byte, 0, encodedSize(s))
	buf = append(buf, '{')
	for sec := section(0); sec < numSections; sec++ {
		if sec > 0 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, sec.String())
		buf = append(buf, ':', '{')
		entries := make([]entry, 0, len(s.sec[sec]))
		for _, e := range s.sec[sec] {
			entries = append(entries, e)
		}
		slices.SortFunc(entries, func(a, b entry) int {
			return cmp.Compare(a.base().seq, b.base().seq)
		})
		for i, e := range entries {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, e.base().key)
			buf = append(buf, ':')
			buf = appendEntry(buf, e)
		}
		buf = append(buf, '}')
	}
	for _, m := range s.unknown {
		buf = append(buf, ',')
		buf = appendString(buf, m.name)
		buf = append(buf, ':')
		buf = append(buf, m.value...)
	}
	return append(buf, '}')
}

// encodedSize estimates the output size, so that encoding a large cache
// does not reallocate its buffer over and over.
func encodedSize(s *state) int {
	n := 64
	for i := range s.sec {
		for k, e := range s.sec[i] {
			n += len(k) + 300
			switch e := e.(type) {
			case *atEntry:
				n += len(e.v.Secret) + len(e.v.Target) + 2*len(e.v.HomeAccountID)
			case *rtEntry:
				n += len(e.v.Secret) + 2*len(e.v.HomeAccountID)
			case *idtEntry:
				n += len(e.v.Secret) + 2*len(e.v.HomeAccountID)
			case *accEntry:
				n += len(e.v.ClientInfo) + 2*len(e.v.HomeAccountID)
			case *opaqueEntry:
				n += len(e.raw)
			}
			for _, x := range e.base().extra {
				n += len(x.name) + len(x.value) + 4
			}
		}
	}
	for _, m := range s.unknown {
		n += len(m.name) + len(m.value) + 4
	}
	return n
}

type objWriter struct {
	buf     []byte
	written []string
}

func (w *objWriter) name(n string) {
	if len(w.written) > 0 {
		w.buf = append(w.buf, ',')
	}
	w.written = append(w.written, n)
	w.buf = appendString(w.buf, n)
	w.buf = append(w.buf, ':')
}

func (w *objWriter) str(n, v string) {
	w.name(n)
	w.buf = appendString(w.buf, v)
}

func (w *objWriter) opt(n, v string) {
	if v != "" {
		w.str(n, v)
	}
}

func (w *objWriter) time(n string, t time.Time) {
	w.name(n)
	var sec int64
	if !t.IsZero() {
		sec = t.Unix()
	}
	w.buf = append(w.buf, '"')
	w.buf = strconv.AppendInt(w.buf, sec, 10)
	w.buf = append(w.buf, '"')
}

func (w *objWriter) optTime(n string, t time.Time) {
	if !t.IsZero() {
		w.time(n, t)
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func appendEntry(buf []byte, e entry) []byte {
	if o, ok := e.(*opaqueEntry); ok {
		return append(buf, o.raw...)
	}
	w := objWriter{buf: append(buf, '{'), written: make([]string, 0, 16)}
	m := e.base()
	switch e := e.(type) {
	case *atEntry:
		v := &e.v
		w.str("home_account_id", v.HomeAccountID)
		w.str("environment", v.Environment)
		w.str("credential_type", or(m.credType, credTypeAccessToken))
		w.str("client_id", v.ClientID)
		w.str("secret", v.Secret)
		w.str("realm", v.Realm)
		w.str("target", v.Target)
		w.time("cached_at", v.CachedAt)
		w.time("expires_on", v.ExpiresOn)
		w.optTime("extended_expires_on", v.ExtendedExpiresOn)
		w.optTime("refresh_on", v.RefreshOn)
		w.opt("token_type", v.TokenType)
		w.opt("user_assertion_hash", v.UserAssertionHash)
		w.opt("userAssertionHash", v.UserAssertionHash)
	case *rtEntry:
		v := &e.v
		w.str("home_account_id", v.HomeAccountID)
		w.str("environment", v.Environment)
		w.str("credential_type", or(m.credType, credTypeRefreshToken))
		w.str("client_id", v.ClientID)
		w.str("secret", v.Secret)
		w.opt("family_id", v.FamilyID)
		w.opt("user_assertion_hash", v.UserAssertionHash)
		w.optTime("expires_on", v.ExpiresOn)
	case *idtEntry:
		v := &e.v
		w.str("home_account_id", v.HomeAccountID)
		w.str("environment", v.Environment)
		w.str("credential_type", or(m.credType, credTypeIDToken))
		w.str("client_id", v.ClientID)
		w.str("secret", v.Secret)
		w.str("realm", v.Realm)
	case *accEntry:
		v := &e.v
		w.str("home_account_id", v.HomeAccountID)
		w.str("environment", v.Environment)
		w.str("realm", v.Realm)
		w.str("local_account_id", v.LocalAccountID)
		w.str("username", v.Username)
		w.str("authority_type", v.AuthorityType)
		w.opt("name", v.Name)
		w.opt("client_info", v.ClientInfo)
	case *appEntry:
		v := &e.v
		w.str("client_id", v.ClientID)
		w.str("environment", v.Environment)
		w.opt("family_id", v.FamilyID)
	}
	for _, x := range m.extra {
		// An unknown member kept from a predecessor (an empty optional
		// one) never shadows a value we now have.
		if slices.Contains(w.written, x.name) {
			continue
		}
		w.name(x.name)
		w.buf = append(w.buf, x.value...)
	}
	return append(w.buf, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping what JSON requires
// (and, like JSON.stringify, nothing more); invalid UTF-8 becomes U+FFFD.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
