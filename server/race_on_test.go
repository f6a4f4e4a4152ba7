//go:build race

package server_test

// raceEnabled: the race detector slows the server several times over, so
// load-shaped tests scale their request counts down under it.
const raceEnabled = true
