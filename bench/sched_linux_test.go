package bench

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// threadPolicies reads the scheduling policy of every thread of this
// process.
func threadPolicies(t *testing.T) map[int]uint32 {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]uint32{}
	for _, task := range tasks {
		tid, err := strconv.Atoi(task.Name())
		if err != nil {
			continue
		}
		attr, err := unix.SchedGetAttr(tid, 0)
		if err == unix.ESRCH {
			continue
		}
		if err != nil {
			t.Fatalf("thread %d: %v", tid, err)
		}
		out[tid] = attr.Policy
	}
	return out
}

func TestYieldToServerCoversEveryThreadAndLaterOnes(t *testing.T) {
	before := threadPolicies(t)
	for tid, p := range before {
		if p != unix.SCHED_NORMAL {
			t.Skipf("thread %d already runs with policy %d; this test starts from the default", tid, p)
		}
	}
	t.Cleanup(func() {
		// Give the test binary its default policy back.
		attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL}
		for tid := range threadPolicies(t) {
			_ = unix.SchedSetAttr(tid, &attr, 0)
		}
	})
	if err := yieldToServer(); err != nil {
		t.Fatal(err)
	}
	// Threads the runtime creates from now on are cloned from batch
	// threads. A goroutine locked to its thread keeps that thread to
	// itself while it waits, so more of them than there are threads make
	// the runtime start new ones.
	locked := len(before) + 4
	var wg sync.WaitGroup
	ready := make(chan struct{})
	release := make(chan struct{})
	for range locked {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ready <- struct{}{}
			<-release
		}()
	}
	for range locked {
		<-ready
	}
	after := threadPolicies(t)
	close(release)
	wg.Wait()
	var newThreads int
	for tid, p := range after {
		if _, old := before[tid]; !old {
			newThreads++
		}
		if p != unix.SCHED_BATCH {
			t.Errorf("thread %d has policy %d, want SCHED_BATCH (%d)", tid, p, unix.SCHED_BATCH)
		}
	}
	if newThreads == 0 {
		t.Fatalf("no thread was started after the call (%d before, %d after): nothing checked inheritance", len(before), len(after))
	}
}
