package oauth

import (
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"
)

// RFC 6749 §4.1.2.1 and §5.2 error codes, plus the OpenID Connect and
// RFC 8628 ones Tessera answers with.
const (
	ErrInvalidRequest          = "invalid_request"
	ErrInvalidClient           = "invalid_client"
	ErrInvalidGrant            = "invalid_grant"
	ErrUnauthorizedClient      = "unauthorized_client"
	ErrUnsupportedGrantType    = "unsupported_grant_type"
	ErrInvalidScope            = "invalid_scope"
	ErrAccessDenied            = "access_denied"
	ErrUnsupportedResponseType = "unsupported_response_type"
	ErrServerError             = "server_error"
	ErrTemporarilyUnavailable  = "temporarily_unavailable"
	ErrLoginRequired           = "login_required"
	ErrConsentRequired         = "consent_required"
	ErrInteractionRequired     = "interaction_required"
	ErrRequestNotSupported     = "request_not_supported"
	ErrRequestURINotSupported  = "request_uri_not_supported"
	ErrInvalidTenant           = "invalid_tenant"
	ErrNotFound                = "not_found"
)

// Sub-errors refine invalid_grant the way Entra ID does; MSAL maps both to
// "interaction required", which is what a client must do next.
const (
	SubBadToken        = "bad_token"
	SubConsentRequired = "consent_required"
)

// Numeric codes reported in error_codes. Where Entra ID has a code for the
// same condition Tessera reuses it, so people searching for it find the
// right explanation.
const (
	CodeMissingParameter   = 900144
	CodeMalformedRequest   = 9002313
	CodeTenantNotFound     = 90002
	CodeAppNotFound        = 700016
	CodeInvalidSecret      = 7000215
	CodeSecretExpired      = 7000222
	CodeClientAuthRequired = 7000218
	CodePublicClientSecret = 700025
	CodeRedirectMismatch   = 50011
	CodeUnsupportedGrant   = 70003
	CodeUnauthorizedClient = 700015
	CodeInvalidScope       = 70011
	CodeCodeExpired        = 70008
	CodeCodeRedeemed       = 54005
	CodePKCEMismatch       = 501481
	CodeGrantInvalid       = 70000
	CodeRefreshExpired     = 700082
	CodeRefreshRevoked     = 700084
	CodeConsentRequired    = 65001
	// CodeAdminConsentRequired is Entra's "the grant requires admin
	// permission": a scope only an admin may consent to, not granted
	// tenant-wide.
	CodeAdminConsentRequired = 90094
	CodeUserDisabled         = 50057
	CodeBadCredentials       = 50126
	// CodeLocked is Entra's IdsLocked: too many failed attempts, at an
	// account, from an address, or by a client.
	CodeLocked              = 50053
	CodeLoginRequired       = 50058
	CodeSessionEnded        = 50133
	CodeUserCancelled       = 65004
	CodeResourceNotFound    = 500011
	CodeResourceNotListed   = 650057
	CodeInternal            = 90033
	CodeUnsupportedResponse = 900561

	// CodeNoEndpoint is Entra's BadResourceRequest: the request reached
	// no endpoint Tessera serves.
	CodeNoEndpoint = 90056
	// CodeInvalidToken is Entra's InvalidAssertion: a bearer token that is
	// malformed, foreign, expired or revoked.
	CodeInvalidToken = 50013
)

// Error is a protocol error: what the client is told. Cause, when set, is
// the internal reason; it is logged by the server and never sent.
type Error struct {
	Code        string
	Description string
	Status      int
	SubError    string
	Number      int
	Cause       error
	// RetryAfter, when set, tells the caller how long to wait before
	// trying again (the Retry-After header).
	RetryAfter time.Duration

	// endsSignIn marks a sign-in refusal after which the interaction
	// cannot be tried again: the page shows the message, not the form.
	endsSignIn bool
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Description, e.Cause)
	}
	return e.Code + ": " + e.Description
}

func (e *Error) Unwrap() error { return e.Cause }

func newError(code string, status, number int, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Number: number, Description: fmt.Sprintf(format, args...)}
}

func invalidRequest(number int, format string, args ...any) *Error {
	return newError(ErrInvalidRequest, http.StatusBadRequest, number, format, args...)
}

func invalidClient(number int, format string, args ...any) *Error {
	return newError(ErrInvalidClient, http.StatusUnauthorized, number, format, args...)
}

func invalidGrant(number int, format string, args ...any) *Error {
	return newError(ErrInvalidGrant, http.StatusBadRequest, number, format, args...)
}

// deadGrant is a refresh token or code that can never work again: the
// client must go back to the user.
func deadGrant(number int, format string, args ...any) *Error {
	e := invalidGrant(number, format, args...)
	e.SubError = SubBadToken
	return e
}

func consentRequired(format string, args ...any) *Error {
	e := invalidGrant(CodeConsentRequired, format, args...)
	e.SubError = SubConsentRequired
	return e
}

func invalidScope(format string, args ...any) *Error {
	return newError(ErrInvalidScope, http.StatusBadRequest, CodeInvalidScope, format, args...)
}

// ServerError hides an internal failure behind a generic description.
func ServerError(cause error) *Error {
	return &Error{
		Code:        ErrServerError,
		Status:      http.StatusInternalServerError,
		Number:      CodeInternal,
		Description: "The server could not complete the request. Quote the trace_id when reporting it.",
		Cause:       cause,
	}
}

// NotFound is the answer for a path no endpoint serves.
func NotFound(description string) *Error {
	return &Error{Code: ErrNotFound, Status: http.StatusNotFound, Number: CodeNoEndpoint, Description: description}
}

// TenantNotFound is the answer for any path under an unknown tenant.
func TenantNotFound(name string) *Error {
	return newError(ErrInvalidTenant, http.StatusBadRequest, CodeTenantNotFound,
		"Tenant '%s' not found. Check the tenant name or id in the URL.", truncate(name, 64))
}

// MissingParameter reports a required parameter that is absent or empty.
func MissingParameter(name string) *Error {
	return invalidRequest(CodeMissingParameter, "The request must contain the '%s' parameter.", name)
}

// MalformedRequest reports a request that cannot be read at all.
func MalformedRequest(format string, args ...any) *Error {
	return invalidRequest(CodeMalformedRequest, format, args...)
}

// FormForgery reports a page's form submitted without the token of the page
// the server showed to this browser.
func FormForgery(description string) *Error {
	return newError(ErrInvalidRequest, http.StatusForbidden, CodeMalformedRequest, "%s", description)
}

// truncate keeps error descriptions bounded when they quote client input.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Back off to a rune boundary so the result stays valid UTF-8.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
