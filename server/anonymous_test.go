package server_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// storeBytes is the size of the SQLite database with its write-ahead log.
func storeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "tessera.db") {
			info, err := os.Stat(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			n += info.Size()
		}
	}
	return n
}

// Anonymous authorization requests cost the store nothing: the pending
// sign-in request travels sealed in the browser, so a flood of them from
// one address, each as large as the parameters allow, leaves the database
// as it was, and a user signing in meanwhile is not disturbed. The target
// is 10,000 requests growing the store by less than 2 MB; under the race
// detector, which slows the server several times over, 1,000 requests get
// a tenth of the budget.
func TestAnonymousAuthorizeRequestsDoNotGrowTheStore(t *testing.T) {
	e := newEnv(t)
	if e.dataDir == "" {
		t.Skip("measures the SQLite file; the store is PostgreSQL")
	}
	big := strings.Repeat("x", 4000)
	flood := authorizeURL(e, e.web.ClientID, webRedirect, "openid profile offline_access",
		url.Values{"state": {big}, "nonce": {big}, "login_hint": {big}})
	before := storeBytes(t, e.dataDir)

	requests, budget := int64(10000), int64(2<<20)
	if raceEnabled {
		requests, budget = 1000, 2<<20/10
	}
	const workers = 4
	var sent, failed atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			c := *e.srv.Client()
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			for sent.Add(1) <= requests {
				resp, err := c.Get(flood)
				if err != nil {
					failed.Add(1)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "/login?request=") {
					failed.Add(1)
				}
			}
		})
	}
	// A user signs in while the flood runs.
	tokens := webTokens(e, "openid offline_access")
	wg.Wait()
	if tokens["refresh_token"] == nil {
		t.Errorf("sign-in during the flood: %v", tokens)
	}
	if failed.Load() != 0 {
		t.Fatalf("%d of %d anonymous requests were not sent to the sign-in page", failed.Load(), requests)
	}
	grown := storeBytes(t, e.dataDir) - before
	t.Logf("%d anonymous authorization requests grew the store by %d bytes", requests, grown)
	if grown >= budget {
		t.Errorf("the store grew by %d bytes", grown)
	}
}
