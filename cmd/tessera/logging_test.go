package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// serve logs JSON unless --dev, which logs text; --log-format overrides
// either, --log-level filters, and a value neither knows is refused.
func TestLogHandler(t *testing.T) {
	for _, c := range []struct {
		format, level string
		dev, json     bool
	}{
		{"", "info", false, true},
		{"", "info", true, false},
		{"text", "info", false, false},
		{"json", "debug", true, true},
	} {
		var buf bytes.Buffer
		h, err := newLogHandler(&buf, c.format, c.level, c.dev)
		if err != nil {
			t.Fatal(err)
		}
		slog.New(h).Info("tessera listening", "addr", "127.0.0.1:1")
		slog.New(h).Debug("detail")
		var m map[string]any
		isJSON := json.Unmarshal([]byte(strings.Split(buf.String(), "\n")[0]), &m) == nil
		if isJSON != c.json {
			t.Errorf("format %q dev %v: %s", c.format, c.dev, buf.String())
		}
		if debug := strings.Contains(buf.String(), "detail"); debug != (c.level == "debug") {
			t.Errorf("level %s: %s", c.level, buf.String())
		}
	}
	if _, err := newLogHandler(nil, "xml", "info", false); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("format xml: %v", err)
	}
	if _, err := newLogHandler(nil, "json", "loud", false); err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Errorf("level loud: %v", err)
	}
}

// serve outside --dev logs JSON lines; TESSERA_LOG_FORMAT=text turns that
// to text, as the other settings' variables do.
func TestServeLogFormat(t *testing.T) {
	unsetEnv(t, "TESSERA_STORE")
	unsetEnv(t, "TESSERA_MASTER_KEY")
	unsetEnv(t, "TESSERA_LOG_FORMAT")
	dir := t.TempDir()
	if _, _, err := runErr(t, 30*time.Second, dir, "migrate"); err != nil {
		t.Fatal(err)
	}
	serve := []string{"serve", "--http", "--addr", "127.0.0.1:0", "--drain-delay", "0"}
	// runErr's deadline stops serve, which reports it.
	_, stderr, err := runErr(t, 2*time.Second, dir, serve...)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	var listening bool
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %s", l)
		}
		listening = listening || m["msg"] == "tessera listening"
	}
	if !listening || !strings.Contains(stderr, "requests drained") {
		t.Errorf("log:\n%s", stderr)
	}
	t.Setenv("TESSERA_LOG_FORMAT", "text")
	_, stderr, err = runErr(t, 2*time.Second, dir, serve...)
	if (err != nil && !errors.Is(err, context.DeadlineExceeded)) || !strings.Contains(stderr, `msg="tessera listening"`) {
		t.Errorf("TESSERA_LOG_FORMAT=text: %v\n%s", err, stderr)
	}
}
