package cluster

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/test/harness"
)

// TestUserCodeLimitAcrossInstances: wrong user codes typed from one client
// address, each from a fresh browser and spread over the three instances
// behind the balancer, hit the per-address limit together: the instances
// count the client address from X-Forwarded-For (the balancer is a trusted
// proxy), in one shared counter. Addresses the client writes into the
// header itself do not help it, and another client is not limited.
func TestUserCodeLimitAcrossInstances(t *testing.T) {
	each(t, 3, func(t *testing.T, c *cluster) {
		const attempts = 20 // oauth's per-address allowance per window
		try := func(k int, client string) int {
			t.Helper()
			ctx := onInstance(fromClient(context.Background(), client), k%len(c.instances))
			// A header of the client's own making, different every time: the
			// balancer appends the real address after it.
			spoof := http.Header{"X-Forwarded-For": {fmt.Sprintf("203.0.113.%d", k%250+1)}}
			status, _ := c.send(ctx, http.MethodPost, "/device", url.Values{"user_code": {"BBBB-BBBB"}}, spoof)
			return status
		}
		startInsideWindow(t, 15*time.Minute) // oauth.DefaultUserCodeLimits' window
		for k := 0; k < attempts; k++ {
			if status := try(k, "198.51.100.7"); status != http.StatusBadRequest {
				t.Fatalf("wrong code %d (instance %d): status %d, want 400", k+1, k%len(c.instances), status)
			}
		}
		for k := attempts; k < attempts+len(c.instances); k++ {
			if status := try(k, "198.51.100.7"); status != http.StatusTooManyRequests {
				t.Errorf("wrong code %d (instance %d) after %d from the same address: status %d, want 429",
					k+1, k%len(c.instances), attempts, status)
			}
		}
		// Another client behind the same balancer has its own allowance.
		for i := range c.instances {
			if status := try(i, "198.51.100.8"); status != http.StatusBadRequest {
				t.Errorf("another client's first wrong code on instance %d: status %d, want 400", i, status)
			}
		}
	})
}

// TestInstanceWithAnotherKeyRefused: an instance (or admin command) on
// the cluster's store with another master key, or with none so that it
// makes a key file in its own data directory, refuses to start and says
// why; one with the cluster's key on a data directory of its own joins.
func TestInstanceWithAnotherKeyRefused(t *testing.T) {
	each(t, 1, func(t *testing.T, c *cluster) {
		for _, tc := range []struct {
			name, env, want string
		}{
			{"another TESSERA_MASTER_KEY", "TESSERA_MASTER_KEY=" + newMasterKey(), "TESSERA_MASTER_KEY"},
			{"no TESSERA_MASTER_KEY", "TESSERA_MASTER_KEY=", "master.key, created just now"},
		} {
			o := c.options(1, freePort(t))
			o.Env = []string{tc.env}
			// Only serve --dev and migrate create a data directory; this
			// instance is an operator's, who made its directory beforehand.
			if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
				t.Fatal(err)
			}
			stderr, err := harness.Launch(t, o).Exited(t, time.Minute)
			if err == nil || !strings.Contains(stderr, "is not the one this store was set up with") || !strings.Contains(stderr, tc.want) {
				t.Errorf("%s: exit %v, stderr:\n%s", tc.name, err, stderr)
			}
		}
		cmd := exec.Command(harness.Binary(t), "--data-dir", t.TempDir(), "tenant", "list")
		cmd.Env = append(os.Environ(), "TESSERA_MASTER_KEY="+newMasterKey())
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "is not the one this store was set up with") {
			t.Errorf("admin command with another key: %v\n%s", err, out)
		}
		if n := c.count("SELECT count(*) FROM master_key_check"); n != 1 {
			t.Errorf("%d master key checks after the refusals, want 1", n)
		}

		joined := harness.StartWith(t, c.options(2, freePort(t)))
		resp, err := joined.HTTP.Get(joined.Base + "/demo/discovery/v2.0/keys")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("JWKS from an instance with the cluster's key: %d", resp.StatusCode)
		}
		if joined.DataDir == c.instances[0].DataDir {
			t.Error("the instances share a data directory")
		}
	})
}
