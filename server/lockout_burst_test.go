package server_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-id/tessera/internal/testbrowser"
	"github.com/tessera-id/tessera/internal/testserver"
)

// checkedAttempts counts the sign-in refusals whose password was checked
// (reason bad_credentials) and all refusals, from the server's log.
func checkedAttempts(t *testing.T, log string) (checked, refused int) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if !strings.Contains(line, `"msg":"sign-in refused"`) {
			continue
		}
		var ev struct{ Reason string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		refused++
		if ev.Reason == "bad_credentials" {
			checked++
		}
	}
	return checked, refused
}

// TestLockoutBurst: guesses sent all at once get no more password checks
// than the limits allow. Counting a failure only after its check let every
// guess of a burst pass the lock checks together, before any failure was
// stored: 40 guesses on one sign-in request were all checked against a cap
// of 5, and a right password among them signed in.
func TestLockoutBurst(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(engine, func(t *testing.T) {
			const burst = 40
			const user = "alice@contoso.test"
			t.Run("one request", func(t *testing.T) {
				var sink syncBuffer
				e := newEnvWith(t, testserver.Options{Engine: engine, Logger: slog.New(slog.NewJSONHandler(&sink, nil))})
				b := e.browser()
				page := b.Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil))
				outcomes := make([]testbrowser.Outcome, burst)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range burst {
					wg.Go(func() {
						<-start
						outcomes[i] = b.Login(page, user, "wrong password")
					})
				}
				close(start)
				wg.Wait()
				checked, refused := checkedAttempts(t, sink.String())
				if refused != burst || checked > 5 {
					t.Fatalf("%d guesses on one request: %d refused, %d of them after a password check; want %d refused and at most 5 checked", burst, refused, checked, burst)
				}
				for _, o := range outcomes {
					if o.Callback != nil {
						t.Fatalf("a guess reached the client: %v", o.Params)
					}
				}
				// The request is over even for the right password.
				if o := b.Login(page, user, e.password); o.Callback != nil || !strings.Contains(o.Body, "stopped after too many attempts") {
					t.Fatalf("the right password on the stopped request: %d %q", o.Status, o.Page)
				}
			})
			t.Run("one account", func(t *testing.T) {
				var sink syncBuffer
				e := newEnvWith(t, testserver.Options{Engine: engine, Logger: slog.New(slog.NewJSONHandler(&sink, nil))})
				pages := make([]testbrowser.Outcome, burst)
				browsers := make([]*browser, burst)
				for i := range burst {
					browsers[i] = e.browser()
					pages[i] = browsers[i].Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil))
				}
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range burst {
					wg.Go(func() {
						<-start
						browsers[i].Login(pages[i], user, "wrong password")
					})
				}
				close(start)
				wg.Wait()
				checked, refused := checkedAttempts(t, sink.String())
				if refused != burst || checked > 10 {
					t.Fatalf("%d guesses at one account: %d refused, %d of them after a password check; want %d refused and at most 10 checked", burst, refused, checked, burst)
				}
				expectRefused(t, "the right password after the burst", e.attempt(e.browser(), user, e.password), msgAccountLocked)
			})
		})
	}
}

// TestSignInsAtOnceDoNotLock: attempts in flight hold room under the
// account's limit but are not failures. Many right passwords at once for
// one account (a shared account, or a load test) sign in or are told to
// wait a moment; none is told the account is locked, and the account is
// not locked after them.
func TestSignInsAtOnceDoNotLock(t *testing.T) {
	e := newEnv(t)
	const user, n = "alice@contoso.test", 24
	pages := make([]testbrowser.Outcome, n)
	browsers := make([]*browser, n)
	for i := range n {
		browsers[i] = e.browser()
		pages[i] = browsers[i].Get(authorizeURL(e, e.web.ClientID, webRedirect, "openid", nil))
	}
	outcomes := make([]testbrowser.Outcome, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			outcomes[i] = browsers[i].Login(pages[i], user, e.password)
		})
	}
	close(start)
	wg.Wait()
	signedIn := 0
	for i, o := range outcomes {
		switch {
		case o.Page == "consent" || o.Params.Get("code") != "":
			signedIn++
		case strings.Contains(alert(o), "Wait a moment"):
		default:
			t.Fatalf("sign-in %d of %d at once: page %q status %d message %q", i, n, o.Page, o.Status, alert(o))
		}
	}
	if signedIn == 0 {
		t.Fatal("none of the sign-ins at once went through")
	}
	expectSignedIn(t, "after them", e.attempt(e.browser(), user, e.password))
}
