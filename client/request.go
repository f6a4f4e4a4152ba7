package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// flexSeconds reads a number of seconds sent as a JSON number or string;
// providers differ, and some fields (refresh_in, ext_expires_in) are
// optional.
type flexSeconds int64

func (f *flexSeconds) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not a number of seconds: %s", b)
	}
	*f = flexSeconds(n)
	return nil
}

func (f flexSeconds) duration() time.Duration { return time.Duration(f) * time.Second }

// tokenResponse is a successful token endpoint answer. Only access_token
// is required; every Entra extension is honoured when present.
type tokenResponse struct {
	AccessToken           string      `json:"access_token"`
	TokenType             string      `json:"token_type"`
	ExpiresIn             flexSeconds `json:"expires_in"`
	ExtExpiresIn          flexSeconds `json:"ext_expires_in"`
	RefreshIn             flexSeconds `json:"refresh_in"`
	RefreshTokenExpiresIn flexSeconds `json:"refresh_token_expires_in"`
	Scope                 string      `json:"scope"`
	RefreshToken          string      `json:"refresh_token"`
	IDToken               string      `json:"id_token"`
	ClientInfo            string      `json:"client_info"`
}

type errorResponse struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	SubError      string `json:"suberror"`
	CorrelationID string `json:"correlation_id"`
	TraceID       string `json:"trace_id"`
}

// throttle remembers Retry-After per endpoint, so a client told to wait
// fails fast instead of hammering the server (what MSAL calls throttling).
type throttle struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func (t *throttle) check(key string, now time.Time) *Error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if until, ok := t.until[key]; ok {
		if now.Before(until) {
			return &Error{Kind: ErrThrottled, Description: "the server asked to wait before retrying", RetryAfter: until}
		}
		delete(t.until, key)
	}
	return nil
}

func (t *throttle) set(key string, until time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.until == nil {
		t.until = map[string]time.Time{}
	}
	t.until[key] = until
}

// postForm sends a form to an endpoint of the authority, with client
// authentication when the app has a credential, and decodes the answer
// into out (200) or an *Error.
func (a *app) postForm(ctx context.Context, endpoint string, form url.Values, out any) error {
	form.Set("client_id", a.clientID)
	if a.cred != nil {
		if err := a.cred.apply(ctx, form, AssertionRequest{ClientID: a.clientID, TokenEndpoint: endpoint}, a.now()); err != nil {
			return err
		}
	}
	key := endpoint + "|" + form.Get("grant_type")
	if e := a.throttle.check(key, a.now()); e != nil {
		return e
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("client-request-id", newCorrelationID())
	resp, err := a.opts.httpClient.Do(req)
	if err != nil {
		return networkError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return networkError(err)
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, out); err != nil {
			return &Error{Kind: ErrNetwork, StatusCode: resp.StatusCode, Err: fmt.Errorf("response is not the expected JSON: %w", err)}
		}
		return nil
	}
	var er errorResponse
	_ = json.Unmarshal(body, &er)
	e := &Error{
		Kind: classify(resp.StatusCode, er.Error, er.SubError), Code: er.Error, SubError: er.SubError, Description: er.Description,
		StatusCode: resp.StatusCode, CorrelationID: er.CorrelationID, TraceID: er.TraceID,
	}
	if wait, ok := retryAfter(resp.Header.Get("Retry-After"), a.now()); ok && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) {
		e.Kind, e.RetryAfter = ErrThrottled, wait
		a.throttle.set(key, wait)
	}
	if er.Error == "" && e.Kind == ErrServer {
		e.Description = fmt.Sprintf("HTTP %d from %s", resp.StatusCode, endpoint)
	}
	return e
}

// retryAfter reads Retry-After in seconds or as an HTTP date.
func retryAfter(v string, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return now.Add(time.Duration(n) * time.Second), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

func newCorrelationID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// tokenRequest posts a grant to the token endpoint.
func (a *app) tokenRequest(ctx context.Context, form url.Values) (*authority, *tokenResponse, error) {
	au, err := a.resolve(ctx)
	if err != nil {
		return nil, nil, err
	}
	if au.entra && form.Get("grant_type") != "client_credentials" {
		form.Set("client_info", "1")
	}
	var tr tokenResponse
	if err := a.postForm(ctx, au.TokenEndpoint, form, &tr); err != nil {
		return nil, nil, err
	}
	if tr.AccessToken == "" {
		return nil, nil, &Error{Kind: ErrServer, StatusCode: 200, Description: "the token response has no access_token"}
	}
	return au, &tr, nil
}
