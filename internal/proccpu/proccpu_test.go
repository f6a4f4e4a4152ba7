package proccpu

import (
	"crypto/sha256"
	"runtime"
	"testing"
)

func TestUsedGrowsWithWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" {
		t.Skip("no CPU accounting here")
	}
	before, ok := Used()
	if !ok {
		t.Fatal("Used reports nothing on a unix system")
	}
	sum := sha256.Sum256(nil)
	for i := 0; i < 200000; i++ {
		sum = sha256.Sum256(sum[:])
	}
	after, _ := Used()
	if after <= before {
		t.Fatalf("CPU time did not grow after hashing: %v then %v", before, after)
	}
}
