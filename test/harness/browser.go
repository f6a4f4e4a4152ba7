package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// ChromiumPath finds Debian's chromium (or $CHROMIUM).
func ChromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser is a headless Chromium with its own profile.
type Browser struct {
	t        testing.TB
	ctx      context.Context
	mu       sync.Mutex
	requests []string // every URL the browser asked for, in order
	auth     *Authenticator
}

// NewBrowser starts Chromium; without one the test is skipped (failed in
// CI). On failure a screenshot of the last page is saved in the test's
// artifact directory.
func NewBrowser(t *testing.T) *Browser {
	t.Helper()
	path := ChromiumPath()
	if path == "" {
		SkipOrFail(t, "no Chromium found (install Debian's chromium, or set CHROMIUM)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		// No UserDataDir: chromedp makes a fresh temporary profile and
		// removes it after Chromium exits, tolerating the files its helper
		// processes still write then; a t.TempDir() profile made the
		// test fail in TempDir's cleanup ("directory not empty").
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// The development CA is trusted by the test clients; Chromium gets
		// the same effect without touching the system trust store.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(1000, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	b := &Browser{t: t, ctx: ctx}
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			b.mu.Lock()
			b.requests = append(b.requests, e.Request.URL)
			b.mu.Unlock()
		}
	})
	if err := chromedp.Run(ctx, network.Enable()); err != nil {
		cancelCtx()
		cancelAlloc()
		SkipOrFail(t, "Chromium at %s does not start: %v", path, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshot("")
		}
		cancelCtx()
		cancelAlloc()
	})
	return b
}

// Screenshot saves the page as it looks now, as name.png in the test's
// artifact directory (kept with go test -artifacts), for a person to look
// at.
func (b *Browser) Screenshot(name string) { b.screenshot(name) }

func (b *Browser) screenshot(name string) {
	var png []byte
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		b.t.Logf("no screenshot: %v", err)
		return
	}
	dir := b.t.(interface{ ArtifactDir() string }).ArtifactDir()
	if name == "" {
		name = b.t.Name()
	}
	name = filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(name)+".png")
	if err := os.WriteFile(name, png, 0o644); err != nil {
		b.t.Logf("save screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot: %s", name)
}

// run executes actions with a timeout, failing the test on error.
func (b *Browser) run(actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v (at %s)", err, b.Location())
	}
}

// Navigate opens a URL. A navigation to a redirect URI nobody listens on
// is not an error: the request is recorded all the same.
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil && !strings.Contains(err.Error(), "net::ERR_") {
		b.t.Fatalf("browser: navigate %s: %v", url, err)
	}
}

// Location is the current page's URL.
func (b *Browser) Location() string {
	var loc string
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	_ = chromedp.Run(ctx, chromedp.Location(&loc))
	return loc
}

// Text is the visible text of the page.
func (b *Browser) Text() string {
	var s string
	b.run(chromedp.Text("body", &s, chromedp.ByQuery))
	return s
}

// Title is the page title.
func (b *Browser) Title() string {
	var s string
	b.run(chromedp.Title(&s))
	return s
}

// WaitTitle waits up to ten seconds for the page title to contain want,
// and returns the title it saw last: after a click the next page's load
// can be told from a late event of the one before only by what it shows.
func (b *Browser) WaitTitle(want string) string {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		title := b.Title()
		if strings.Contains(title, want) || time.Now().After(deadline) {
			return title
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Has reports whether a selector matches now.
func (b *Browser) Has(selector string) bool {
	var n int
	b.run(chromedp.Evaluate(fmt.Sprintf(`document.querySelectorAll(%q).length`, selector), &n))
	return n > 0
}

// Fill types into an input and Submit clicks a button; the page then
// navigates.
func (b *Browser) Fill(selector, value string) {
	b.t.Helper()
	var ignored any
	b.run(chromedp.WaitVisible(selector, chromedp.ByQuery),
		chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q).value = ""`, selector), &ignored),
		chromedp.SendKeys(selector, value, chromedp.ByQuery))
}

// Click clicks an element and waits for the navigation it starts.
func (b *Browser) Click(selector string) {
	b.t.Helper()
	b.clickAndWait(selector, chromedp.ByQuery, 10*time.Second)
}

// Requested returns the first URL the browser requested that starts with
// prefix, waiting up to timeout for it.
func (b *Browser) Requested(prefix string, timeout time.Duration) (string, bool) {
	deadline := time.Now().Add(timeout)
	for {
		b.mu.Lock()
		for _, u := range b.requests {
			if strings.HasPrefix(u, prefix) {
				b.mu.Unlock()
				return u, true
			}
		}
		b.mu.Unlock()
		if time.Now().After(deadline) {
			return "", false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ForgetRequests clears the recorded requests.
func (b *Browser) ForgetRequests() {
	b.mu.Lock()
	b.requests = nil
	b.mu.Unlock()
}

// Login fills in Tessera's sign-in page.
func (b *Browser) Login(username, password string) {
	b.t.Helper()
	b.Fill("#username", username)
	b.Fill("#password", password)
	b.Click(`button[type="submit"]`)
}

// Consent answers the consent page: true accepts, false cancels.
func (b *Browser) Consent(accept bool) {
	b.t.Helper()
	if accept {
		b.Click(`button[value="accept"]`)
	} else {
		b.Click(`button[value="cancel"]`)
	}
}

// SignIn opens an authorize URL, signs in (if asked) and accepts consent
// (if asked), and returns the URL the browser was sent to that starts
// with redirectPrefix.
func (b *Browser) SignIn(authorizeURL, username, password, redirectPrefix string) string {
	b.t.Helper()
	b.ForgetRequests()
	b.Navigate(authorizeURL)
	// Sign-in, enrolment, recovery codes or second factor, consent.
	for step := 0; step < 6; step++ {
		if u, ok := b.Requested(redirectPrefix, 300*time.Millisecond); ok {
			return u
		}
		switch {
		case b.Has("#password"):
			b.Login(username, password)
		case b.secondFactor():
		case b.Has(`button[value="accept"]`):
			b.Consent(true)
		}
	}
	u, ok := b.Requested(redirectPrefix, 10*time.Second)
	if !ok {
		b.t.Fatalf("the browser was never sent to %s; it is at %s:\n%s", redirectPrefix, b.Location(), b.Text())
	}
	return u
}

// ApproveDevice enters a user code on the verification page, signs in and
// accepts.
func (b *Browser) ApproveDevice(verificationURI, userCode, username, password string) {
	b.t.Helper()
	b.Navigate(verificationURI)
	b.Fill("#user_code", userCode)
	b.Click(`button[type="submit"]`)
	if b.Has("#password") {
		b.Login(username, password)
	}
	for b.secondFactor() {
	}
	b.Consent(true)
	if text := b.Text(); !strings.Contains(text, "signed in") {
		b.t.Fatalf("device approval did not succeed:\n%s", text)
	}
}
