package client

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel kinds, for errors.Is. Every error the library returns for a
// server answer, or for a response it refused, is an *Error whose Kind is
// one of them. Two kinds also match ErrInteractionRequired, because the way
// out is the same: ErrConsentRequired and ErrDeviceCodeExpired.
var (
	// ErrInteractionRequired: the user must sign in again (interactive or
	// device code); silent acquisition cannot succeed.
	ErrInteractionRequired = errors.New("interaction required")
	// ErrConsentRequired: the user or an admin must grant a permission.
	ErrConsentRequired = errors.New("consent required")
	// ErrAccessDenied: the user declined the sign-in or the consent
	// (access_denied, from a redirect or a device code poll). Asking again
	// at once is pointless; tell the user.
	ErrAccessDenied = errors.New("access denied")
	// ErrDeviceCodeExpired: the device code expired before the user
	// finished signing in, by the server's word (expired_token) or by the
	// expiry it announced (the library stops polling then). Start a new
	// device code flow.
	ErrDeviceCodeExpired = errors.New("device code expired")
	// ErrInvalidGrant: the code, refresh token or assertion was refused.
	ErrInvalidGrant = errors.New("invalid grant")
	// ErrInvalidClient: the client id or credential was refused.
	ErrInvalidClient = errors.New("invalid client")
	// ErrInvalidIDToken: the server's ID token failed verification
	// (signature, issuer, audience, expiry or nonce); nothing from that
	// response was cached or returned.
	ErrInvalidIDToken = errors.New("invalid ID token")
	// ErrThrottled: the server asked to wait (429 or 503 with Retry-After);
	// Error.RetryAfter says until when.
	ErrThrottled = errors.New("throttled")
	// ErrNetwork: the server could not be reached or answered garbage.
	ErrNetwork = errors.New("network error")
	// ErrServer: the server failed (5xx) or answered another protocol error.
	ErrServer = errors.New("server error")
)

// Error is a failed token request: what the server said and what to do.
type Error struct {
	Kind          error  // one of the sentinels above
	Code          string // the OAuth error code, e.g. invalid_grant
	SubError      string // e.g. bad_token, consent_required
	Description   string
	StatusCode    int
	CorrelationID string
	TraceID       string
	// RetryAfter is when a throttled request may be retried.
	RetryAfter time.Time
	Err        error // the underlying transport or decoding error, if any
}

func (e *Error) Error() string {
	msg := e.Kind.Error()
	if e.Code != "" {
		msg += ": " + e.Code
		if e.SubError != "" {
			msg += "/" + e.SubError
		}
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if !e.RetryAfter.IsZero() {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter.UTC().Format(time.RFC3339))
	}
	return msg
}

// Is matches the error's kind; a consent-required error also matches
// ErrInteractionRequired, since interaction is how consent is given, and
// so does an expired device code, since a new sign-in is the way on.
func (e *Error) Is(target error) bool {
	if target == e.Kind {
		return true
	}
	return target == ErrInteractionRequired && (e.Kind == ErrConsentRequired || e.Kind == ErrDeviceCodeExpired)
}

func (e *Error) Unwrap() error { return e.Err }

// classify maps an OAuth error answer to its kind, the way MSAL does:
// invalid_grant with bad_token (a dead refresh token) and the OIDC
// interaction errors all mean "ask the user".
func classify(status int, code, sub string) error {
	switch {
	case status == 429:
		return ErrThrottled
	case code == "consent_required" || sub == "consent_required":
		return ErrConsentRequired
	case code == "access_denied":
		return ErrAccessDenied
	case code == "expired_token": // RFC 8628 §3.5
		return ErrDeviceCodeExpired
	case code == "interaction_required" || code == "login_required" || code == "account_selection_required" ||
		(code == "invalid_grant" && (sub == "bad_token" || sub == "basic_action" || sub == "additional_action" || sub == "user_password_expired")):
		return ErrInteractionRequired
	case code == "invalid_grant":
		return ErrInvalidGrant
	case code == "invalid_client" || code == "unauthorized_client":
		return ErrInvalidClient
	}
	return ErrServer
}

func networkError(err error) *Error {
	return &Error{Kind: ErrNetwork, Err: err}
}

func idTokenError(description string, err error) *Error {
	return &Error{Kind: ErrInvalidIDToken, Description: description, Err: err}
}
