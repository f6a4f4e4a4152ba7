package harness

import (
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Authenticator is a user's authenticator app: it learns its secret from
// the enrolment page the browser meets and computes TOTP codes, never one
// for a time step it gave before (the server accepts each step once),
// waiting for the next step when it must, as a person would.
type Authenticator struct {
	mu     sync.Mutex
	secret string
	last   int64
}

// Secret is the secret the authenticator was set up with, "" before.
func (a *Authenticator) Secret() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.secret
}

func (a *Authenticator) setSecret(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.secret, a.last = s, 0
}

// Code is the next code, for the earliest step the server accepts (one
// either side of its own) that was not used.
func (a *Authenticator) Code(t testing.TB) string {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.secret == "" {
		t.Fatal("the authenticator was asked for a code before it was set up")
	}
	for {
		now := time.Now()
		cur := now.Unix() / 30
		lo := cur - 1
		if now.Unix()%30 >= 10 {
			lo = cur // a code of the step before might be late by the time it arrives
		}
		if step := max(a.last+1, lo); step <= cur+1 {
			a.last = step
			c, err := totp.GenerateCodeCustom(a.secret, time.Unix(step*30, 0), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		time.Sleep(time.Until(time.Unix((cur+1)*30, 0)) + 50*time.Millisecond)
	}
}

// UseAuthenticator gives the browser's user an authenticator app: SignIn
// and ApproveDevice then enrol it when the server asks (reading the
// secret off the page) and answer the second-factor page with its codes.
func (b *Browser) UseAuthenticator(a *Authenticator) { b.auth = a }

// secondFactor answers an enrolment, recovery codes or second-factor page
// if the browser is on one, and reports whether it was.
func (b *Browser) secondFactor() bool {
	b.t.Helper()
	switch {
	case b.Has("#totp-secret"):
		if b.auth == nil {
			b.t.Fatal("the server asks to enrol an authenticator app, and the browser has none (UseAuthenticator)")
		}
		var secret string
		b.Eval(`document.querySelector("#totp-secret").textContent.replace(/\s/g, "")`, &secret)
		b.auth.setSecret(secret)
		b.Fill("#code", b.auth.Code(b.t))
		b.Click(`button[type="submit"]`)
	case b.Has(".codes"):
		b.Click(`button[type="submit"]`)
	case b.Has(`input[name="method"]`):
		if b.auth == nil {
			b.t.Fatal("the server asks for a second factor, and the browser has no authenticator (UseAuthenticator)")
		}
		b.Fill("#code", b.auth.Code(b.t))
		b.Click(`button[type="submit"]`)
	default:
		return false
	}
	return true
}
