package oauth

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// Limits on what a request may carry. Real clients stay far below them;
// anything above is an attack or a bug and is refused before any work.
const (
	MaxParams     = 64
	MaxValueLen   = 4096
	MaxJWTLen     = 16384 // assertions and subject tokens are JWTs
	MaxBodyLen    = 64 << 10
	maxScopeItems = 64
)

// Params are the parameters of one protocol request, each present once,
// with surrounding white space removed: values pasted from documents carry
// line breaks and indentation (seed 002's curl body does), and no valid
// value starts or ends with white space.
type Params map[string]string

// Get returns the parameter's value or "".
func (p Params) Get(name string) string { return p[name] }

// ParseForm reads an application/x-www-form-urlencoded body or query string.
func ParseForm(raw string) (Params, *Error) {
	if len(raw) > MaxBodyLen {
		return nil, MalformedRequest("The request is larger than %d bytes.", MaxBodyLen)
	}
	values, err := url.ParseQuery(raw)
	if err != nil {
		return nil, MalformedRequest("The request body is not valid form encoding.")
	}
	return NewParams(values)
}

// NewParams validates decoded values: RFC 6749 §3.1 forbids repeating a
// parameter, and every value must be bounded, valid UTF-8 text.
func NewParams(values url.Values) (Params, *Error) {
	if len(values) > MaxParams {
		return nil, MalformedRequest("The request has more than %d parameters.", MaxParams)
	}
	p := make(Params, len(values))
	for rawKey, vs := range values {
		key := strings.TrimSpace(rawKey)
		if key == "" {
			continue
		}
		if len(vs) > 1 {
			return nil, MalformedRequest("The parameter '%s' is repeated; each parameter may appear once.", truncate(key, 64))
		}
		if _, dup := p[key]; dup {
			return nil, MalformedRequest("The parameter '%s' is repeated; each parameter may appear once.", truncate(key, 64))
		}
		v := strings.TrimSpace(vs[0])
		limit := MaxValueLen
		switch key {
		// request is a request object: refused, but with its own error
		// rather than as an overlong value.
		case "assertion", "client_assertion", "subject_token", "actor_token", "id_token_hint", "request":
			limit = MaxJWTLen
		}
		if len(v) > limit {
			return nil, MalformedRequest("The parameter '%s' is longer than %d bytes.", truncate(key, 64), limit)
		}
		if !utf8.ValidString(key) || !utf8.ValidString(v) || hasControl(key) || hasControl(v) {
			return nil, MalformedRequest("The parameter '%s' contains characters that are not allowed.", safeName(key))
		}
		p[key] = v
	}
	return p, nil
}

// hasControl reports control characters other than the white space a
// pasted multi-line scope list may contain.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
			return true
		}
	}
	return false
}

// safeName quotes a parameter name that may itself be hostile.
func safeName(key string) string {
	if !utf8.ValidString(key) || hasControl(key) {
		return "?"
	}
	return truncate(key, 64)
}
