package oauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// Authentication methods (RFC 8176) a session records and tokens carry
// in amr, and the acr values they come to.
const (
	AMRPassword = "pwd"
	// AMROTP is a one-time code: a TOTP, or a recovery code.
	AMROTP = "otp"
	// AMRMFA is added once two factors of different kinds were used.
	AMRMFA = "mfa"

	// ACRPassword is a sign-in with one factor, ACRMFA one with two.
	ACRPassword = "pwd"
	ACRMFA      = "mfa"
	// acrPAPEMultiFactor is the OpenID PAPE policy for multi-factor
	// authentication, which clients written for it ask for in acr_values;
	// it means ACRMFA.
	acrPAPEMultiFactor = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
)

// acrOf is the acr of a sign-in with methods amr: "mfa" when they
// include it, "pwd" for any other sign-in, "" when nothing is known (a
// session from before methods were recorded).
func acrOf(amr []string) string {
	switch {
	case len(amr) == 0:
		return ""
	case slices.Contains(amr, AMRMFA):
		return ACRMFA
	}
	return ACRPassword
}

// withMethod returns amr with method added, and mfa once a knowledge
// factor (the password) and a possession factor (anything else) were
// both used. A new slice: sessions share theirs.
func withMethod(amr []string, method string) []string {
	out := slices.Clone(amr)
	if !slices.Contains(out, method) {
		out = append(out, method)
	}
	possession := slices.ContainsFunc(out, func(m string) bool { return m != AMRPassword && m != AMRMFA })
	if slices.Contains(out, AMRPassword) && possession && !slices.Contains(out, AMRMFA) {
		out = append(out, AMRMFA)
	}
	return out
}

// wantsMFA reports whether the request asks for a multi-factor sign-in
// in acr_values. Other values are voluntary claims the server may ignore
// (OpenID Connect Core §5.5.1.1): a sign-in that did more is fine.
func (ar *AuthorizeRequest) wantsMFA() bool {
	return slices.ContainsFunc(ar.ACRValues, func(v string) bool { return v == ACRMFA || v == acrPAPEMultiFactor })
}

// FactorMethod is a way to pass the second-factor step. The step's page
// offers the methods the user has; passkeys will add theirs here.
type FactorMethod string

const (
	MethodTOTP     FactorMethod = "totp"
	MethodRecovery FactorMethod = "recovery"
)

// amrOfMethod is the amr value a method adds.
func amrOfMethod(m FactorMethod) string {
	switch m {
	case MethodTOTP, MethodRecovery:
		return AMROTP
	}
	return ""
}

// methodsOf are the methods a user with factors fs may use, in the order
// the page offers them. Recovery codes are offered to whoever has a
// factor: they are for the day that factor is lost.
func methodsOf(fs []store.Factor) []FactorMethod {
	var out []FactorMethod
	// A passkey first: it cannot be phished, and it is one touch.
	if slices.ContainsFunc(fs, func(f store.Factor) bool { return f.Kind == store.FactorPasskey }) {
		out = append(out, MethodPasskey)
	}
	if slices.ContainsFunc(fs, func(f store.Factor) bool { return f.Kind == store.FactorTOTP }) {
		out = append(out, MethodTOTP)
	}
	if len(out) > 0 {
		out = append(out, MethodRecovery)
	}
	return out
}

// mfaRequired reports whether user must sign in with a second factor for
// ar: the request asks for it, or the tenant's policy requires it of
// them. Only the "admins" policy costs a read (the user's roles).
func (p *Provider) mfaRequired(ctx context.Context, ep Endpoint, user store.User, ar *AuthorizeRequest) (bool, error) {
	if ar != nil && ar.wantsMFA() {
		return true, nil
	}
	switch ep.Tenant.MFA {
	case store.MFAEveryone:
		return true, nil
	case store.MFAAdmins:
		roles, err := p.store.ListDirectoryRoles(ctx, ep.Tenant.ID, user.ID)
		if err != nil {
			return false, fmt.Errorf("mfa policy: roles of %s: %w", user.ID, err)
		}
		return len(roles) > 0, nil
	}
	return false, nil
}

// TOTP parameters: what every authenticator app accepts (RFC 6238's
// defaults; Google Authenticator ignores anything else).
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	totpAlg    = otp.AlgorithmSHA1
	// totpSkew is how many steps before and after now a code is accepted
	// in, for clocks that drift and codes typed as they roll over.
	totpSkew = 1
)

// totpCodeAt is the code of secret (base32) for time step step.
func totpCodeAt(secret string, step int64) (string, error) {
	return totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totp.ValidateOpts{
		Period: totpPeriod, Digits: totpDigits, Algorithm: totpAlg,
	})
}

// matchTOTP returns the time step around now whose code is typed, or
// false. It compares in constant time and tries every step of the window,
// so its time does not tell which one matched.
func matchTOTP(secret, typed string, now time.Time) (int64, bool) {
	typed = strings.ReplaceAll(strings.TrimSpace(typed), " ", "")
	if len(typed) != int(totpDigits) {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	var step int64
	found := false
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		code, err := totpCodeAt(secret, cur+d)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(code), []byte(typed)) == 1 && !found {
			step, found = cur+d, true
		}
	}
	return step, found
}

// newTOTPKey draws a TOTP secret for user: 160 bits, RFC 4226's
// recommended length.
func newTOTPKey(ep Endpoint, user store.User) (*otp.Key, error) {
	k, err := totp.Generate(totp.GenerateOpts{
		Issuer: "Tessera (" + ep.Tenant.Name + ")", AccountName: user.Username,
		Period: totpPeriod, SecretSize: 20, Digits: totpDigits, Algorithm: totpAlg,
	})
	if err != nil {
		return nil, fmt.Errorf("generate totp secret: %w", err)
	}
	return k, nil
}

// totpKeyFor rebuilds the key of a pending enrolment from its secret, for
// the page that shows it again: the otpauth URI as totp.Generate makes it.
func totpKeyFor(ep Endpoint, user store.User, secret string) (*otp.Key, error) {
	issuer := "Tessera (" + ep.Tenant.Name + ")"
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	v.Set("period", strconv.Itoa(totpPeriod))
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + user.Username, RawQuery: v.Encode()}
	k, err := otp.NewKeyFromURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("totp key: %w", err)
	}
	return k, nil
}

// qrDataURL is a PNG of the key's otpauth URI as a data: URL, made here
// so that the secret never leaves the page for a third party's QR
// service.
func qrDataURL(k *otp.Key) (string, error) {
	img, err := k.Image(220, 220)
	if err != nil {
		return "", fmt.Errorf("totp qr code: %w", err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return "", fmt.Errorf("totp qr code: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes()), nil
}

// Recovery codes: ten, each 80 random bits shown as four groups of four
// characters from an alphabet without look-alikes. 80 bits make a
// SHA-256 hash enough at rest (no offline guessing), as for client
// secrets.
const (
	recoveryCodes    = 10
	recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789" // 31 symbols: no i, l, o, 0, 1
	recoveryLen      = 16
)

func newRecoveryCodes(ep Endpoint, userID string, now time.Time) ([]string, []store.RecoveryCode) {
	plain := make([]string, 0, recoveryCodes)
	rows := make([]store.RecoveryCode, 0, recoveryCodes)
	for range recoveryCodes {
		var b strings.Builder
		for i := range recoveryLen {
			if i > 0 && i%4 == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(recoveryAlphabet[randIndex(len(recoveryAlphabet))])
		}
		c := b.String()
		plain = append(plain, c)
		rows = append(rows, store.RecoveryCode{TenantID: ep.Tenant.ID, UserID: userID, Hash: recoveryHash(c), CreatedAt: now})
	}
	return plain, rows
}

// randIndex is a uniform random number below n (n < 256), by rejection.
func randIndex(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		_, _ = rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// recoveryHash hashes a recovery code as typed: case, spaces and dashes
// do not matter.
func recoveryHash(typed string) []byte {
	norm := strings.Map(func(r rune) rune {
		switch r {
		case '-', ' ', '\t':
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(typed)))
	return token.Hash("recovery:" + norm)
}

// Errors of the second-factor step.
func wrongCode() *Error {
	return newError(ErrAccessDenied, http.StatusUnauthorized, CodeBadCredentials, "That code is not correct. Try again.")
}

func usedCode() *Error {
	return newError(ErrAccessDenied, http.StatusUnauthorized, CodeBadCredentials,
		"That code was used already. Wait for your authenticator app to show a new one.")
}

func noSuchMethod() *Error {
	return newError(ErrInvalidRequest, http.StatusBadRequest, CodeMalformedRequest, "Choose a verification method this account has.")
}

// factorKey counts second-factor guesses against one user. It is not the
// password's account key: a right password forgets that one, and must not
// give a guesser who knows it a fresh allowance of codes.
func factorKey(userID string) string {
	return "otp:" + base64.RawURLEncoding.EncodeToString(token.Hash(userID))
}

// factorRequestKey counts one sign-in's second-factor tries: a budget of
// its own, beside the password's, which a right password leaves in flight.
func factorRequestKey(interactionID string) string { return requestKey(interactionID) + ":factor" }

// checkFactor runs verify, a check of one second-factor code, under the
// sign-in throttles: the request's, the user's second-factor key and the
// source address's. A failure counts as one like a wrong password; a
// success forgets the user's failures.
func (p *Provider) checkFactor(ctx context.Context, ep Endpoint, in Interaction, user store.User, address string, verify func() *Error) *Error {
	pol := p.signInPolicies(ep.Tenant)
	now := p.now()
	const request, account, addr = 0, 1, 2
	keys := []counted{
		request: {pol: pol.request, key: factorRequestKey(in.id), reason: reasonRequestExceeded, locked: signInStopped, what: "request"},
		account: {pol: pol.account, key: factorKey(user.ID), reason: reasonAccountLocked, locked: accountLocked, what: "account"},
		addr:    {pol: pol.address, key: addressKey(address), reason: reasonAddressLocked, locked: addressThrottled, what: "address"},
	}
	r, e := p.admit(ctx, ep.Tenant.ID, keys, now)
	switch {
	case e != nil:
		return e
	case r != nil && r.locked:
		return keys[r.key].locked()
	case r != nil:
		return signInBusy()
	}
	e = verify()
	if e == nil {
		if _, err := p.settle(ctx, ep.Tenant.ID, keys, []ending{request: takeBack, account: forget, addr: takeBack}, now); err != nil {
			return ServerError(err)
		}
		return nil
	}
	if e.Code == ErrServerError {
		_, _ = p.settle(ctx, ep.Tenant.ID, keys, every(takeBack, len(keys)), now)
		return e
	}
	settled, _ := p.settle(ctx, ep.Tenant.ID, keys, every(countFailure, len(keys)), now)
	if i := lockedBy(keys, settled, now); i >= 0 {
		p.log.WarnContext(ctx, "second factor refused", "tenant", ep.Tenant.ID, "user", user.ID, "locked", keys[i].what)
		return keys[i].locked()
	}
	return e
}

// verifyFactor checks one second-factor answer of user by method, and
// spends it: a TOTP step is recorded as the factor's last, a recovery
// code is deleted. A passkey method adds its case here.
func (p *Provider) verifyFactor(ctx context.Context, ep Endpoint, user store.User, fs []store.Factor, method FactorMethod, code string) *Error {
	switch method {
	case MethodTOTP:
		return p.verifyTOTP(ctx, ep, fs, code)
	case MethodRecovery:
		code = strings.TrimSpace(code)
		if code == "" || len(code) > 64 {
			return wrongCode()
		}
		err := p.store.UseRecoveryCode(ctx, ep.Tenant.ID, user.ID, recoveryHash(code))
		switch {
		case errors.Is(err, store.ErrNotLive):
			return wrongCode()
		case err != nil:
			return ServerError(err)
		}
		return nil
	}
	return noSuchMethod()
}

// verifyTOTP accepts a code of any of the user's TOTP factors for a time
// step later than the last one that factor accepted: a code seen once
// (same step) or older is refused, and the step moves by compare-and-swap
// so that two instances cannot both accept one code.
func (p *Provider) verifyTOTP(ctx context.Context, ep Endpoint, fs []store.Factor, code string) *Error {
	now := p.now()
	for _, f := range fs {
		if f.Kind != store.FactorTOTP {
			continue
		}
		secret, err := p.factors.Open(ep.Tenant.ID, f.ID, f.Secret)
		if err != nil {
			return ServerError(err)
		}
		step, ok := matchTOTP(string(secret), code, now)
		clear(secret)
		if !ok {
			continue
		}
		if step <= f.Counter {
			return usedCode()
		}
		err = p.store.AdvanceFactorCounter(ctx, ep.Tenant.ID, f.ID, step, now)
		switch {
		case errors.Is(err, store.ErrNotLive):
			return usedCode()
		case errors.Is(err, store.ErrNotFound):
			// Removed meanwhile: its codes no longer count.
			continue
		case err != nil:
			return ServerError(err)
		}
		return nil
	}
	return wrongCode()
}

// The enrolment API, for the sign-in page and the user's account page.

// TOTPEnrolment is a TOTP authenticator shown to a user and waiting for
// its first code. Pending carries the secret sealed (under the master
// key, for the server alone) to the confirmation; nothing is stored until
// a code confirms it.
type TOTPEnrolment struct {
	Secret  string // base32, for typing into the app
	URI     string // otpauth://, what the QR code holds
	QR      string // data:image/png;base64,… of the URI
	Pending string
}

// pendingTOTP is what TOTPEnrolment.Pending seals.
type pendingTOTP struct {
	Secret  string `json:"s"`
	Expires int64  `json:"e"`
}

func pendingLabel(ep Endpoint, userID string) string {
	return "tessera totp enrolment v1\x00" + ep.Tenant.ID + "\x00" + userID
}

// BeginTOTP starts enrolling an authenticator app for user.
func (p *Provider) BeginTOTP(ctx context.Context, ep Endpoint, user store.User) (TOTPEnrolment, error) {
	k, err := newTOTPKey(ep, user)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return p.enrolment(ep, user, k)
}

func (p *Provider) enrolment(ep Endpoint, user store.User, k *otp.Key) (TOTPEnrolment, error) {
	qr, err := qrDataURL(k)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	raw, err := json.Marshal(pendingTOTP{Secret: k.Secret(), Expires: p.now().Add(p.cfg.AuthRequestLifetime).Unix()})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("seal totp enrolment: %w", err)
	}
	return TOTPEnrolment{Secret: k.Secret(), URI: k.URL(), QR: qr, Pending: p.state.Seal(pendingLabel(ep, user.ID), raw)}, nil
}

// ConfirmTOTP enrols the authenticator of pending (from BeginTOTP for
// the same user) when code is its current code. A user's first factor
// comes with ten new recovery codes, returned in clear this once; a
// further one keeps the codes they have (nil). address is the client's,
// for the audit entry.
func (p *Provider) ConfirmTOTP(ctx context.Context, ep Endpoint, user store.User, pending, code, name, address string) (store.Factor, []string, *Error) {
	raw, err := p.state.Open(pendingLabel(ep, user.ID), pending)
	var pt pendingTOTP
	if err == nil {
		err = json.Unmarshal(raw, &pt)
	}
	if err != nil || !p.now().Before(time.Unix(pt.Expires, 0)) {
		return store.Factor{}, nil, newError(ErrInvalidRequest, http.StatusBadRequest, CodeMalformedRequest,
			"This enrolment has expired. Start again.")
	}
	return p.confirmTOTP(ctx, ep, user, pt.Secret, code, name, address)
}

func (p *Provider) confirmTOTP(ctx context.Context, ep Endpoint, user store.User, secret, code, name, address string) (store.Factor, []string, *Error) {
	now := p.now()
	step, ok := matchTOTP(secret, code, now)
	if !ok {
		return store.Factor{}, nil, wrongCode()
	}
	existing, err := p.store.ListFactors(ctx, ep.Tenant.ID, user.ID)
	if err != nil {
		return store.Factor{}, nil, ServerError(err)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Authenticator app"
	}
	if r := []rune(name); len(r) > 128 {
		name = string(r[:128])
	}
	id := ids.New()
	f := store.Factor{
		ID: id, TenantID: ep.Tenant.ID, UserID: user.ID, Kind: store.FactorTOTP, Name: name,
		Secret: p.factors.Seal(ep.Tenant.ID, id, []byte(secret)),
		// The confirming code's step is spent: it cannot sign in after.
		Counter: step, CreatedAt: now,
	}
	var plain []string
	var rows []store.RecoveryCode
	if len(existing) == 0 {
		plain, rows = newRecoveryCodes(ep, user.ID, now)
	}
	changes := []store.AuditChange{{Property: "method", New: "totp (" + name + ")"}}
	if rows != nil {
		changes = append(changes, store.AuditChange{Property: "recoveryCodes", New: fmt.Sprintf("%d new", len(rows))})
	}
	entry := p.userEntry(ep, user, address, "Register authenticator app", f.ID, changes)
	if err := p.store.AddFactor(store.WithAudit(ctx, entry), f, rows); err != nil {
		return store.Factor{}, nil, ServerError(err)
	}
	f.Secret = nil
	return f, plain, nil
}

// Factors are a user's second factors, without their secrets, and how
// many recovery codes they have left.
type Factors struct {
	Factors       []store.Factor
	RecoveryCodes int
}

// UserFactors lists user's factors for their account page.
func (p *Provider) UserFactors(ctx context.Context, ep Endpoint, userID string) (Factors, error) {
	fs, err := p.store.ListFactors(ctx, ep.Tenant.ID, userID)
	if err != nil {
		return Factors{}, err
	}
	for i := range fs {
		fs[i].Secret = nil
	}
	n, err := p.store.CountRecoveryCodes(ctx, ep.Tenant.ID, userID)
	if err != nil {
		return Factors{}, err
	}
	return Factors{Factors: fs, RecoveryCodes: n}, nil
}

// RemoveFactor removes one of user's factors (their last takes the
// recovery codes with it); store.ErrNotFound if they have no such factor.
func (p *Provider) RemoveFactor(ctx context.Context, ep Endpoint, user store.User, factorID, address string) error {
	entry := p.userEntry(ep, user, address, "Delete authentication method", factorID, nil)
	if err := p.store.RemoveFactor(store.WithAudit(ctx, entry), ep.Tenant.ID, user.ID, factorID); err != nil {
		return fmt.Errorf("remove factor %s of %s: %w", factorID, user.ID, err)
	}
	return nil
}

// RegenerateRecoveryCodes replaces user's recovery codes with ten new
// ones, returned in clear this once. A user without a factor has none to
// recover: store.ErrNotFound.
func (p *Provider) RegenerateRecoveryCodes(ctx context.Context, ep Endpoint, user store.User, address string) ([]string, error) {
	fs, err := p.store.ListFactors(ctx, ep.Tenant.ID, user.ID)
	if err != nil {
		return nil, err
	}
	if len(fs) == 0 {
		return nil, fmt.Errorf("regenerate recovery codes of %s: no factor: %w", user.ID, store.ErrNotFound)
	}
	plain, rows := newRecoveryCodes(ep, user.ID, p.now())
	entry := p.userEntry(ep, user, address, "Regenerate recovery codes", user.ID,
		[]store.AuditChange{{Property: "recoveryCodes", New: fmt.Sprintf("%d new", len(rows))}})
	if err := p.store.SetRecoveryCodes(store.WithAudit(ctx, entry), ep.Tenant.ID, user.ID, rows); err != nil {
		return nil, fmt.Errorf("regenerate recovery codes of %s: %w", user.ID, err)
	}
	return plain, nil
}

// userEntry is the audit entry of a user's change to their own
// authentication methods.
func (p *Provider) userEntry(ep Endpoint, user store.User, address, activity, targetID string, changes []store.AuditChange) store.AuditEntry {
	now := p.now()
	return store.AuditEntry{
		TenantID: ep.Tenant.ID, ID: ids.NewOrdered(), Kind: store.AuditDirectory, Time: now,
		Category: "UserManagement", Activity: activity, Result: store.AuditSuccess,
		ActorType: "user", ActorID: user.ID, ActorName: user.Username, ActorAddress: address,
		TargetType: "authenticationMethod", TargetID: targetID, TargetName: user.Username,
		Changes: changes, ExpiresAt: now.Add(p.auditRetention()),
	}
}
