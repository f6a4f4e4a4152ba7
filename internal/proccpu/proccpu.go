// Package proccpu reads the CPU time this process has used, so a load
// test can say how the machine's cores were shared between the server and
// the load generator.
package proccpu

import "time"

// Used returns the user and system CPU time of this process so far, and
// false where the platform does not tell.
func Used() (time.Duration, bool) { return used() }
