package client

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"os/exec"
	"runtime"
	"strconv"
	"time"
)

// InteractiveOption adjusts AcquireTokenInteractive.
type InteractiveOption func(*interactiveOptions)

type interactiveOptions struct {
	port      int
	authOpts  []AuthCodeOption
	tokenOpts []TokenOption
}

// WithLoopbackPort fixes the loopback port (default: any free port; the
// app must register http://localhost as a redirect URI).
func WithLoopbackPort(port int) InteractiveOption {
	return func(o *interactiveOptions) { o.port = port }
}

// WithAuthCodeOptions passes options (prompt, login hint) to the
// authorization request.
func WithAuthCodeOptions(opts ...AuthCodeOption) InteractiveOption {
	return func(o *interactiveOptions) { o.authOpts = append(o.authOpts, opts...) }
}

// WithTokenOptions passes options (claims, extra parameters) to the
// redemption of the code.
func WithTokenOptions(opts ...TokenOption) InteractiveOption {
	return func(o *interactiveOptions) { o.tokenOpts = append(o.tokenOpts, opts...) }
}

type callback struct {
	code, state, err, desc string
	issuer                 error // from AuthCodeRequest.CheckIssuer
}

// AcquireTokenInteractive signs the user in with the system browser: it
// listens on a loopback port (RFC 8252 §7.3), opens the authorization URL,
// catches the redirect, and redeems the code with PKCE.
func (p *PublicApp) AcquireTokenInteractive(ctx context.Context, scopes []string, opts ...InteractiveOption) (Result, error) {
	var o interactiveOptions
	for _, fn := range opts {
		fn(&o)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.port)))
	if err != nil {
		return Result{}, fmt.Errorf("client: listen for the redirect: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	listeners := []net.Listener{ln}
	// Browsers may resolve localhost to ::1 first; listen there too.
	if ln6, err := net.Listen("tcp", net.JoinHostPort("::1", strconv.Itoa(port))); err == nil {
		listeners = append(listeners, ln6)
	}
	redirect := "http://localhost:" + strconv.Itoa(port)
	req, err := p.AuthCodeURL(ctx, scopes, redirect, o.authOpts...)
	if err != nil {
		closeAll(listeners)
		return Result{}, err
	}

	got := make(chan callback, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("code") == "" && q.Get("error") == "" {
			http.NotFound(w, r)
			return
		}
		cb := callback{code: q.Get("code"), state: q.Get("state"), err: q.Get("error"), desc: q.Get("error_description"), issuer: req.CheckIssuer(q)}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		switch {
		case cb.issuer != nil:
			fmt.Fprint(w, "<!doctype html><title>Sign-in failed</title><h1>Sign-in failed</h1><p>The response did not come from the expected sign-in server.</p><p>You can close this window.</p>")
		case cb.err != "":
			fmt.Fprintf(w, "<!doctype html><title>Sign-in failed</title><h1>Sign-in failed</h1><p>%s</p><p>You can close this window.</p>", html.EscapeString(cb.err+": "+cb.desc))
		default:
			fmt.Fprint(w, "<!doctype html><title>Signed in</title><h1>Signed in</h1><p>You can close this window and return to the application.</p>")
		}
		select {
		case got <- cb:
		default:
		}
	})}
	for _, l := range listeners {
		go func(l net.Listener) { _ = srv.Serve(l) }(l)
	}
	defer func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()

	if err := p.opts.openBrowser(req.URL); err != nil {
		return Result{}, fmt.Errorf("client: open the browser (visit %s yourself): %w", req.URL, err)
	}
	select {
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case cb := <-got:
		if cb.issuer != nil {
			return Result{}, cb.issuer
		}
		if cb.err != "" {
			return Result{}, &Error{Kind: classify(400, cb.err, ""), Code: cb.err, Description: cb.desc}
		}
		return p.AcquireTokenByCode(ctx, req, cb.code, cb.state, o.tokenOpts...)
	}
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		_ = l.Close()
	}
}

// OpenSystemBrowser opens url with the platform's default browser.
func OpenSystemBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
