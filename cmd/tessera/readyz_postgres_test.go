package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// tcpProxy forwards connections to target until cut, which closes the
// listener and every connection: a database that became unreachable.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// /readyz answers 503 naming the store, and nothing of its address or
// error, once PostgreSQL cannot be reached; /healthz, which does no I/O,
// still answers 200.
func TestReadyzStoreUnreachablePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server against PostgreSQL")
	}
	dsn, schema := pgSchema(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	t.Setenv("TESSERA_MASTER_KEY", newMasterKey())
	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	srv := serveInProcess(t, dataDir, nil, "--store", u.String(), "--pg-schema", schema)
	c := trustingClient(t, dataDir)
	if status, m := readyz(t, c, srv.base); status != http.StatusOK || m["status"] != "ready" {
		t.Fatalf("/readyz: %d %v", status, m)
	}
	proxy.cut()
	start := time.Now()
	status, m := readyz(t, c, srv.base)
	if status != http.StatusServiceUnavailable || m["status"] != "not ready" {
		t.Fatalf("/readyz with the store unreachable: %d %v", status, m)
	}
	if failed, _ := m["failed"].([]any); len(failed) == 0 || failed[0] != "store" {
		t.Errorf("/readyz names %v, want the store first", m["failed"])
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("/readyz took %s with the store unreachable", took)
	}
	body := strings.ToLower(toJSON(m))
	for _, leak := range []string{u.Host, "127.0.0.1", "dial", "connect"} {
		if strings.Contains(body, leak) {
			t.Errorf("/readyz's answer tells %q: %v", leak, m)
		}
	}
	resp, err := c.Get(srv.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz with the store down: %d", resp.StatusCode)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
