//go:build !linux

package bench

import "errors"

// yieldToServer fails where there is no SCHED_BATCH to yield with.
func yieldToServer() error { return errors.New("bench: no batch scheduling on this system") }
