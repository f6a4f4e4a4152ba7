package server

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/tessera-id/tessera/oauth"
)

// token is the token endpoint (RFC 6749 §3.2). Parameters are read from
// the body only; a query string some clients append is ignored.
func (s *Server) token(w http.ResponseWriter, r *http.Request, ep oauth.Endpoint) {
	req, ok := s.tokenRequest(w, r)
	if !ok {
		return
	}
	ann := annotations(r.Context())
	ann.grantType = loggedID(req.Params.Get("grant_type"))
	resp, e := s.provider.Token(r.Context(), ep, req)
	if e != nil {
		s.cfg.Metrics.TokenResponse(ep.Tenant.Name, req.Params.Get("grant_type"), e.Code)
		s.writeError(w, r, e)
		return
	}
	s.cfg.Metrics.TokenResponse(ep.Tenant.Name, req.Params.Get("grant_type"), "")
	ann.objectID = resp.ObjectID
	noStore(w)
	writeJSON(w, http.StatusOK, resp)
}

// readForm reads a bounded application/x-www-form-urlencoded body.
func readForm(w http.ResponseWriter, r *http.Request) (oauth.Params, *oauth.Error) {
	const form = "application/x-www-form-urlencoded"
	// The header every client sends is the bare media type; only others
	// need the full parse (parameters, case).
	if ct := r.Header.Get("Content-Type"); ct != form {
		mediaType, _, err := mime.ParseMediaType(ct)
		if err != nil || mediaType != form {
			return nil, oauth.MalformedRequest("The request body must be application/x-www-form-urlencoded.")
		}
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, oauth.MaxBodyLen), r.ContentLength)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			e := oauth.MalformedRequest("The request body is larger than %d bytes.", oauth.MaxBodyLen)
			e.Status = http.StatusRequestEntityTooLarge
			return nil, e
		}
		return nil, oauth.MalformedRequest("The request body could not be read.")
	}
	return oauth.ParseForm(string(body))
}

// readBody reads all of body into one buffer sized from the declared
// length, when there is one within the limit the reader enforces anyway.
func readBody(body io.Reader, declared int64) ([]byte, error) {
	if declared <= 0 || declared > oauth.MaxBodyLen {
		return io.ReadAll(body)
	}
	// ReadFrom grows a buffer with less than MinRead bytes free; this one
	// keeps that much spare after the declared length, so it never does.
	buf := bytes.NewBuffer(make([]byte, 0, declared+bytes.MinRead))
	if _, err := buf.ReadFrom(body); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// basicCredentials decodes client_secret_basic. RFC 6749 §2.3.1 has the
// client id and secret form-encoded before they are joined, so they are
// decoded again here; a client that did not encode them still works as
// long as its values need no encoding, which is true of Tessera's.
func basicCredentials(r *http.Request) (oauth.ClientCredentials, *oauth.Error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return oauth.ClientCredentials{}, nil
	}
	scheme, _, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") {
		// Another scheme is not client authentication; ignore it.
		return oauth.ClientCredentials{}, nil
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		return oauth.ClientCredentials{}, &oauth.Error{Code: oauth.ErrInvalidClient, Status: http.StatusUnauthorized,
			Number: oauth.CodeMalformedRequest, Description: "The Authorization header is not valid HTTP Basic credentials."}
	}
	var err1, err2 error
	id, err1 = url.QueryUnescape(id)
	secret, err2 = url.QueryUnescape(secret)
	if err1 != nil || err2 != nil || id == "" {
		return oauth.ClientCredentials{}, &oauth.Error{Code: oauth.ErrInvalidClient, Status: http.StatusUnauthorized,
			Number: oauth.CodeMalformedRequest, Description: "The client id or secret in the Authorization header is not valid form encoding."}
	}
	return oauth.ClientCredentials{BasicID: id, BasicSecret: secret, HasBasic: true}, nil
}
