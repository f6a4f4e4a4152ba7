package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/testbrowser"
	"github.com/tessera-id/tessera/internal/testserver"
	"github.com/tessera-id/tessera/store"
)

const (
	msgBadCredentials = "Incorrect username or password."
	msgAccountLocked  = "Your account is temporarily locked to prevent unauthorized use. Try again later."
	msgAddressLocked  = "Too many failed sign-ins came from your network. Try again later."
	msgStopped        = "The sign-in was stopped after too many attempts. Go back to the application and sign in again."
)

// attempt opens a fresh sign-in page in b (a new pending request) and
// submits username and password once.
func (e *env) attempt(b *browser, username, password string) testbrowser.Outcome {
	e.t.Helper()
	return b.Login(b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil)), username, password)
}

// alert is the message a sign-in or error page shows.
func alert(o testbrowser.Outcome) string {
	return extract(o.Body, `<p class="error" role="alert">`, `</p>`)
}

// expectRefused checks that o is the sign-in form again, 200, with msg,
// and that nothing reached the client.
func expectRefused(t *testing.T, what string, o testbrowser.Outcome, msg string) {
	t.Helper()
	if o.Callback != nil || o.Params.Get("code") != "" {
		t.Fatalf("%s: the client got an answer: %v", what, o.Params)
	}
	if o.Page != "login" || o.Status != http.StatusOK || alert(o) != msg {
		t.Fatalf("%s: page %q status %d message %q, want the sign-in form (200) saying %q", what, o.Page, o.Status, alert(o), msg)
	}
}

// expectSignedIn checks that o went on past the password: to consent,
// or back to the client with a code.
func expectSignedIn(t *testing.T, what string, o testbrowser.Outcome) {
	t.Helper()
	if o.Page != "consent" && o.Params.Get("code") == "" {
		t.Fatalf("%s: page %q status %d message %q, want the user signed in", what, o.Page, o.Status, alert(o))
	}
}

// Ten wrong passwords lock the account for a minute: the right password
// then gives no code, only the lockout message, until the minute is over.
func TestLockoutAfterTenFailures(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for i := 1; i <= 9; i++ {
		expectRefused(t, fmt.Sprintf("failure %d", i), e.attempt(b, "alice@contoso.test", "wrong password"), msgBadCredentials)
	}
	expectRefused(t, "failure 10", e.attempt(b, "alice@contoso.test", "wrong password"), msgAccountLocked)
	expectRefused(t, "the right password while locked", e.attempt(b, "alice@contoso.test", e.password), msgAccountLocked)
	// Every spelling of the username (case, full-width forms) is the same
	// account.
	expectRefused(t, "another spelling", e.attempt(b, "ALICE@Contoso.Test", e.password), msgAccountLocked)
	expectRefused(t, "full-width", e.attempt(b, "ａｌｉｃｅ@contoso.test", e.password), msgAccountLocked)
	e.clock.Advance(59 * time.Second)
	expectRefused(t, "59 s later", e.attempt(b, "alice@contoso.test", e.password), msgAccountLocked)
	e.clock.Advance(time.Second)
	expectSignedIn(t, "a minute later", e.attempt(b, "alice@contoso.test", e.password))
}

// After the first lockout, each failure locks again for twice as long,
// up to fifteen minutes; a success forgets all of it, and so does a quiet
// period of twelve hours.
func TestLockoutGrowsAndIsCapped(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	const user = "alice@contoso.test"
	lockFor := func(what string, d time.Duration) {
		t.Helper()
		expectRefused(t, what, e.attempt(b, user, "wrong password"), msgAccountLocked)
		e.clock.Advance(d - time.Second)
		expectRefused(t, what+", a second before it ends", e.attempt(b, user, e.password), msgAccountLocked)
		e.clock.Advance(time.Second)
	}
	for range 9 {
		expectRefused(t, "failure", e.attempt(b, user, "wrong password"), msgBadCredentials)
	}
	lockFor("the first lockout", time.Minute)
	lockFor("the second lockout", 2*time.Minute)
	lockFor("the third lockout", 4*time.Minute)
	lockFor("the fourth lockout", 8*time.Minute)
	lockFor("the fifth lockout (capped)", 15*time.Minute)
	lockFor("the sixth lockout (capped)", 15*time.Minute)
	expectSignedIn(t, "after the sixth lockout", e.attempt(b, user, e.password))

	// The success forgot the history: nine failures do not lock. (A new
	// browser: this one has a session now, which skips the sign-in page.)
	b = e.browser()
	for range 9 {
		expectRefused(t, "failure after a success", e.attempt(b, user, "wrong password"), msgBadCredentials)
	}
	// Twelve quiet hours forget them too.
	e.clock.Advance(12 * time.Hour)
	for range 9 {
		expectRefused(t, "failure after a quiet period", e.attempt(b, user, "wrong password"), msgBadCredentials)
	}
	expectRefused(t, "the tenth since the quiet period", e.attempt(b, user, "wrong password"), msgAccountLocked)
}

// An unknown username is counted and locked exactly like a known one: the
// same message and status at every step, so the lockout tells nothing
// about which usernames exist.
func TestLockoutUnknownUsernameIdentical(t *testing.T) {
	e := newEnv(t)
	type step struct {
		page    string
		status  int
		message string
	}
	run := func(username, rightPassword string) []step {
		b := e.browser()
		var steps []step
		record := func(o testbrowser.Outcome) {
			steps = append(steps, step{o.Page, o.Status, alert(o)})
		}
		for range 10 {
			record(e.attempt(b, username, "wrong password"))
		}
		// The known user's right password and anything typed for the
		// unknown one answer the same.
		record(e.attempt(b, username, rightPassword))
		e.clock.Advance(time.Minute)
		record(e.attempt(b, username, "wrong password"))
		record(e.attempt(b, username, rightPassword))
		return steps
	}
	known := run("alice@contoso.test", e.password)
	unknown := run("nobody@contoso.test", e.password)
	if len(known) != len(unknown) {
		t.Fatalf("%d steps against %d", len(known), len(unknown))
	}
	for i := range known {
		if known[i] != unknown[i] {
			t.Errorf("step %d: a known username gets %+v, an unknown one %+v", i+1, known[i], unknown[i])
		}
	}
	if known[10].message != msgAccountLocked || known[12].message != msgAccountLocked {
		t.Errorf("the right password during a lockout: %+v, %+v", known[10], known[12])
	}
}

// One pending request allows five tries; then it is over, whatever is
// typed, and the page says to start again from the application.
func TestLockoutPerRequest(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	o := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil))
	loginPage := o
	for i := 1; i <= 4; i++ {
		o = b.Login(o, "alice@contoso.test", "wrong password")
		expectRefused(t, fmt.Sprintf("try %d", i), o, msgBadCredentials)
	}
	stopped := func(what string, o testbrowser.Outcome) {
		t.Helper()
		if o.Callback != nil || o.Page != "error" || o.Status != http.StatusTooManyRequests || alert(o) != msgStopped {
			t.Fatalf("%s: page %q status %d message %q callback %v, want the error page (429) saying %q",
				what, o.Page, o.Status, alert(o), o.Callback, msgStopped)
		}
	}
	stopped("try 5", b.Login(o, "alice@contoso.test", "wrong password"))
	// The form of that request, submitted again with the right password,
	// or opened again: still over.
	stopped("the right password on the same request", b.Submit(loginPage, map[string]string{"username": "alice@contoso.test", "password": e.password}))
	stopped("the page reopened", b.Get(loginPage.URL.String()))
	// Another request starts afresh; five failures did not lock the account.
	expectSignedIn(t, "a new request", e.attempt(b, "alice@contoso.test", e.password))
}

// One address may fail a hundred times, over any usernames; then it is
// locked for everyone behind it, the right password included, while
// another address still signs in.
func TestLockoutPerAddress(t *testing.T) {
	e := newEnvWith(t, testserver.Options{TrustedProxies: "127.0.0.1, ::1"})
	sprayer := e.browser()
	sprayer.Header = http.Header{"X-Forwarded-For": {"198.51.100.7"}}
	for i := 1; i <= 99; i++ {
		// No username fails often enough to be locked on its own.
		expectRefused(t, fmt.Sprintf("guess %d", i), e.attempt(sprayer, fmt.Sprintf("user%02d@contoso.test", i%25), "Winter2024!"), msgBadCredentials)
	}
	expectRefused(t, "guess 100", e.attempt(sprayer, "user99@contoso.test", "Winter2024!"), msgAddressLocked)
	expectRefused(t, "alice from the sprayer's address", e.attempt(sprayer, "alice@contoso.test", e.password), msgAddressLocked)

	elsewhere := e.browser()
	elsewhere.Header = http.Header{"X-Forwarded-For": {"203.0.113.9"}}
	expectSignedIn(t, "alice from another address", e.attempt(elsewhere, "alice@contoso.test", e.password))

	e.clock.Advance(time.Minute)
	expectRefused(t, "the sprayer's next guess locks again", e.attempt(sprayer, "user98@contoso.test", "Winter2024!"), msgAddressLocked)
}

// IPv6 addresses count by their /64: a sprayer taking a fresh address
// from its prefix for every guess is still one address.
func TestLockoutPerAddressIPv6Prefix(t *testing.T) {
	e := newEnvWith(t, testserver.Options{TrustedProxies: "127.0.0.1, ::1"})
	if err := e.store.SetTenantLockout(t.Context(), e.tenant.ID, store.LockoutSettings{AddressThreshold: 5}); err != nil {
		t.Fatal(err)
	}
	from := func(addr string) *browser {
		b := e.browser()
		b.Header = http.Header{"X-Forwarded-For": {addr}}
		return b
	}
	for i := 1; i <= 4; i++ {
		expectRefused(t, fmt.Sprintf("guess %d", i), e.attempt(from(fmt.Sprintf("2001:db8:1:2::%x", i)), fmt.Sprintf("user%d", i), "Winter2024!"), msgBadCredentials)
	}
	expectRefused(t, "guess 5", e.attempt(from("2001:db8:1:2:ffff::5"), "user5", "Winter2024!"), msgAddressLocked)
	expectRefused(t, "alice from the same /64", e.attempt(from("2001:db8:1:2::abcd"), "alice@contoso.test", e.password), msgAddressLocked)
	expectSignedIn(t, "alice from the next /64", e.attempt(from("2001:db8:1:3::1"), "alice@contoso.test", e.password))
}

// Failures that arrive at once, on separate requests, are all counted and
// lock exactly as the policy says, with the counters in SQLite or shared
// in PostgreSQL: ten at once lock the account for one minute (not more:
// the ones that find it locked do not count), nine at once do not lock it.
func TestLockoutConcurrentFailures(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(engine, func(t *testing.T) {
			for _, tc := range []struct {
				n      int
				locked bool
			}{{9, false}, {10, true}, {16, true}} {
				t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
					e := newEnvWith(t, testserver.Options{Engine: engine})
					const user = "alice@contoso.test"
					// Each on its own pending request, all of them open before
					// any is submitted.
					pages := make([]testbrowser.Outcome, tc.n)
					browsers := make([]*browser, tc.n)
					for i := range pages {
						browsers[i] = e.browser()
						pages[i] = browsers[i].Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil))
					}
					var wg sync.WaitGroup
					start := make(chan struct{})
					for i := range pages {
						wg.Go(func() {
							<-start
							browsers[i].Login(pages[i], user, "wrong password")
						})
					}
					close(start)
					wg.Wait()
					b := e.browser()
					if !tc.locked {
						expectSignedIn(t, "after nine failures", e.attempt(b, user, e.password))
						return
					}
					expectRefused(t, "right after", e.attempt(b, user, e.password), msgAccountLocked)
					e.clock.Advance(time.Minute - time.Second)
					expectRefused(t, "59 s later", e.attempt(b, user, e.password), msgAccountLocked)
					e.clock.Advance(time.Second)
					expectSignedIn(t, "a minute later: one lockout, not two", e.attempt(b, user, e.password))
				})
			}
		})
	}
}

// syncBuffer is a log sink shared by the server's handlers and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Each refused sign-in is one "sign-in refused" event naming the tenant,
// the user when there is one, the address and the reason, and no log
// line ever holds a password that was typed.
func TestLockoutLogEvents(t *testing.T) {
	var sink syncBuffer
	logger := slog.New(slog.NewJSONHandler(&sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnvWith(t, testserver.Options{Logger: logger})
	b := e.browser()
	wrong := "Tr0ub4dor-3-wrong"
	for range 9 {
		e.attempt(b, "alice@contoso.test", wrong)
	}
	e.attempt(b, "alice@contoso.test", wrong)         // locks the account
	e.attempt(b, "alice@contoso.test", e.password)    // refused: locked
	e.attempt(b, "nobody@contoso.test", "unknown-pw") // unknown user
	page := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil))
	o := page
	for range 5 {
		o = b.Login(o, "carol@contoso.test", "carol-guess") // the fifth ends the request
		if o.Page != "login" {
			break
		}
	}
	b.Submit(page, map[string]string{"username": "carol@contoso.test", "password": "carol-guess-2"}) // after the end

	type event struct {
		Msg, Level, Tenant, User, Address, Reason, Locked string
	}
	var events []event
	for _, line := range strings.Split(strings.TrimSpace(sink.String()), "\n") {
		for _, pw := range []string{wrong, e.password, "unknown-pw", "carol-guess"} {
			if strings.Contains(line, pw) {
				t.Errorf("a log line holds the password %q: %s", pw, line)
			}
		}
		if !strings.Contains(line, `"msg":"sign-in refused"`) {
			continue
		}
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		events = append(events, ev)
	}
	ten := e.tenant.ID
	alice := e.user.ID
	want := []event{}
	for range 9 {
		want = append(want, event{Level: "INFO", User: alice, Reason: "bad_credentials"})
	}
	want = append(want,
		event{Level: "WARN", User: alice, Reason: "bad_credentials", Locked: "account"},
		event{Level: "WARN", User: alice, Reason: "account_locked"},
		event{Level: "INFO", Reason: "bad_credentials"},
	)
	for range 4 {
		want = append(want, event{Level: "INFO", Reason: "bad_credentials"})
	}
	want = append(want,
		event{Level: "WARN", Reason: "bad_credentials", Locked: "request"},
		event{Level: "WARN", Reason: "request_attempts_exceeded"},
	)
	if len(events) != len(want) {
		t.Fatalf("%d sign-in refused events, want %d (one per refusal):\n%s", len(events), len(want), sink.String())
	}
	for i := range want {
		want[i].Msg, want[i].Tenant, want[i].Address = "sign-in refused", ten, "127.0.0.1"
		if events[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i+1, events[i], want[i])
		}
	}
}

// The tenant's own settings replace the defaults they name, at once.
func TestLockoutTenantSettings(t *testing.T) {
	e := newEnv(t)
	if err := e.store.SetTenantLockout(t.Context(), e.tenant.ID, store.LockoutSettings{Threshold: 3, Duration: 5 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	for range 2 {
		expectRefused(t, "failure", e.attempt(b, "alice@contoso.test", "wrong password"), msgBadCredentials)
	}
	expectRefused(t, "the third failure", e.attempt(b, "alice@contoso.test", "wrong password"), msgAccountLocked)
	e.clock.Advance(5*time.Minute - time.Second)
	expectRefused(t, "before five minutes", e.attempt(b, "alice@contoso.test", e.password), msgAccountLocked)
	e.clock.Advance(time.Second)
	expectSignedIn(t, "after five minutes", e.attempt(b, "alice@contoso.test", e.password))
}
