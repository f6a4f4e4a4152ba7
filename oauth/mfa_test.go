package oauth_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

// The second-factor and enrolment transitions of the sign-in
// interaction, as rows of the same table as TestInteraction.

const (
	msgWrongCode = "That code is not correct. Try again."
	msgUsedCode  = "That code was used already. Wait for your authenticator app to show a new one."
)

// enrolAlice gives alice an authenticator app through the enrolment API
// and returns its secret and her recovery codes. The clock then moves to
// the next time step, as the confirming code is spent.
func enrolAlice(f *fx) (string, []string) {
	f.t.Helper()
	ctx := context.Background()
	e, err := f.p.BeginTOTP(ctx, f.ep, f.alice)
	if err != nil {
		f.t.Fatal(err)
	}
	_, codes, oe := f.p.ConfirmTOTP(ctx, f.ep, f.alice, e.Pending, f.totp(e.Secret), "Phone", "192.0.2.10")
	if oe != nil {
		f.t.Fatal(oe)
	}
	f.clock.Advance(30 * time.Second)
	return e.Secret, codes
}

// totp is the current code of secret.
func (f *fx) totp(secret string) string {
	f.t.Helper()
	c, err := totp.GenerateCode(secret, f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fx) secondFactor(a *agent, at oauth.Step, method oauth.FactorMethod, code string) oauth.Step {
	return a.take(f.p.SubmitSecondFactor(context.Background(), f.ep,
		oauth.SecondFactorForm{Ref: at.Interaction.Ref, CSRF: at.Interaction.CSRF, Method: method, Code: code}, a.browser()))
}

func (f *fx) enrol(a *agent, at oauth.Step, code string) oauth.Step {
	return a.take(f.p.SubmitEnrol(context.Background(), f.ep, oauth.EnrolForm{Ref: at.Interaction.Ref, CSRF: at.Interaction.CSRF, Code: code}, a.browser()))
}

func (f *fx) policy(p store.MFAPolicy) {
	f.t.Helper()
	if _, err := f.admin.SetMFAPolicy(context.Background(), f.ep.Tenant, p); err != nil {
		f.t.Fatal(err)
	}
	f.resolve()
}

// amrOfCode is what the code a step sent to the client carries.
func amrOfCode(t *testing.T, f *fx, st oauth.Step) []string {
	t.Helper()
	if st.Response == nil {
		t.Fatal("no response")
	}
	c, err := f.store.GetAuthCode(context.Background(), f.ep.Tenant.ID, token.Hash(st.Response.Params.Get("code")))
	if err != nil {
		t.Fatal(err)
	}
	return c.AMR
}

func TestInteractionSecondFactor(t *testing.T) {
	// atSecondFactor: alice has an app and gave her password.
	atSecondFactor := func(f *fx, a *agent, d *device) oauth.Step {
		secret, _ := enrolAlice(f)
		a.secret = secret
		return f.expect(f.login(a, atLogin(f, a), "alice@contoso.test", alicePW), oauth.StateSecondFactor, oauth.PageSecondFactor)
	}
	// atEnrol: the tenant requires a factor of everyone, and alice, who
	// has none, gave her password.
	atEnrol := func(f *fx, a *agent, d *device) oauth.Step {
		f.policy(store.MFAEveryone)
		return f.expect(f.login(a, atLogin(f, a), "alice@contoso.test", alicePW), oauth.StateEnrol, oauth.PageEnrol)
	}
	// pwdSession: alice signed in with her password alone, consented,
	// and enrolled an app afterwards (on her account page).
	pwdSession := func(f *fx, a *agent, d *device) oauth.Step {
		st := signedIn(f, a)
		a.secret, _ = enrolAlice(f)
		return st
	}
	code := func(method oauth.FactorMethod) func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
		return func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
			return f.secondFactor(a, at, method, f.totp(a.secret))
		}
	}
	amrIs := func(want ...string) func(t *testing.T, f *fx, a *agent, d *device, st oauth.Step) {
		return func(t *testing.T, f *fx, a *agent, d *device, st oauth.Step) {
			if got := amrOfCode(t, f, st); !slices.Equal(got, want) {
				t.Errorf("code amr %v, want %v", got, want)
			}
		}
	}

	rows := []row{
		{name: "password of a user with a factor: second factor, no session yet", from: func(f *fx, a *agent, d *device) oauth.Step {
			a.secret, _ = enrolAlice(f)
			return atLogin(f, a)
		}, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				return f.login(a, at, "alice@contoso.test", alicePW)
			},
			want: want{state: oauth.StateSecondFactor, goTo: oauth.PageSecondFactor}},
		{name: "second-factor page", from: atSecondFactor, fromState: oauth.StateSecondFactor,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				return f.p.SecondFactorPage(context.Background(), f.ep, at.Interaction.Ref, "", a.browser())
			},
			want: want{state: oauth.StateSecondFactor, page: oauth.PageSecondFactor, status: http.StatusOK},
			then: func(t *testing.T, f *fx, a *agent, d *device, st oauth.Step) {
				if got := st.SecondFactor.Methods; !slices.Equal(got, []oauth.FactorMethod{oauth.MethodTOTP, oauth.MethodRecovery}) {
					t.Errorf("methods %v", got)
				}
			}},
		{name: "right code: the session starts, consent", from: atSecondFactor, fromState: oauth.StateSecondFactor,
			input: code(oauth.MethodTOTP),
			want:  want{state: oauth.StateConsent, goTo: oauth.PageConsent, session: true}},
		{name: "right code, consent given: the code carries pwd otp mfa",
			from: func(f *fx, a *agent, d *device) oauth.Step {
				signedIn(f, newAgent())
				return atSecondFactor(f, a, d)
			}, fromState: oauth.StateSecondFactor,
			input: code(oauth.MethodTOTP),
			want:  want{state: oauth.StateDone, response: "code", session: true},
			then:  amrIs("pwd", "otp", "mfa")},
		{name: "wrong code: the form again", from: atSecondFactor, fromState: oauth.StateSecondFactor,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				return f.secondFactor(a, at, oauth.MethodTOTP, "000000")
			},
			want: want{state: oauth.StateSecondFactor, page: oauth.PageSecondFactor, status: http.StatusUnauthorized, text: msgWrongCode}},
		{name: "a code used already (the enrolment's, same step)", from: func(f *fx, a *agent, d *device) oauth.Step {
			st := atSecondFactor(f, a, d)
			f.clock.Advance(-30 * time.Second)
			return st
		}, fromState: oauth.StateSecondFactor,
			input: code(oauth.MethodTOTP),
			want:  want{state: oauth.StateSecondFactor, page: oauth.PageSecondFactor, status: http.StatusUnauthorized, text: msgUsedCode}},
		{name: "a code replayed in another sign-in", from: func(f *fx, a *agent, d *device) oauth.Step {
			st := atSecondFactor(f, a, d)
			other := newAgent()
			first := f.login(other, atLogin(f, other), "alice@contoso.test", alicePW)
			if st := f.secondFactor(other, first, oauth.MethodTOTP, f.totp(a.secret)); st.Interaction.State != oauth.StateConsent {
				f.t.Fatalf("setup: first use of the code: %q %v", st.Interaction.State, st.Err)
			}
			return st
		}, fromState: oauth.StateSecondFactor,
			input: code(oauth.MethodTOTP),
			want:  want{state: oauth.StateSecondFactor, page: oauth.PageSecondFactor, status: http.StatusUnauthorized, text: msgUsedCode}},
		{name: "a recovery code works once", from: func(f *fx, a *agent, d *device) oauth.Step {
			_, codes := enrolAlice(f)
			a.secret = codes[3]
			other := newAgent()
			first := f.login(other, atLogin(f, other), "alice@contoso.test", alicePW)
			if st := f.secondFactor(other, first, oauth.MethodRecovery, codes[3]); st.Interaction.State != oauth.StateConsent {
				f.t.Fatalf("setup: first use of the recovery code: %q %v", st.Interaction.State, st.Err)
			}
			return f.expect(f.login(a, atLogin(f, a), "alice@contoso.test", alicePW), oauth.StateSecondFactor, oauth.PageSecondFactor)
		}, fromState: oauth.StateSecondFactor,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				return f.secondFactor(a, at, oauth.MethodRecovery, a.secret)
			},
			want: want{state: oauth.StateSecondFactor, page: oauth.PageSecondFactor, status: http.StatusUnauthorized, text: msgWrongCode}},
		{name: "a recovery code, typed in capitals: pwd otp mfa", from: func(f *fx, a *agent, d *device) oauth.Step {
			signedIn(f, newAgent())
			_, codes := enrolAlice(f)
			a.secret = codes[0]
			return f.expect(f.login(a, atLogin(f, a), "alice@contoso.test", alicePW), oauth.StateSecondFactor, oauth.PageSecondFactor)
		}, fromState: oauth.StateSecondFactor,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				return f.secondFactor(a, at, oauth.MethodRecovery, " "+upper(a.secret)+" ")
			},
			want: want{state: oauth.StateDone, response: "code", session: true},
			then: amrIs("pwd", "otp", "mfa")},
		{name: "a method the user does not have", from: atSecondFactor, fromState: oauth.StateSecondFactor,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				return f.secondFactor(a, at, "passkey", "x")
			},
			want: want{state: oauth.StateSecondFactor, page: oauth.PageSecondFactor, status: http.StatusBadRequest, text: "Choose a verification method this account has."}},
		{name: "the consent form posted with the second-factor ref: back to the second factor", from: atSecondFactor, fromState: oauth.StateSecondFactor,
			input: answer("accept"),
			want:  want{state: oauth.StateSecondFactor, goTo: oauth.PageSecondFactor}},
		{name: "the consent page with the second-factor ref", from: atSecondFactor, fromState: oauth.StateSecondFactor,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step { return f.consentPage(a, at) },
			want:  want{state: oauth.StateSecondFactor, goTo: oauth.PageSecondFactor}},
		{name: "the second-factor form without its CSRF token", from: atSecondFactor, fromState: oauth.StateSecondFactor,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				return a.take(f.p.SubmitSecondFactor(context.Background(), f.ep,
					oauth.SecondFactorForm{Ref: at.Interaction.Ref, Method: oauth.MethodTOTP, Code: f.totp(a.secret)}, a.browser()))
			},
			want: want{state: oauth.StateFailed, kind: unopened, page: oauth.PageError, err: "invalid_request", errState: http.StatusForbidden, text: msgForged}},
		{name: "guesses lock the user's second factor", from: func(f *fx, a *agent, d *device) oauth.Step {
			three := 3
			if _, err := f.admin.SetLockout(context.Background(), f.ep.Tenant, admin.LockoutOptions{Threshold: &three}); err != nil {
				f.t.Fatal(err)
			}
			f.resolve()
			st := atSecondFactor(f, a, d)
			for range 2 {
				f.secondFactor(a, st, oauth.MethodTOTP, "000000")
			}
			return st
		}, fromState: oauth.StateSecondFactor,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				f.secondFactor(a, at, oauth.MethodTOTP, "000000")
				// Locked: even the right code is refused now.
				return f.secondFactor(a, at, oauth.MethodTOTP, f.totp(a.secret))
			},
			want: want{state: oauth.StateSecondFactor, page: oauth.PageSecondFactor, status: http.StatusTooManyRequests, text: msgAccountLocked}},
		{name: "a code of the previous enrolment", from: func(f *fx, a *agent, d *device) oauth.Step {
			old, _ := enrolAlice(f)
			if err := f.admin.ResetAuthenticationMethods(context.Background(), f.alice); err != nil {
				f.t.Fatal(err)
			}
			enrolAlice(f)
			a.secret = old
			return f.expect(f.login(a, atLogin(f, a), "alice@contoso.test", alicePW), oauth.StateSecondFactor, oauth.PageSecondFactor)
		}, fromState: oauth.StateSecondFactor,
			input: code(oauth.MethodTOTP),
			want:  want{state: oauth.StateSecondFactor, page: oauth.PageSecondFactor, status: http.StatusUnauthorized, text: msgWrongCode}},

		// Enrolment at sign-in, under the policy.
		{name: "policy everyone, no factor: enrol after the password", from: func(f *fx, a *agent, d *device) oauth.Step {
			f.policy(store.MFAEveryone)
			return atLogin(f, a)
		}, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				return f.login(a, at, "alice@contoso.test", alicePW)
			},
			want: want{state: oauth.StateEnrol, goTo: oauth.PageEnrol}},
		{name: "policy admins, a user without a role: no second factor", from: func(f *fx, a *agent, d *device) oauth.Step {
			f.policy(store.MFAAdmins)
			return atLogin(f, a)
		}, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				return f.login(a, at, "alice@contoso.test", alicePW)
			},
			want: want{state: oauth.StateConsent, goTo: oauth.PageConsent, session: true}},
		{name: "policy admins, a user with a role: enrol", from: func(f *fx, a *agent, d *device) oauth.Step {
			f.policy(store.MFAAdmins)
			if _, err := f.admin.AssignRole(context.Background(), f.alice, admin.RoleUserAdministrator); err != nil {
				f.t.Fatal(err)
			}
			return atLogin(f, a)
		}, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				return f.login(a, at, "alice@contoso.test", alicePW)
			},
			want: want{state: oauth.StateEnrol, goTo: oauth.PageEnrol}},
		{name: "enrolment page: the secret and its QR code", from: atEnrol, fromState: oauth.StateEnrol,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				return f.p.EnrolPage(context.Background(), f.ep, at.Interaction.Ref, a.browser())
			},
			want: want{state: oauth.StateEnrol, page: oauth.PageEnrol, status: http.StatusOK},
			then: func(t *testing.T, f *fx, a *agent, d *device, st oauth.Step) {
				if len(st.Enrol.Secret) != 32 || st.Enrol.URI == "" || len(st.Enrol.QR) < 100 {
					t.Errorf("enrolment view %+v", st.Enrol)
				}
			}},
		{name: "enrolment, a wrong code: the form again", from: atEnrol, fromState: oauth.StateEnrol,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step { return f.enrol(a, at, "000000") },
			want:  want{state: oauth.StateEnrol, page: oauth.PageEnrol, status: http.StatusUnauthorized, text: msgWrongCode}},
		{name: "enrolment without its CSRF token", from: atEnrol, fromState: oauth.StateEnrol,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				page := f.p.EnrolPage(context.Background(), f.ep, at.Interaction.Ref, a.browser())
				return a.take(f.p.SubmitEnrol(context.Background(), f.ep, oauth.EnrolForm{Ref: at.Interaction.Ref, Code: f.totp(page.Enrol.Secret)}, a.browser()))
			},
			want: want{state: oauth.StateFailed, kind: unopened, page: oauth.PageError, err: "invalid_request", errState: http.StatusForbidden, text: msgForged},
			then: func(t *testing.T, f *fx, a *agent, d *device, st oauth.Step) {
				if fs, _ := f.store.ListFactors(context.Background(), f.ep.Tenant.ID, f.alice.ID); len(fs) != 0 {
					t.Errorf("a forged enrolment stored %d factors", len(fs))
				}
			}},
		{name: "enrolment, the right code: the recovery codes, and the session", from: atEnrol, fromState: oauth.StateEnrol,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				page := f.p.EnrolPage(context.Background(), f.ep, at.Interaction.Ref, a.browser())
				return f.enrol(a, at, f.totp(page.Enrol.Secret))
			},
			want: want{state: oauth.StateEnrolled, page: oauth.PageRecovery, status: http.StatusOK, session: true},
			then: func(t *testing.T, f *fx, a *agent, d *device, st oauth.Step) {
				if len(st.Recovery.Codes) != 10 {
					t.Errorf("%d recovery codes", len(st.Recovery.Codes))
				}
				next := a.take(f.p.SubmitContinue(context.Background(), f.ep, oauth.ContinueForm{Ref: st.Interaction.Ref, CSRF: st.Interaction.CSRF}, a.browser()))
				if next.Interaction.State != oauth.StateConsent || next.Goto != oauth.PageConsent {
					t.Errorf("continue: %q goto %q (%v)", next.Interaction.State, next.Goto, next.Err)
				}
				done := f.consent(a, next, "accept")
				if got := amrOfCode(t, f, done); !slices.Equal(got, []string{"pwd", "otp", "mfa"}) {
					t.Errorf("code amr %v", got)
				}
			}},

		// Step-up of a session signed in with the password alone.
		{name: "acr_values=mfa on a pwd session: the second factor alone", from: pwdSession, fromState: oauth.StateDone,
			input: none(oauth.Params{"acr_values": "mfa"}),
			want:  want{state: oauth.StateSecondFactor, goTo: oauth.PageSecondFactor},
			then: func(t *testing.T, f *fx, a *agent, d *device, st oauth.Step) {
				page := f.p.SecondFactorPage(context.Background(), f.ep, st.Interaction.Ref, "", a.browser())
				if !page.SecondFactor.StepUp {
					t.Error("the page does not say it is a step-up")
				}
				done := f.secondFactor(a, st, oauth.MethodTOTP, f.totp(a.secret))
				if done.Interaction.State != oauth.StateDone || done.SetSession != "" {
					t.Fatalf("step-up: %q (%v), new session %v", done.Interaction.State, done.Err, done.SetSession != "")
				}
				if got := amrOfCode(t, f, done); !slices.Equal(got, []string{"pwd", "otp", "mfa"}) {
					t.Errorf("code amr %v", got)
				}
				// The session is upgraded: a later request for mfa is answered.
				again := f.authorize(a, oauth.Params{"acr_values": "mfa", "prompt": "none"})
				if again.Interaction.State != oauth.StateDone || again.Response.Params.Get("code") == "" {
					t.Errorf("after the step-up: %q %v", again.Interaction.State, again.Err)
				}
			}},
		{name: "PAPE multi-factor in acr_values means mfa", from: pwdSession, fromState: oauth.StateDone,
			input: none(oauth.Params{"acr_values": "urn:example:other http://schemas.openid.net/pape/policies/2007/06/multi-factor"}),
			want:  want{state: oauth.StateSecondFactor, goTo: oauth.PageSecondFactor}},
		{name: "acr_values=pwd on a pwd session: answered", from: pwdSession, fromState: oauth.StateDone,
			input: none(oauth.Params{"acr_values": "pwd"}),
			want:  want{state: oauth.StateDone, response: "code"},
			then:  amrIs("pwd")},
		{name: "prompt=none with acr_values=mfa on a pwd session", from: pwdSession, fromState: oauth.StateDone,
			input: none(oauth.Params{"acr_values": "mfa", "prompt": "none"}),
			want:  want{state: oauth.StateFailed, response: "interaction_required", err: "interaction_required"}},
		{name: "acr_values=mfa, a user without a factor: enrol", from: func(f *fx, a *agent, d *device) oauth.Step { return signedIn(f, a) }, fromState: oauth.StateDone,
			input: none(oauth.Params{"acr_values": "mfa"}),
			want:  want{state: oauth.StateEnrol, goTo: oauth.PageEnrol}},
		{name: "the policy tightened under a pwd session: step-up", from: func(f *fx, a *agent, d *device) oauth.Step {
			st := signedIn(f, a)
			f.policy(store.MFAEveryone)
			return st
		}, fromState: oauth.StateDone,
			input: none(nil),
			want:  want{state: oauth.StateEnrol, goTo: oauth.PageEnrol}},
		{name: "the old consent ref of a pwd session after the policy tightened: refused", from: func(f *fx, a *agent, d *device) oauth.Step {
			st := atConsent(f, a)
			f.policy(store.MFAEveryone)
			return st
		}, fromState: oauth.StateConsent,
			input: answer("accept"),
			want:  want{state: oauth.StateFailed, response: "interaction_required", err: "interaction_required"}},
		{name: "prompt=login of an mfa session: password, then the factor again", from: func(f *fx, a *agent, d *device) oauth.Step {
			st := atSecondFactor(f, a, d)
			f.secondFactor(a, st, oauth.MethodTOTP, f.totp(a.secret))
			f.clock.Advance(30 * time.Second)
			return f.expect(f.authorize(a, oauth.Params{"prompt": "login"}), oauth.StateLogin, oauth.PageLogin)
		}, fromState: oauth.StateLogin,
			input: func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
				return f.login(a, at, "alice@contoso.test", alicePW)
			},
			want: want{state: oauth.StateSecondFactor, goTo: oauth.PageSecondFactor}},
	}

	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFx(t)
			a, d := newAgent(), &device{}
			var at oauth.Step
			if tc.from != nil {
				at = tc.from(f, a, d)
				if at.Interaction.State != tc.fromState {
					t.Fatalf("setup reached state %q, want %q", at.Interaction.State, tc.fromState)
				}
			}
			st := tc.input(f, a, d, at)
			check(t, f, tc.want, st)
			if tc.then != nil && !t.Failed() {
				tc.then(t, f, a, d, st)
			}
		})
	}
}

func none(extra oauth.Params) func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
	return func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step { return f.authorize(a, extra) }
}

func answer(s string) func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step {
	return func(f *fx, a *agent, d *device, at oauth.Step) oauth.Step { return f.consent(a, at, s) }
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// TestFactorAPI: what the account page calls. A second authenticator
// keeps the recovery codes, regenerating replaces them, removing the last
// factor takes them with it, and an enrolment confirms only with its own
// user's pending secret before it expires.
func TestFactorAPI(t *testing.T) {
	t.Parallel()
	f := newFx(t)
	ctx := context.Background()
	_, codes := enrolAlice(f)
	got, err := f.p.UserFactors(ctx, f.ep, f.alice.ID)
	if err != nil || len(got.Factors) != 1 || got.RecoveryCodes != 10 || got.Factors[0].Secret != nil || got.Factors[0].Name != "Phone" {
		t.Fatalf("factors %+v, %v", got, err)
	}

	second, err := f.p.BeginTOTP(ctx, f.ep, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(second.URI, "otpauth://totp/") || !strings.HasPrefix(second.QR, "data:image/png;base64,") {
		t.Errorf("enrolment %q %.40q", second.URI, second.QR)
	}
	// Another user cannot confirm alice's pending enrolment.
	if _, _, e := f.p.ConfirmTOTP(ctx, f.ep, f.bob, second.Pending, f.totp(second.Secret), "", ""); e == nil {
		t.Error("bob confirmed alice's pending enrolment")
	}
	factor, more, e := f.p.ConfirmTOTP(ctx, f.ep, f.alice, second.Pending, f.totp(second.Secret), "Tablet", "192.0.2.1")
	if e != nil || more != nil || factor.Secret != nil {
		t.Fatalf("second authenticator: %v, codes %v", e, more)
	}
	if got, _ := f.p.UserFactors(ctx, f.ep, f.alice.ID); len(got.Factors) != 2 || got.RecoveryCodes != 10 {
		t.Errorf("after the second: %+v", got)
	}
	stored, _ := f.store.ListFactors(ctx, f.ep.Tenant.ID, f.alice.ID)
	if strings.Contains(string(stored[1].Secret), second.Secret) {
		t.Error("the TOTP secret is stored in clear")
	}

	fresh, err := f.p.RegenerateRecoveryCodes(ctx, f.ep, f.alice, "192.0.2.1")
	if err != nil || len(fresh) != 10 || slices.Contains(fresh, codes[0]) {
		t.Fatalf("regenerated %v, %v", fresh, err)
	}
	for _, fa := range []store.Factor{stored[0], stored[1]} {
		if err := f.p.RemoveFactor(ctx, f.ep, f.alice, fa.ID, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := f.p.UserFactors(ctx, f.ep, f.alice.ID); len(got.Factors) != 0 || got.RecoveryCodes != 0 {
		t.Errorf("after removing both: %+v", got)
	}
	if _, err := f.p.RegenerateRecoveryCodes(ctx, f.ep, f.alice, ""); err == nil {
		t.Error("recovery codes for a user without a factor")
	}

	// A pending enrolment expires with the sign-in request lifetime.
	late, _ := f.p.BeginTOTP(ctx, f.ep, f.alice)
	f.clock.Advance(31 * time.Minute)
	if _, _, e := f.p.ConfirmTOTP(ctx, f.ep, f.alice, late.Pending, f.totp(late.Secret), "", ""); e == nil {
		t.Error("an expired enrolment was confirmed")
	}
	entries, err := f.store.ListAudit(ctx, f.ep.Tenant.ID, store.AuditQuery{Kind: store.AuditDirectory})
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, e := range entries {
		acts = append(acts, e.Activity)
	}
	for _, want := range []string{"Register authenticator app", "Regenerate recovery codes", "Delete authentication method"} {
		if !slices.Contains(acts, want) {
			t.Errorf("no %q in the audit log: %v", want, acts)
		}
	}
}
