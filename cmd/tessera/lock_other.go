//go:build !unix

package main

import "errors"

var errServerRunning = errors.New("a tessera server is running on this data directory")

// lockDataDir does nothing where flock(2) is missing: restore then cannot
// tell a running server, and the operator must stop it first.
func lockDataDir(dir string, exclusive bool) (func(), error) { return func() {}, nil }
