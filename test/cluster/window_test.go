package cluster

import (
	"testing"
	"time"
)

// startInsideWindow waits, when the fixed window of the given length that
// contains now (windows begin at multiples of it since the Unix epoch, as
// store.Hit counts them) ends within the next 30 seconds, until the next
// one has begun. Failures that straddle a window's end are counted in two
// windows (docs/deploy.md: the limits are fixed-window), and a test that
// began there would not reach the limit.
func startInsideWindow(t *testing.T, window time.Duration) {
	t.Helper()
	left := window - time.Duration(time.Now().UnixNano()%int64(window))
	if left < 30*time.Second {
		t.Logf("waiting %v for a fresh rate-limit window", left.Round(time.Millisecond))
		time.Sleep(left + 100*time.Millisecond)
	}
}
