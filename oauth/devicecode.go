package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// Device authorization grant (RFC 8628).
const (
	GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
	// grantDeviceCodeMSAL is the short name MSAL sends.
	grantDeviceCodeMSAL = "device_code"

	ErrAuthorizationPending = "authorization_pending"
	ErrSlowDown             = "slow_down"
	ErrExpiredToken         = "expired_token"

	// userCodeAlphabet has no vowels (no words) and no look-alikes (RFC
	// 8628 §6.1): 20 letters, 8 of them make 34 bits.
	userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	userCodeLen      = 8
)

// Limits on flooding the code space, and the device flow's error numbers.
const (
	deviceRequestsPerMin  = 60 // per client
	deviceRequestsWindow  = time.Minute
	CodeUserCodeLimited   = 50196
	CodeDeviceCodeExpired = 70020
	CodePending           = 70016
	CodeDenied            = 70019
)

// UserCodeLimits bound how many user codes may be typed on a tenant's
// verification page in each window: from one source address, from one
// browser, and in the whole tenant. Every attempt counts, right or wrong,
// because the limit must stop the lookup itself: answering "too many" only
// after a wrong guess would tell a guesser nothing it did not know.
//
// Why these three, and not one per client: a wrong code names no client,
// so guesses cannot be counted against the client they aim at. What a
// guess can win is bounded per client instead, where codes are made: at
// most 60 device authorizations a minute per client (DeviceAuthorize), so
// at most 900 of its codes live at once among 20^8 (2.6e10) possible ones.
//
//   - PerAddress stops one machine, with or without cookies. Behind a
//     proxy that is not trusted, every user shares the proxy's address,
//     which makes the limit stricter, never looser.
//   - PerBrowser stops one browser that moves between addresses (a phone
//     switching networks). It does nothing against a client that drops
//     the cookie, which each request then gets afresh; PerAddress does.
//   - PerTenant, much higher, stops a guesser spread over many addresses.
//     Its cost is that such a guesser can keep the tenant's page refusing
//     everyone for the rest of a window; with the defaults (1000 in 15
//     minutes, 1.1 a second) a tenant's own users, who type one code per
//     sign-in, do not reach it, and a guesser with 900 live codes to find
//     wins with odds of 1000 x 900 / 2.6e10 = 3.5e-5 per window.
type UserCodeLimits struct {
	PerAddress int
	PerBrowser int
	PerTenant  int
	Window     time.Duration
}

// DefaultUserCodeLimits are the limits Tessera ships with.
func DefaultUserCodeLimits() UserCodeLimits {
	return UserCodeLimits{PerAddress: 20, PerBrowser: 20, PerTenant: 1000, Window: 15 * time.Minute}
}

// orDefault fills the zero fields of l from the defaults.
func (l UserCodeLimits) orDefault() UserCodeLimits {
	d := DefaultUserCodeLimits()
	if l.PerAddress <= 0 {
		l.PerAddress = d.PerAddress
	}
	if l.PerBrowser <= 0 {
		l.PerBrowser = d.PerBrowser
	}
	if l.PerTenant <= 0 {
		l.PerTenant = d.PerTenant
	}
	if l.Window <= 0 {
		l.Window = d.Window
	}
	return l
}

// DeviceAuthorization is the device authorization response (RFC 8628
// §3.2) plus the human message MSAL's deviceCodeCallback prints.
type DeviceAuthorization struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
	Message                 string `json:"message"`
}

// DeviceAuthorize starts a device authorization for the client.
func (p *Provider) DeviceAuthorize(ctx context.Context, ep Endpoint, req TokenRequest) (*DeviceAuthorization, *Error) {
	client, e := p.authenticateClient(ctx, ep, req, true)
	if e != nil {
		return nil, e
	}
	if e := devicePublicFlow(client.app, client.method); e != nil {
		return nil, e
	}
	n, err := p.store.Hit(ctx, "device:"+ep.Tenant.ID+":"+client.app.ClientID, deviceRequestsWindow, p.now())
	if err != nil {
		return nil, ServerError(err)
	}
	if n > deviceRequestsPerMin {
		return nil, newError(ErrSlowDown, http.StatusTooManyRequests, CodeUserCodeLimited, "Too many device authorization requests from this client; wait a minute.")
	}
	raw := req.Params.Get("scope")
	if raw == "" {
		return nil, MissingParameter("scope")
	}
	sr, e := p.parseScope(ctx, ep.Tenant.ID, raw)
	if e != nil {
		return nil, e
	}
	grant, e := authorizeGrant(client.app, sr)
	if e != nil {
		return nil, e
	}

	now := p.now()
	expires := now.Add(p.cfg.DeviceCodeLifetime)
	deviceCode := newDeviceCode(expires)
	d := store.DeviceCode{
		Hash: token.Hash(deviceCode), TenantID: ep.Tenant.ID, ClientID: client.app.ClientID, Grant: grant,
		Status: store.DevicePending, Interval: p.cfg.DevicePollInterval, CreatedAt: now, ExpiresAt: expires,
	}
	for attempt := 0; ; attempt++ {
		d.UserCode = newUserCode()
		err = p.store.CreateDeviceCode(ctx, d)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 4 {
			return nil, ServerError(err)
		}
	}
	display := FormatUserCode(d.UserCode)
	verify := ep.Base + "/device"
	return &DeviceAuthorization{
		DeviceCode:              deviceCode,
		UserCode:                display,
		VerificationURI:         verify,
		VerificationURIComplete: verify + "?user_code=" + display,
		ExpiresIn:               int64(p.cfg.DeviceCodeLifetime / time.Second),
		Interval:                int64(p.cfg.DevicePollInterval / time.Second),
		Message:                 fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verify, display),
	}, nil
}

// newDeviceCode is a device_code: 256 random bits, then "." and the code's
// expiry in Unix seconds. The row of an expired code is collected within a
// minute or so; a device that polls after that still learns that its code
// expired (expired_token, RFC 8628 §3.5) rather than that it never existed
// (invalid_grant), from the suffix. The suffix is not secret and not
// authenticated: forging one only changes which of the two refusals an
// unknown code gets. The whole string is what is hashed and looked up.
func newDeviceCode(expires time.Time) string {
	return token.NewOpaque() + "." + strconv.FormatInt(expires.Unix(), 10)
}

// deviceCodeExpired reports whether code carries an expiry suffix that has
// passed at now.
func deviceCodeExpired(code string, now time.Time) bool {
	dot := strings.LastIndexByte(code, '.')
	if dot < 0 {
		return false
	}
	sec, err := strconv.ParseInt(code[dot+1:], 10, 64)
	return err == nil && sec > 0 && !now.Before(time.Unix(sec, 0))
}

func newUserCode() string {
	b := make([]byte, userCodeLen)
	out := make([]byte, userCodeLen)
	// Rejection sampling keeps every letter equally likely.
	for i := 0; i < userCodeLen; {
		_, _ = rand.Read(b)
		for _, c := range b {
			if i == userCodeLen {
				break
			}
			if c < 240 { // 240 = 12 * 20
				out[i] = userCodeAlphabet[int(c)%len(userCodeAlphabet)]
				i++
			}
		}
	}
	return string(out)
}

// FormatUserCode shows a normalized user code as XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != userCodeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// NormalizeUserCode accepts what a person types: any case, with or without
// the dash or spaces. It returns "" for anything that cannot be a code.
func NormalizeUserCode(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		if !strings.ContainsRune(userCodeAlphabet, r) {
			return ""
		}
		b.WriteRune(r)
		if b.Len() > userCodeLen {
			return ""
		}
	}
	if b.Len() != userCodeLen {
		return ""
	}
	return b.String()
}

// devicePublicFlow refuses a confidential app that presented no
// credentials for the device flow unless it allows public client flows.
func devicePublicFlow(app store.App, method string) *Error {
	if !app.Public && method == AuthNone && !app.AllowPublicClientFlows {
		return invalidClient(CodeClientAuthRequired, "The request body must contain 'client_secret' or 'client_assertion' (or an HTTP Basic Authorization header) for a confidential client; to use the device code flow without them, allow public client flows for application '%s'.", app.ClientID)
	}
	return nil
}

// deviceCode is the token request of a polling device (RFC 8628 §3.4).
func (p *Provider) deviceCode(ctx context.Context, tc *tokenContext) (*TokenResponse, *Error) {
	if tc.unauthenticated {
		if e := devicePublicFlow(tc.client, AuthNone); e != nil {
			return nil, e
		}
	}
	code := tc.params.Get("device_code")
	if code == "" {
		return nil, MissingParameter("device_code")
	}
	if len(code) > maxRefreshLen {
		return nil, invalidGrant(CodeGrantInvalid, "The device_code is not valid.")
	}
	hash := token.Hash(code)
	now := p.now()
	d, err := p.store.PollDeviceCode(ctx, tc.ep.Tenant.ID, hash, now)
	if errors.Is(err, store.ErrNotFound) && deviceCodeExpired(code, now) {
		// Collected after it expired.
		return nil, deviceExpired()
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && d.ClientID != tc.client.ClientID) {
		return nil, invalidGrant(CodeGrantInvalid, "The device_code is not valid for this client.")
	}
	if err != nil {
		return nil, ServerError(err)
	}
	switch {
	case !d.UsedAt.IsZero():
		return nil, invalidGrant(CodeCodeRedeemed, "The device_code has already been redeemed.")
	case !now.Before(d.ExpiresAt):
		return nil, deviceExpired()
	case d.Status == store.DeviceDenied:
		return nil, newError(ErrAccessDenied, http.StatusBadRequest, CodeDenied, "The user declined the sign-in on the verification page.")
	case d.Status == store.DevicePending:
		// slow_down is only for clients polling far faster than asked:
		// MSAL Node treats it as fatal, and it polls at the interval.
		if !d.LastPollAt.IsZero() && now.Sub(d.LastPollAt) < d.Interval/4 {
			return nil, newError(ErrSlowDown, http.StatusBadRequest, CodePending, "The client is polling too often; wait %d seconds between requests.", int(d.Interval/time.Second))
		}
		return nil, newError(ErrAuthorizationPending, http.StatusBadRequest, CodePending, "The user has not finished signing in yet; keep polling.")
	}

	user, err := p.store.GetUser(ctx, tc.ep.Tenant.ID, d.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && user.Disabled) {
		return nil, deadGrant(CodeUserDisabled, "The user account is disabled or was removed.")
	}
	if err != nil {
		return nil, ServerError(err)
	}
	if e := p.sessionLive(ctx, tc.ep, d.SessionID, now); e != nil {
		return nil, e
	}
	grant := d.Grant
	if tc.unauthenticated {
		grant.PublicVia = publicDevice
	}
	red, refresh := p.newRedemption(tc, user.ID, d.SessionID, d.AuthTime, d.AMR, grant, now)
	err = p.store.RedeemDeviceCode(ctx, tc.ep.Tenant.ID, hash, now, red)
	if errors.Is(err, store.ErrNotLive) {
		return nil, invalidGrant(CodeCodeRedeemed, "The device_code has already been redeemed.")
	}
	if err != nil {
		return nil, ServerError(err)
	}
	if e := p.sessionEndedMeanwhile(ctx, tc.ep, d.SessionID, red, now); e != nil {
		return nil, e
	}
	resource, e := p.grantResource(ctx, tc.ep, d.Grant)
	if e != nil {
		return nil, e
	}
	return p.mint(ctx, issuance{
		ep: tc.ep, client: tc.client, user: &user, resource: resource, grant: d.Grant,
		authTime: d.AuthTime, amr: d.AMR, sessionID: d.SessionID, refreshToken: refresh, clientInfo: tc.wantsClientInfo(),
		accessID: red.AccessTokenID, issuedAt: now, familyID: familyOf(red),
	})
}

func deviceExpired() *Error {
	return newError(ErrExpiredToken, http.StatusBadRequest, CodeDeviceCodeExpired, "The device_code has expired. Start the sign-in again.")
}

// grantResource loads the resource app of a grant, or nil when the grant
// names none.
func (p *Provider) grantResource(ctx context.Context, ep Endpoint, g store.Grant) (*store.App, *Error) {
	if g.ResourceID == "" {
		return nil, nil
	}
	app, err := p.store.GetApp(ctx, ep.Tenant.ID, g.ResourceID)
	if err != nil {
		return nil, ServerError(err)
	}
	return &app, nil
}

// deviceSource identifies who is typing user codes, for rate limiting.
type deviceSource struct {
	address string // client IP address
	browser string // browser-binding cookie secret
}

// checkUserCode checks a user code typed on the verification page, under
// the limits on typing them, and returns the live device authorization it
// names.
func (p *Provider) checkUserCode(ctx context.Context, ep Endpoint, typed string, src deviceSource) (store.DeviceCode, *Error) {
	now := p.now()
	// In this order, so that a source already over its own limit does not
	// use up the tenant's.
	limits := p.cfg.UserCodeLimits
	for _, l := range []struct {
		name, key string
		max       int
		message   string
	}{
		{"address", "usercode:addr:" + ep.Tenant.ID + ":" + addressBucket(src.address), limits.PerAddress, "Too many codes were tried from here. Wait a few minutes and try again."},
		{"browser", "usercode:browser:" + ep.Tenant.ID + ":" + hex.EncodeToString(token.Hash(src.browser)), limits.PerBrowser, "Too many codes were tried from this browser. Wait a few minutes and try again."},
		{"tenant", "usercode:tenant:" + ep.Tenant.ID, limits.PerTenant, "Too many codes were tried on this page recently. Wait a few minutes and try again."},
	} {
		n, err := p.store.Hit(ctx, l.key, limits.Window, now)
		if err != nil {
			return store.DeviceCode{}, ServerError(err)
		}
		if n > l.max {
			if n == l.max+1 { // once per window, however long the guessing goes on
				p.log.WarnContext(ctx, "user code attempts limited", "tenant", ep.Tenant.ID, "limit", l.name, "address", src.address)
			}
			return store.DeviceCode{}, newError(ErrSlowDown, http.StatusTooManyRequests, CodeUserCodeLimited, "%s", l.message)
		}
	}
	invalid := newError(ErrInvalidRequest, http.StatusBadRequest, CodeDeviceCodeExpired, "That code is not valid or has expired. Check the code shown on your device.")
	code := NormalizeUserCode(typed)
	if code == "" {
		return store.DeviceCode{}, invalid
	}
	d, err := p.store.GetDeviceCodeByUserCode(ctx, ep.Tenant.ID, code)
	if errors.Is(err, store.ErrNotFound) {
		return store.DeviceCode{}, invalid
	}
	if err != nil {
		return store.DeviceCode{}, ServerError(err)
	}
	if d.Status != store.DevicePending || !now.Before(d.ExpiresAt) {
		return store.DeviceCode{}, invalid
	}
	return d, nil
}

// decideDevice records the user's answer for the device authorization a
// device approval names (base64url of its code's hash).
func (p *Provider) decideDevice(ctx context.Context, ep Endpoint, device string, decision store.DeviceDecision) *Error {
	hash, err := base64.RawURLEncoding.DecodeString(device)
	if err != nil {
		return ServerError(fmt.Errorf("device code reference: %w", err))
	}
	err = p.store.DecideDeviceCode(ctx, ep.Tenant.ID, hash, decision, p.now())
	if errors.Is(err, store.ErrNotLive) || errors.Is(err, store.ErrNotFound) {
		return newError(ErrExpiredToken, http.StatusBadRequest, CodeDeviceCodeExpired, "The code expired or was already used. Start the sign-in on your device again.")
	}
	if err != nil {
		return ServerError(err)
	}
	return nil
}
