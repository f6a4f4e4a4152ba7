package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test binary stands in for a server when this variable names an
// address: it waits startupDelay, answers /healthz there, and exits on an
// interrupt.
const startupHelperEnv = "TESSERA_BENCH_STARTUP_HELPER"

const startupDelay = 80 * time.Millisecond

func TestMain(m *testing.M) {
	if addr := os.Getenv(startupHelperEnv); addr != "" {
		os.Exit(slowServer(addr))
	}
	os.Exit(m.Run())
}

func slowServer(addr string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	time.Sleep(startupDelay)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return 2
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			_, _ = w.Write([]byte("ok"))
			return
		}
		http.NotFound(w, r)
	}), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	<-ctx.Done()
	_ = srv.Close()
	return 0
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// startup times each start from exec to the first answer, and stops the
// server before the next start: a server still running would answer the
// next start's first poll, and the address would not be free for it.
func TestStartupTimesEachStart(t *testing.T) {
	addr := freeAddr(t)
	t.Setenv(startupHelperEnv, addr)
	out, err := execute(t, "startup", "--url", "http://"+addr+"/healthz", "--runs", "3", "--", os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(out)
	if len(fields) != 3 {
		t.Fatalf("startup printed %q, want three times", out)
	}
	for _, f := range fields {
		ms, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("startup printed %q: %v", out, err)
		}
		if ms < int(startupDelay/time.Millisecond) || ms > 10_000 {
			t.Errorf("a start took %d ms; the helper answers after %v", ms, startupDelay)
		}
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("the last server still answers after startup returned")
	}
}

// A command that ends without ever answering is an error, not a time.
func TestStartupCommandThatExits(t *testing.T) {
	addr := freeAddr(t)
	t.Setenv(startupHelperEnv, "")
	_, err := execute(t, "startup", "--url", "http://"+addr+"/healthz", "--runs", "1", "--", os.Args[0], "-test.run", "^$")
	if err == nil || !strings.Contains(err.Error(), "exited before answering") {
		t.Errorf("startup of a command that exits: %v, want an error saying so", err)
	}
}
