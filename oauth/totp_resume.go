package oauth

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/store"
)

// ResumeTOTP shows an enrolment begun with BeginTOTP again, with the same
// key (a wrong first code must not make the user scan a new one), while
// it has not expired.
func (p *Provider) ResumeTOTP(ep Endpoint, user store.User, pending string) (TOTPEnrolment, error) {
	raw, err := p.state.Open(pendingLabel(ep, user.ID), pending)
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("resume totp enrolment: %w", err)
	}
	var pt pendingTOTP
	if err := json.Unmarshal(raw, &pt); err != nil {
		return TOTPEnrolment{}, fmt.Errorf("resume totp enrolment: %w", err)
	}
	if !p.now().Before(time.Unix(pt.Expires, 0)) {
		return TOTPEnrolment{}, fmt.Errorf("resume totp enrolment: expired")
	}
	k, err := totpKeyFor(ep, user, pt.Secret)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	qr, err := qrDataURL(k)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return TOTPEnrolment{Secret: k.Secret(), URI: k.URL(), QR: qr, Pending: pending}, nil
}
