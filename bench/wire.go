package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// sender sends one request and returns the status and the whole body. The
// body may be reused by the next call on the same sender.
type sender interface {
	send(ctx context.Context, method, target, contentType string, body []byte) (int, []byte, error)
}

// stdSender sends through net/http; it is used for setup, and for the
// load when the raw connection cannot be used.
type stdSender struct{ hc *http.Client }

func (s stdSender) send(ctx context.Context, method, target, contentType string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// rawConn is one worker's HTTP/1.1 connection, kept alive across requests
// and written and read on the worker's own goroutine.
//
// The load generator shares the machine with the server it measures, so
// every cycle it spends is one the server does not get. net/http's client
// hands each request to a connection's read and write goroutines and back
// through channels, which on two cores costs about as much as the server's
// own HTTP work; a connection used directly by its worker costs a write
// and a read. It speaks only what token endpoints answer: HTTP/1.1 with
// Content-Length, chunked bodies or a closed connection.
type rawConn struct {
	addr    string // host:port to dial
	host    string // Host header
	tlsConf *tls.Config
	timeout time.Duration

	conn net.Conn
	br   *bufio.Reader
	req  []byte
	body []byte
}

// newRawConn returns a raw connection for target's server, or nil when
// target is not plain http or https.
func newRawConn(target string, tlsConf *tls.Config, timeout time.Duration) *rawConn {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil
	}
	addr := u.Host
	if u.Port() == "" {
		port := "443"
		if u.Scheme == "http" {
			port = "80"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	c := &rawConn{addr: addr, host: u.Host, timeout: timeout}
	if u.Scheme == "https" {
		c.tlsConf = tlsConf.Clone()
		c.tlsConf.ServerName = u.Hostname()
		c.tlsConf.NextProtos = []string{"http/1.1"}
	}
	return c
}

func (c *rawConn) send(ctx context.Context, method, target, contentType string, body []byte) (int, []byte, error) {
	u, err := url.Parse(target)
	if err != nil {
		return 0, nil, err
	}
	if u.Host != c.host {
		return 0, nil, fmt.Errorf("bench: %s is not on %s", target, c.host)
	}
	c.req = c.req[:0]
	c.req = append(c.req, method...)
	c.req = append(c.req, ' ')
	c.req = append(c.req, u.RequestURI()...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, c.host...)
	c.req = append(c.req, "\r\nUser-Agent: tessera-bench\r\n"...)
	if contentType != "" {
		c.req = append(c.req, "Content-Type: "...)
		c.req = append(c.req, contentType...)
		c.req = append(c.req, "\r\n"...)
	}
	if body != nil || method == http.MethodPost {
		c.req = append(c.req, "Content-Length: "...)
		c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
		c.req = append(c.req, "\r\n"...)
	}
	c.req = append(c.req, "\r\n"...)
	c.req = append(c.req, body...)

	// A kept-alive connection the server has closed fails on first use;
	// that attempt, and only that one, is retried on a new connection.
	for attempt := 0; ; attempt++ {
		reused := c.conn != nil
		status, err := c.roundTrip(ctx, method)
		if err == nil {
			return status, c.body, nil
		}
		c.close()
		if !reused || attempt > 0 || ctx.Err() != nil || !errors.Is(err, errStale) {
			return 0, nil, err
		}
	}
}

// errStale marks a failure before any byte of the answer arrived.
var errStale = errors.New("connection closed before the response")

func (c *rawConn) roundTrip(ctx context.Context, method string) (int, error) {
	if c.conn == nil {
		if err := c.dial(ctx); err != nil {
			return 0, err
		}
	}
	// The context ends a request through AfterFunc below, not through the
	// deadline: a deadline taken from the context can fire before the
	// context reports itself done, and the cut-short request would count
	// as a failure instead of being left out.
	if err := c.conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	conn := c.conn
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() {
			c.close() // cancelled: its deadline is spent
		}
	}()
	if _, err := c.conn.Write(c.req); err != nil {
		return 0, fmt.Errorf("%w: %w", errStale, err)
	}
	status, keep, err := c.readResponse(method)
	if err != nil {
		return 0, err
	}
	if !keep {
		c.close()
	}
	return status, nil
}

func (c *rawConn) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: c.timeout}
	var conn net.Conn
	var err error
	if c.tlsConf != nil {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: c.tlsConf}).DialContext(ctx, "tcp", c.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", c.addr)
	}
	if err != nil {
		return err
	}
	c.conn = conn
	if c.br == nil {
		c.br = bufio.NewReaderSize(conn, 16<<10)
	} else {
		c.br.Reset(conn)
	}
	return nil
}

func (c *rawConn) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}

// readResponse reads one response into c.body and says whether the
// connection may carry another.
func (c *rawConn) readResponse(method string) (status int, keep bool, err error) {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			if len(line) == 0 && (err == io.EOF || errors.Is(err, net.ErrClosed)) {
				return 0, false, fmt.Errorf("%w: %w", errStale, err)
			}
			return 0, false, err
		}
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
			return 0, false, fmt.Errorf("malformed status line %q", line)
		}
		status, err = strconv.Atoi(string(line[9:12]))
		if err != nil {
			return 0, false, fmt.Errorf("malformed status line %q", line)
		}
		keep = line[7] == '1' // HTTP/1.0 closes unless told otherwise
		length, chunked := int64(-1), false
		for {
			h, err := c.br.ReadSlice('\n')
			if err != nil {
				return 0, false, err
			}
			h = bytes.TrimRight(h, "\r\n")
			if len(h) == 0 {
				break
			}
			name, value, ok := bytes.Cut(h, []byte(":"))
			if !ok {
				return 0, false, fmt.Errorf("malformed header %q", h)
			}
			value = bytes.TrimSpace(value)
			switch {
			case bytes.EqualFold(name, []byte("Content-Length")):
				if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
					return 0, false, fmt.Errorf("malformed Content-Length %q", value)
				}
			case bytes.EqualFold(name, []byte("Transfer-Encoding")):
				chunked = bytes.EqualFold(value, []byte("chunked"))
			case bytes.EqualFold(name, []byte("Connection")):
				if bytes.EqualFold(value, []byte("close")) {
					keep = false
				} else if bytes.EqualFold(value, []byte("keep-alive")) {
					keep = true
				}
			}
		}
		if status >= 100 && status < 200 {
			continue // an interim answer; the real one follows
		}
		c.body = c.body[:0]
		switch {
		case method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified:
		case chunked:
			err = c.readChunked()
		case length >= 0:
			if length > 64<<20 {
				return 0, false, fmt.Errorf("response of %d bytes", length)
			}
			c.body = slices.Grow(c.body, int(length))[:length]
			_, err = io.ReadFull(c.br, c.body)
		default:
			c.body, err = io.ReadAll(io.LimitReader(c.br, 64<<20))
			keep = false
		}
		return status, keep, err
	}
}

func (c *rawConn) readChunked() error {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 || int64(len(c.body))+n > 64<<20 {
			return fmt.Errorf("malformed chunk size %q", line)
		}
		if n == 0 {
			for { // trailers, up to the empty line
				t, err := c.br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					return nil
				}
			}
		}
		start := len(c.body)
		c.body = slices.Grow(c.body, int(n))[:start+int(n)]
		if _, err := io.ReadFull(c.br, c.body[start:]); err != nil {
			return err
		}
		if _, err := c.br.Discard(2); err != nil { // the chunk's CRLF
			return err
		}
	}
}
