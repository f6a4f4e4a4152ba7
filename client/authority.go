package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// metadata is what the library needs from OpenID Provider Metadata.
type metadata struct {
	Issuer                      string `json:"issuer"`
	AuthorizationEndpoint       string `json:"authorization_endpoint"`
	TokenEndpoint               string `json:"token_endpoint"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
	JWKSURI                     string `json:"jwks_uri"`
	EndSessionEndpoint          string `json:"end_session_endpoint"`
	AuthorizationResponseIss    bool   `json:"authorization_response_iss_parameter_supported"`
}

// authority is a resolved authority: its endpoints and how to key the
// cache for it.
type authority struct {
	metadata
	// environment is the authority's host (with port), MSAL's cache
	// "environment".
	environment string
	// tenant is the path segment of an Entra-style authority
	// (https://host/{tenant}), "" for a plain issuer.
	tenant string
	// entra is true when the authority answered Entra's v2.0 discovery
	// path; such servers understand client_info=1.
	entra bool
}

// discover resolves an authority URL. An Entra-style URL
// (https://host/{tenant}) is tried at {url}/v2.0/.well-known first, as MSAL
// does; any URL is then tried as an issuer ({url}/.well-known/...).
func discover(ctx context.Context, hc *http.Client, raw string) (*authority, error) {
	u, err := parseAuthority(raw)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(u.String(), "/")
	segments := strings.Split(strings.Trim(u.Path, "/"), "/")
	a := &authority{environment: u.Host}
	if len(segments) == 1 && segments[0] != "" {
		a.tenant = segments[0]
		md, err := fetchMetadata(ctx, hc, base+"/v2.0/.well-known/openid-configuration")
		if err == nil {
			a.metadata, a.entra = *md, true
			return a.finish()
		}
	}
	if len(segments) == 2 && segments[1] == "v2.0" {
		a.tenant, a.entra = segments[0], true
	}
	md, err := fetchMetadata(ctx, hc, base+"/.well-known/openid-configuration")
	if err != nil {
		return nil, err
	}
	a.metadata = *md
	return a.finish()
}

// parseAuthority checks an authority URL and drops its query and fragment.
func parseAuthority(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("client: authority %q is not an http(s) URL", raw)
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

func (a *authority) finish() (*authority, error) {
	if a.TokenEndpoint == "" || a.Issuer == "" {
		return nil, fmt.Errorf("client: discovery document of %s lacks issuer or token_endpoint", a.environment)
	}
	if a.DeviceAuthorizationEndpoint == "" && a.entra {
		// Entra's documents omit it; MSAL derives it the same way.
		a.DeviceAuthorizationEndpoint = strings.Replace(a.TokenEndpoint, "/token", "/devicecode", 1)
	}
	return a, nil
}

func fetchMetadata(ctx context.Context, hc *http.Client, target string) (*metadata, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("client: discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, networkError(fmt.Errorf("discovery %s: %w", target, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, networkError(fmt.Errorf("discovery %s: %w", target, err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &Error{Kind: ErrServer, StatusCode: resp.StatusCode, Description: fmt.Sprintf("discovery %s answered %d", target, resp.StatusCode)}
	}
	var md metadata
	if err := json.Unmarshal(body, &md); err != nil {
		return nil, networkError(fmt.Errorf("discovery %s: not JSON: %w", target, err))
	}
	return &md, nil
}
