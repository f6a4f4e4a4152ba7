//go:build !windows && (!unix || aix)

package cache

import (
	"errors"
	"os"
	"runtime"
)

// Without flock there is no lock that dies with its holder; rather than
// offer one that can go stale, File refuses to lock here.
func tryLock(*os.File) (bool, error) {
	return false, errors.New("file locking is not supported on " + runtime.GOOS)
}

func unlockFile(*os.File) error { return nil }
