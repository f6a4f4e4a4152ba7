package oauth

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/ids"
	"github.com/tessera-id/tessera/internal/metrics"
	"github.com/tessera-id/tessera/store"
)

func (p *Provider) auditRetention() time.Duration {
	if p.cfg.AuditRetention > 0 {
		return p.cfg.AuditRetention
	}
	return store.DefaultAuditRetention
}

// signInReasons are the refusal reasons as the sign-in log words them.
var signInReasons = map[string]string{
	reasonBadCredentials:  "wrong username or password",
	reasonAccountLocked:   "account locked after too many failed sign-ins",
	reasonAddressLocked:   "source address locked after too many failed sign-ins",
	reasonRequestExceeded: "too many tries in one sign-in",
	reasonBusy:            "too many sign-ins in progress for the account or address",
}

// signInOutcome is the metrics' word for a sign-in's result: the refusal
// reasons fall in a few classes an operator alerts on.
func signInOutcome(reason, locked string) string {
	switch {
	case reason == "":
		return metrics.SignInSuccess
	case locked != "" || reason == reasonAccountLocked || reason == reasonAddressLocked:
		return metrics.SignInLocked
	case reason == reasonRequestExceeded || reason == reasonBusy:
		return metrics.SignInThrottled
	}
	return metrics.SignInFailure
}

// recordSignIn adds a password sign-in to the tenant's sign-in log: who
// (a known user by id and username; of an unknown name nothing, since
// what people type there is now and then their password), from where, to
// which app, and why it was refused. reason is "" for a success. The event
// is not the sign-in's business: a failure to record it is logged and the
// sign-in goes on.
func (p *Provider) recordSignIn(ctx context.Context, ep Endpoint, in signIn, user store.User, reason, locked string) {
	p.metrics.SignIn(ep.Tenant.Name, signInOutcome(reason, locked))
	now := p.now()
	e := store.AuditEntry{
		TenantID: ep.Tenant.ID, ID: ids.NewOrdered(), Kind: store.AuditSignIn, Time: now,
		Category: "SignIn", Activity: "Sign-in with password", Result: store.AuditSuccess,
		ActorType: "user", ActorID: user.ID, ActorName: user.Username, ActorAddress: in.address,
		TargetType: "application", TargetID: in.client, TargetName: p.clientName(ctx, ep, in.client),
		ExpiresAt: now.Add(p.auditRetention()),
	}
	if reason != "" {
		e.Result, e.Reason = store.AuditFailure, signInReasons[reason]
		if user.ID == "" {
			e.Reason += " (unknown username)"
		} else if user.Disabled {
			e.Reason += " (account disabled)"
		}
		if locked != "" {
			e.Reason += "; this failure locked the " + locked
		}
	}
	if err := p.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		p.log.WarnContext(ctx, "sign-in event not recorded", "tenant", ep.Tenant.ID, "err", err)
	}
	// The same event in the process log, for a log pipeline; like the
	// entry it names no password and, for an unknown name, no username.
	p.log.LogAttrs(ctx, slog.LevelInfo, "sign-in", e.LogAttrs()...)
}

// consentEntry is the audit entry of a user's consent on the consent page.
func (p *Provider) consentEntry(ctx context.Context, ep Endpoint, ar *AuthorizeRequest, user store.User, address string, granted []string) store.AuditEntry {
	now := p.now()
	return store.AuditEntry{
		TenantID: ep.Tenant.ID, ID: ids.NewOrdered(), Kind: store.AuditDirectory, Time: now,
		Category: "ApplicationManagement", Activity: "Consent to application", Result: store.AuditSuccess,
		ActorType: "user", ActorID: user.ID, ActorName: user.Username, ActorAddress: address,
		TargetType: "application", TargetID: ar.ClientID, TargetName: p.clientName(ctx, ep, ar.ClientID),
		Changes:   []store.AuditChange{{Property: "permissions", New: "[" + strings.Join(granted, ", ") + "]"}},
		ExpiresAt: now.Add(p.auditRetention()),
	}
}
