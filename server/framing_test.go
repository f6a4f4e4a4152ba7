package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestTokenRequestAndResponseFraming covers the token endpoint's reading of
// a form however it is framed, and a response long enough (access, ID and
// refresh token) to pass net/http's buffer going out with its length
// rather than chunked.
func TestTokenRequestAndResponseFraming(t *testing.T) {
	e := newEnv(t)
	cc := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.ClientID}, "client_secret": {e.daemonPW}, "scope": {"api://files/.default"}}.Encode()
	for _, tc := range []struct {
		name, contentType string
		body              io.Reader
		length            int64 // -1: sent chunked
	}{
		{"declared length", "application/x-www-form-urlencoded", strings.NewReader(cc), int64(len(cc))},
		{"chunked body", "application/x-www-form-urlencoded", io.MultiReader(strings.NewReader(cc[:10]), strings.NewReader(cc[10:])), -1},
		{"charset parameter", "application/x-www-form-urlencoded; charset=UTF-8", strings.NewReader(cc), int64(len(cc))},
		{"upper case media type", "Application/X-WWW-Form-URLEncoded", strings.NewReader(cc), int64(len(cc))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, e.tokenURL(), tc.body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = tc.length
			req.Header.Set("Content-Type", tc.contentType)
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body := decodeJSON(t, resp.Body)
			if resp.StatusCode != http.StatusOK || body["access_token"] == nil {
				t.Fatalf("got %d %v", resp.StatusCode, body)
			}
		})
	}

	t.Run("long response has a length", func(t *testing.T) {
		code := codeFor(e, e.browser(), e.web.ClientID, webRedirect, "openid profile offline_access api://files/Files.Read", nil)
		form := url.Values{"grant_type": {"authorization_code"}, "client_id": {e.web.ClientID}, "client_secret": {e.secret},
			"code": {code}, "redirect_uri": {webRedirect}}.Encode()
		resp, err := e.srv.Client().Post(e.tokenURL(), "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"id_token"`) {
			t.Fatalf("got %d %s", resp.StatusCode, b)
		}
		if len(b) <= 2048 {
			t.Fatalf("response of %d bytes does not pass net/http's 2048-byte buffer; the check below proves nothing", len(b))
		}
		if len(resp.TransferEncoding) != 0 || resp.Header.Get("Content-Length") != strconv.Itoa(len(b)) {
			t.Errorf("Transfer-Encoding %v, Content-Length %q, body %d bytes", resp.TransferEncoding, resp.Header.Get("Content-Length"), len(b))
		}
	})
}
