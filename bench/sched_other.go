//go:build !linux

package bench

import "errors"

var errNoBatch = errors.New("bench: no batch scheduling on this system")

// yieldToServer fails where there is no SCHED_BATCH to yield with.
func yieldToServer() error { return errNoBatch }
