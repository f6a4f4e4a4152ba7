package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// DeviceCode is what the user needs to finish a device code sign-in
// elsewhere. Message is the server's human text (MSAL's
// deviceCodeCallback prints it).
type DeviceCode struct {
	UserCode                string
	DeviceCode              string
	VerificationURI         string
	VerificationURIComplete string
	Message                 string
	ExpiresOn               time.Time
	Interval                time.Duration
}

type deviceAuthorization struct {
	DeviceCode              string      `json:"device_code"`
	UserCode                string      `json:"user_code"`
	VerificationURI         string      `json:"verification_uri"`
	VerificationURL         string      `json:"verification_url"` // Google's spelling
	VerificationURIComplete string      `json:"verification_uri_complete"`
	ExpiresIn               flexSeconds `json:"expires_in"`
	Interval                flexSeconds `json:"interval"`
	Message                 string      `json:"message"`
}

// AcquireTokenByDeviceCode runs the device authorization grant (RFC 8628):
// it hands the code to callback, then polls at the server's interval
// (slowing down when told) until the user finishes, declines, or the code
// expires. A declined sign-in is an error matching ErrAccessDenied; an
// expired code, whether the server says so (expired_token) or the expiry
// it announced passes on the app's clock, one matching
// ErrDeviceCodeExpired (and ErrInteractionRequired). WithClaims and
// WithTokenParameter apply.
func (p *PublicApp) AcquireTokenByDeviceCode(ctx context.Context, scopes []string, callback func(context.Context, DeviceCode) error, opts ...TokenOption) (Result, error) {
	o := newTokenOptions(opts)
	au, err := p.resolve(ctx)
	if err != nil {
		return Result{}, err
	}
	if au.DeviceAuthorizationEndpoint == "" {
		return Result{}, fmt.Errorf("client: the authority does not support the device code flow")
	}
	var da deviceAuthorization
	authForm := url.Values{"scope": {withOIDC(scopes)}}
	o.apply(authForm)
	if err := p.postForm(ctx, au.DeviceAuthorizationEndpoint, authForm, &da); err != nil {
		return Result{}, err
	}
	if da.DeviceCode == "" || da.UserCode == "" {
		return Result{}, &Error{Kind: ErrServer, Description: "the device authorization response lacks device_code or user_code"}
	}
	dc := DeviceCode{UserCode: da.UserCode, DeviceCode: da.DeviceCode, VerificationURI: da.VerificationURI,
		VerificationURIComplete: da.VerificationURIComplete, Message: da.Message, Interval: da.Interval.duration()}
	if dc.VerificationURI == "" {
		dc.VerificationURI = da.VerificationURL
	}
	if dc.Interval <= 0 {
		dc.Interval = 5 * time.Second
	}
	expiresIn := da.ExpiresIn.duration()
	if expiresIn <= 0 {
		expiresIn = 15 * time.Minute
	}
	dc.ExpiresOn = p.now().Add(expiresIn)
	if dc.Message == "" {
		dc.Message = fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", dc.VerificationURI, dc.UserCode)
	}
	if callback != nil {
		if err := callback(ctx, dc); err != nil {
			return Result{}, err
		}
	}

	interval := dc.Interval
	for {
		timer := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			timer.Stop()
			return Result{}, ctx.Err()
		case <-timer.C:
		}
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {dc.DeviceCode}}
		o.apply(form)
		au, tr, err := p.tokenRequest(ctx, form)
		if err == nil {
			return p.handleResponse(ctx, au, tr, responseContext{scopes: scopes})
		}
		var e *Error
		if !errors.As(err, &e) {
			return Result{}, err
		}
		switch e.Code {
		case "authorization_pending":
		case "slow_down":
			interval += 5 * time.Second // RFC 8628 §3.5
		default:
			return Result{}, err
		}
		if !p.now().Before(dc.ExpiresOn) {
			return Result{}, &Error{Kind: ErrDeviceCodeExpired, Code: "expired_token",
				Description: "the device code expired at " + dc.ExpiresOn.UTC().Format(time.RFC3339) + " before the user finished signing in"}
		}
	}
}
