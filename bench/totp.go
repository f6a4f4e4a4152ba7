package bench

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// LoginTOTP is Login with a second factor: the sign-in form, then a TOTP
// code the generator computes from the account's secret, then the code
// and its redemption. A server accepts each time step of an account once,
// so every worker signs in with accounts of its own (see TOTPSecret and
// `tessera-bench mfa-users`).
const LoginTOTP = "login_totp"

// TOTPUsername is the username of the i-th account `tessera-bench
// mfa-users` makes with prefix.
func TOTPUsername(prefix string, i int) string { return fmt.Sprintf("%s%05d", prefix, i) }

// TOTPSecret is the TOTP secret of a bench account: derived from a key
// the seeder and the generator share and the username, so that the
// generator computes the codes with no file of secrets between them. A
// bench account's secret is only as secret as that key: bench tenants
// only.
func TOTPSecret(key, username string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte("tessera-bench totp\x00" + username))
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(mac.Sum(nil)[:20])
}

// totpAccount is one account a worker signs in with, and the last time
// step it used.
type totpAccount struct {
	username, secret string
	last             int64
}

// code returns a code for the earliest time step the server will still
// accept (it accepts one step either side of its own) and the account
// has not used, or false when it has used them all.
func (a *totpAccount) code(now time.Time) (string, bool) {
	step, ok := a.next(now)
	if !ok {
		return "", false
	}
	c, err := totp.GenerateCodeCustom(a.secret, time.Unix(step*30, 0), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", false
	}
	a.last = step
	return c, true
}

// next is the step code would use at now. The step before the server's
// is used only early in the server's step, so that a code read off the
// app still counts when the sign-in's requests are slow to be answered.
func (a *totpAccount) next(now time.Time) (int64, bool) {
	cur := now.Unix() / 30
	lo := cur - 1
	if now.Unix()%30 >= 10 {
		lo = cur
	}
	step := max(a.last+1, lo)
	return step, step <= cur+1
}

// prepareLoginTOTP makes each request a whole sign-in with password and
// TOTP in a new browser. Worker w owns accounts w, w+workers, …: an
// account is never used by two workers at once, and a worker takes the
// next of its accounts that has a code left, or waits for the next time
// step when none has (which then shows in the throughput: give enough
// accounts, three sign-ins each per 30 s, for the run). Consent must be
// given beforehand (admin consent for the client), as Login's first
// sign-in gives it.
func prepareLoginTOTP(ctx context.Context, cfg *Config) (request, int, error) {
	if cfg.TOTPUsers < cfg.Concurrency {
		return nil, 0, fmt.Errorf("%s: --totp-users %d: at least one account per worker (%d)", LoginTOTP, cfg.TOTPUsers, cfg.Concurrency)
	}
	if cfg.TOTPKey == "" {
		return nil, 0, fmt.Errorf("%s: the TOTP key (--totp-key-env) is not set", LoginTOTP)
	}
	accounts := make([][]*totpAccount, cfg.Concurrency)
	for i := range cfg.TOTPUsers {
		name := TOTPUsername(cfg.TOTPPrefix, i)
		accounts[i%cfg.Concurrency] = append(accounts[i%cfg.Concurrency], &totpAccount{username: name, secret: TOTPSecret(cfg.TOTPKey, name)})
	}
	next := make([]int, cfg.Concurrency)
	pick := func(ctx context.Context, w int) (*totpAccount, error) {
		for {
			mine := accounts[w]
			for range mine {
				a := mine[next[w]%len(mine)]
				next[w]++
				if _, ok := a.next(time.Now()); ok {
					return a, nil
				}
			}
			wait := time.Until(time.Unix((time.Now().Unix()/30+1)*30, 0))
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait):
			}
		}
	}
	// The first sign-in checks the setup, and says how many signatures
	// a response carries.
	a, err := pick(ctx, 0)
	if err != nil {
		return nil, 0, err
	}
	first, err := newSession(ctx, cfg)
	if err != nil {
		return nil, 0, err
	}
	first.username, first.totp = a.username, a.code
	body, err := first.codeGrant(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("first sign-in with TOTP: %w", err)
	}
	sigs := 1
	if _, ok := body["id_token"]; ok {
		sigs = 2
	}
	return func(ctx context.Context, w int) (string, error) {
		a, err := pick(ctx, w)
		if err != nil {
			return "", err
		}
		s, err := newSession(ctx, cfg)
		if err != nil {
			return "", err
		}
		s.username, s.totp = a.username, a.code
		if _, err := s.codeGrant(ctx); err != nil {
			if pe, ok := err.(protocolError); ok {
				return string(pe), nil
			}
			return "", err
		}
		return "", nil
	}, sigs, nil
}
