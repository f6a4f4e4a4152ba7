package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func newTestConn(t *testing.T, srv *httptest.Server) *rawConn {
	t.Helper()
	tlsConf := &tls.Config{}
	if tr, ok := srv.Client().Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
		tlsConf = tr.TLSClientConfig
	}
	c := newRawConn(srv.URL, tlsConf, 5*time.Second)
	if c == nil {
		t.Fatalf("no raw connection for %s", srv.URL)
	}
	return c
}

func TestRawConnBodies(t *testing.T) {
	var conns atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/length", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.Host == "" {
			http.Error(w, "bad request line or headers", http.StatusBadRequest)
			return
		}
		_ = r.ParseForm()
		w.Header().Set("Content-Length", fmt.Sprint(len(r.PostForm.Get("echo"))))
		fmt.Fprint(w, r.PostForm.Get("echo"))
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "part%d,", i)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		fmt.Fprint(w, "bye")
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprint(w, `{"error":"teapot"}`)
	})
	for _, useTLS := range []bool{true, false} {
		t.Run(fmt.Sprint("tls=", useTLS), func(t *testing.T) {
			srv := httptest.NewUnstartedServer(mux)
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			if useTLS {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			conns.Store(0)
			c := newTestConn(t, srv)
			ctx := context.Background()
			for i := 0; i < 3; i++ {
				status, body, err := c.send(ctx, http.MethodPost, srv.URL+"/length", "application/x-www-form-urlencoded", []byte("echo=hello"+fmt.Sprint(i)))
				if err != nil || status != 200 || string(body) != "hello"+fmt.Sprint(i) {
					t.Fatalf("length: %d %q %v", status, body, err)
				}
			}
			status, body, err := c.send(ctx, http.MethodGet, srv.URL+"/chunked", "", nil)
			if err != nil || status != 200 || string(body) != "part0,part1,part2," {
				t.Fatalf("chunked: %d %q %v", status, body, err)
			}
			status, body, err = c.send(ctx, http.MethodGet, srv.URL+"/status", "", nil)
			if err != nil || status != http.StatusTeapot || !strings.Contains(string(body), "teapot") {
				t.Fatalf("status: %d %q %v", status, body, err)
			}
			if n := conns.Load(); n != 1 {
				t.Fatalf("%d connections for kept-alive requests, want 1", n)
			}
			// The server closes after this answer; the next request dials again.
			if status, body, err = c.send(ctx, http.MethodGet, srv.URL+"/close", "", nil); err != nil || string(body) != "bye" {
				t.Fatalf("close: %d %q %v", status, body, err)
			}
			if status, _, err = c.send(ctx, http.MethodGet, srv.URL+"/status", "", nil); err != nil || status != http.StatusTeapot {
				t.Fatalf("after close: %d %v", status, err)
			}
			// An idle connection the server dropped is retried once, transparently.
			srv.CloseClientConnections()
			if status, _, err = c.send(ctx, http.MethodGet, srv.URL+"/status", "", nil); err != nil || status != http.StatusTeapot {
				t.Fatalf("after the server dropped the connection: %d %v", status, err)
			}
			if _, _, err = c.send(ctx, http.MethodGet, "https://elsewhere.example/x", "", nil); err == nil {
				t.Fatal("a request to another host was sent on this connection")
			}
		})
	}
}

func TestRawConnHonoursCancellation(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	c := newTestConn(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, _, err := c.send(ctx, http.MethodGet, srv.URL+"/", "", nil); err == nil {
		t.Fatal("a cancelled request returned no error")
	}
}
