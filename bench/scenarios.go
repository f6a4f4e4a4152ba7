package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// prepare builds the scenario's request function and says how many
// signatures each successful response needs.
func prepare(ctx context.Context, cfg *Config) (request, int, error) {
	e := cfg.Endpoints
	creds := url.Values{"client_id": {cfg.ClientID}, "client_secret": {cfg.Secret}}
	scope := cfg.Scope
	switch cfg.Scenario {
	case ClientCredentials:
		if scope == "" {
			scope = cfg.ClientID + "/.default"
		}
		return func(ctx context.Context, w int) (string, error) {
			form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "client_id": creds["client_id"], "client_secret": creds["client_secret"]}
			status, body, err := postForm(ctx, cfg.sender(w), e.Token, form)
			if err != nil {
				return "", err
			}
			return outcome(status, body), nil
		}, 1, nil

	case JWKS, Discovery:
		target := e.JWKS
		if cfg.Scenario == Discovery {
			target = e.Discovery
		}
		return func(ctx context.Context, w int) (string, error) { return get(ctx, cfg.sender(w), target) }, 0, nil

	case Introspect:
		if e.Introspect == "" {
			return nil, 0, fmt.Errorf("the server advertises no introspection_endpoint")
		}
		if scope == "" {
			scope = cfg.ClientID + "/.default"
		}
		status, body, err := postForm(ctx, stdSender{cfg.HTTP}, e.Token, url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
			"client_id": creds["client_id"], "client_secret": creds["client_secret"]}, "access_token")
		if err != nil || status != http.StatusOK {
			return nil, 0, fmt.Errorf("get a token to introspect: %d %v %v", status, body, err)
		}
		tok, _ := body["access_token"].(string)
		return func(ctx context.Context, w int) (string, error) {
			status, body, err := postForm(ctx, cfg.sender(w), e.Introspect, url.Values{"token": {tok}, "client_id": creds["client_id"], "client_secret": creds["client_secret"]}, "client_id")
			if err != nil {
				return "", err
			}
			if status == http.StatusOK && body["client_id"] == nil {
				return "inactive", nil // an inactive answer is {"active":false} alone
			}
			return outcome(status, body), nil
		}, 0, nil

	case DeviceCodePoll:
		if e.Device == "" {
			return nil, 0, fmt.Errorf("the server advertises no device_authorization_endpoint")
		}
		clientID := cfg.UserClientID
		if clientID == "" {
			clientID = cfg.ClientID
		}
		if scope == "" {
			scope = "openid"
		}
		codes := make([]string, cfg.Concurrency)
		for w := range codes {
			status, body, err := postForm(ctx, stdSender{cfg.HTTP}, e.Device, url.Values{"client_id": {clientID}, "scope": {scope}}, "device_code")
			if err != nil || status != http.StatusOK {
				return nil, 0, fmt.Errorf("device authorization: %d %v %v", status, body, err)
			}
			codes[w], _ = body["device_code"].(string)
		}
		return func(ctx context.Context, w int) (string, error) {
			status, body, err := postForm(ctx, cfg.sender(w), e.Token, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
				"client_id": {clientID}, "device_code": {codes[w]}})
			if err != nil {
				return "", err
			}
			// Pending and slow_down are this scenario's normal answers.
			if code, _ := body["error"].(string); code == "authorization_pending" || code == "slow_down" {
				return "", nil
			}
			return outcome(status, body), nil
		}, 0, nil

	case RefreshToken:
		return prepareRefresh(ctx, cfg)

	case AuthorizationCode:
		return prepareAuthCode(ctx, cfg)

	case Login:
		return prepareLogin(ctx, cfg)
	case LoginTOTP:
		return prepareLoginTOTP(ctx, cfg)
	}
	return nil, 0, fmt.Errorf("unknown scenario %q (known: %s)", cfg.Scenario, strings.Join(Scenarios(), ", "))
}

func get(ctx context.Context, s sender, target string) (string, error) {
	status, _, err := s.send(ctx, http.MethodGet, target, "", nil)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return fmt.Sprint(status), nil
	}
	return "", nil
}

// userClient returns the client used for user flows and its credentials.
func (c *Config) userClient() (string, url.Values) {
	if c.UserClientID != "" {
		return c.UserClientID, url.Values{"client_id": {c.UserClientID}}
	}
	return c.ClientID, url.Values{"client_id": {c.ClientID}, "client_secret": {c.Secret}}
}

// prepareRefresh obtains one refresh token per family (signing in through
// the server's pages, or from cfg.RefreshTokens) and rotates each family
// in turn: every request is a durable rotation.
func prepareRefresh(ctx context.Context, cfg *Config) (request, int, error) {
	families := cfg.Families
	if families < cfg.Concurrency {
		families = cfg.Concurrency
	}
	_, creds := cfg.userClient()
	tokens := append([]string{}, cfg.RefreshTokens...)
	sigs := 1
	if len(tokens) == 0 {
		s, err := newSession(ctx, cfg)
		if err != nil {
			return nil, 0, err
		}
		for len(tokens) < families {
			body, err := s.codeGrant(ctx)
			if err != nil {
				return nil, 0, err
			}
			rt, _ := body["refresh_token"].(string)
			if rt == "" {
				return nil, 0, fmt.Errorf("no refresh token issued (is offline_access in --scope?): %v", body)
			}
			if _, ok := body["id_token"]; ok {
				sigs = 2
			}
			tokens = append(tokens, rt)
		}
	} else if strings.Contains(cfg.Scope, "openid") {
		sigs = 2
	}
	if len(tokens) < cfg.Concurrency {
		return nil, 0, fmt.Errorf("%d refresh tokens for %d workers: each worker needs its own family", len(tokens), cfg.Concurrency)
	}
	// Worker w owns families w, w+C, w+2C, ...: a family's chain is only
	// ever advanced by one worker, so no request races its own family.
	var mu sync.Mutex
	next := make([]int, cfg.Concurrency)
	return func(ctx context.Context, w int) (string, error) {
		mu.Lock()
		i := w + next[w]*cfg.Concurrency
		if i >= len(tokens) {
			next[w], i = 0, w
		}
		next[w]++
		rt := tokens[i]
		mu.Unlock()
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		for k, v := range creds {
			form[k] = v
		}
		if cfg.Scope != "" {
			form.Set("scope", cfg.Scope)
		}
		status, body, err := postForm(ctx, cfg.sender(w), cfg.Endpoints.Token, form, "refresh_token")
		if err != nil {
			return "", err
		}
		if status == http.StatusOK {
			if nrt, _ := body["refresh_token"].(string); nrt != "" {
				mu.Lock()
				tokens[i] = nrt
				mu.Unlock()
			}
		}
		return outcome(status, body), nil
	}, sigs, nil
}

// prepareAuthCode signs a user in once per worker; each request is then a
// full code flow: authorize (answered from the SSO session) and redeem.
func prepareAuthCode(ctx context.Context, cfg *Config) (request, int, error) {
	sessions := make([]*session, cfg.Concurrency)
	sigs := 1
	for w := range sessions {
		s, err := newSession(ctx, cfg)
		if err != nil {
			return nil, 0, err
		}
		body, err := s.codeGrant(ctx)
		if err != nil {
			return nil, 0, err
		}
		if _, ok := body["id_token"]; ok {
			sigs = 2
		}
		sessions[w] = s
	}
	return func(ctx context.Context, w int) (string, error) {
		if _, err := sessions[w].codeGrant(ctx); err != nil {
			if pe, ok := err.(protocolError); ok {
				return string(pe), nil
			}
			return "", err
		}
		return "", nil
	}, sigs, nil
}

// prepareLogin makes each request a whole sign-in in a new browser: the
// authorize request, the sign-in form, its POST (a password check), the
// code and its redemption. Consent is given once beforehand, as a user
// would have given it on an earlier sign-in.
func prepareLogin(ctx context.Context, cfg *Config) (request, int, error) {
	first, err := newSession(ctx, cfg)
	if err != nil {
		return nil, 0, err
	}
	body, err := first.codeGrant(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("first sign-in: %w", err)
	}
	sigs := 1
	if _, ok := body["id_token"]; ok {
		sigs = 2
	}
	return func(ctx context.Context, w int) (string, error) {
		s, err := newSession(ctx, cfg)
		if err != nil {
			return "", err
		}
		if _, err := s.codeGrant(ctx); err != nil {
			if pe, ok := err.(protocolError); ok {
				return string(pe), nil
			}
			return "", err
		}
		return "", nil
	}, sigs, nil
}

// protocolError is a refused step of the code flow, reported by code.
type protocolError string

func (e protocolError) Error() string { return string(e) }

// session is a user agent with a cookie jar, signed in to the server.
type session struct {
	cfg    *Config
	client *http.Client
	// username signs in instead of cfg.Username when set, and totp
	// gives the code the second-factor form is answered with, read when
	// the form shows, as a person reads their app.
	username string
	totp     func(time.Time) (string, bool)
}

func newSession(ctx context.Context, cfg *Config) (*session, error) {
	if (cfg.Username == "" && cfg.Scenario != LoginTOTP) || cfg.RedirectURI == "" {
		return nil, fmt.Errorf("this scenario signs a user in: give --username, --password and --redirect-uri (or --refresh-tokens-file)")
	}
	jar, _ := cookiejar.New(nil)
	c := *cfg.HTTP
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &session{cfg: cfg, client: &c}, nil
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	hiddenIn   = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// codeGrant runs the authorization code flow with PKCE: through the sign-in
// and consent pages the first time, straight from the session after.
func (s *session) codeGrant(ctx context.Context) (map[string]any, error) {
	verifier := randomString()
	sum := sha256.Sum256([]byte(verifier))
	clientID, creds := s.cfg.userClient()
	scope := s.cfg.Scope
	if scope == "" {
		scope = "openid offline_access"
	}
	target := s.cfg.Endpoints.Authorize + "?" + url.Values{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {s.cfg.RedirectURI},
		"scope": {scope}, "state": {"bench"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}.Encode()
	code, err := s.follow(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {s.cfg.RedirectURI}, "code_verifier": {verifier}}
	for k, v := range creds {
		form[k] = v
	}
	status, body, err := postForm(ctx, stdSender{s.client}, s.cfg.Endpoints.Token, form, "refresh_token", "id_token")
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, protocolError(outcome(status, body))
	}
	return body, nil
}

// follow walks redirects and the sign-in and consent forms until the
// browser would be sent to the redirect URI, and returns the code.
func (s *session) follow(ctx context.Context, method, target string, form url.Values) (string, error) {
	for hops := 0; hops < 10; hops++ {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, target, body)
		if err != nil {
			return "", err
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := s.client.Do(req)
		if err != nil {
			return "", err
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
			u, err := req.URL.Parse(loc)
			if err != nil {
				return "", err
			}
			if strings.HasPrefix(u.String(), s.cfg.RedirectURI) {
				if c := u.Query().Get("code"); c != "" {
					return c, nil
				}
				return "", protocolError("authorize " + u.Query().Get("error"))
			}
			method, target, form = http.MethodGet, u.String(), nil
			continue
		}
		m := formAction.FindSubmatch(page)
		if resp.StatusCode != http.StatusOK || m == nil {
			return "", protocolError(fmt.Sprintf("authorize %d", resp.StatusCode))
		}
		next := url.Values{}
		for _, f := range hiddenIn.FindAllSubmatch(page, -1) {
			next.Set(html.UnescapeString(string(f[1])), html.UnescapeString(string(f[2])))
		}
		switch {
		case strings.Contains(string(page), `name="password"`):
			username := s.cfg.Username
			if s.username != "" {
				username = s.username
			}
			next.Set("username", username)
			next.Set("password", s.cfg.Password)
		case strings.Contains(string(page), `name="method"`):
			if s.totp == nil {
				return "", protocolError("authorize second factor asked")
			}
			c, ok := s.totp(time.Now())
			if !ok {
				return "", protocolError("totp no step left")
			}
			next.Set("code", c)
		default:
			next.Set("consent", "accept")
		}
		u, err := req.URL.Parse(html.UnescapeString(string(m[1])))
		if err != nil {
			return "", err
		}
		method, target, form = http.MethodPost, u.String(), next
	}
	return "", fmt.Errorf("too many redirects (last %s %s)", method, target)
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
