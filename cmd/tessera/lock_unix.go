//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// serveLockFile is the file serve holds a shared lock on while it uses
// the data directory's SQLite database, so that restore, which takes the
// lock exclusively, can tell a running server from a stopped one. The
// kernel drops the lock with the process, however it ends.
const serveLockFile = "serve.lock"

// errServerRunning: restore found a server holding the data directory.
var errServerRunning = errors.New("a tessera server is running on this data directory")

// lockDataDir takes the data directory's lock, shared (serve) or
// exclusive (restore), without waiting, and returns what releases it.
func lockDataDir(dir string, exclusive bool) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, serveLockFile), os.O_RDWR|os.O_CREATE, secretPerm)
	if err != nil {
		return nil, fmt.Errorf("lock the data directory: %w", err)
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err = unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, errServerRunning
		}
		return nil, fmt.Errorf("lock the data directory: %w", err)
	}
	return func() {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}
