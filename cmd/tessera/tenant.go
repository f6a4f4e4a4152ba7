package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/oauth"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/token"
)

type tenantJSON struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	SigningAlg string      `json:"signing_alg"`
	CreatedAt  time.Time   `json:"created_at"`
	Lockout    lockoutJSON `json:"lockout"`
	// MFA is who must sign in with a second factor: optional, admins or
	// everyone.
	MFA string `json:"mfa"`
}

// lockoutJSON is a tenant's sign-in lockout as it applies: its own
// settings over the server's defaults.
type lockoutJSON struct {
	Threshold        int    `json:"threshold"`
	Duration         string `json:"duration"`
	MaxDuration      string `json:"max_duration"`
	ResetAfter       string `json:"reset_after"`
	AddressThreshold int    `json:"address_threshold"`
	RequestAttempts  int    `json:"request_attempts"`
	// Defaults names the settings the tenant leaves to the server.
	Defaults []string `json:"defaults"`
}

func toTenantJSON(t store.Tenant) tenantJSON {
	l := oauth.EffectiveLockout(t.Lockout, oauth.DefaultLockout())
	out := tenantJSON{ID: t.ID, Name: t.Name, SigningAlg: t.SigningAlg, CreatedAt: t.CreatedAt, Lockout: lockoutJSON{
		Threshold: l.Threshold, Duration: l.Duration.String(), MaxDuration: l.MaxDuration.String(),
		ResetAfter: l.ResetAfter.String(), AddressThreshold: l.AddressThreshold, RequestAttempts: l.RequestAttempts,
		Defaults: []string{},
	}, MFA: string(admin.EffectiveMFA(t))}
	for _, s := range lockoutSettings(t.Lockout) {
		if !s.set {
			out.Lockout.Defaults = append(out.Lockout.Defaults, s.json)
		}
	}
	return out
}

// lockoutSetting is one lockout setting as the CLI names it.
type lockoutSetting struct {
	flag, json, label string
	set               bool // by the tenant, rather than left to the server
}

func lockoutSettings(l store.LockoutSettings) []lockoutSetting {
	return []lockoutSetting{
		{"lockout-threshold", "threshold", "Failures that lock an account", l.Threshold != 0},
		{"lockout-duration", "duration", "First lockout (doubles per lockout)", l.Duration != 0},
		{"lockout-max-duration", "max_duration", "Longest lockout", l.MaxDuration != 0},
		{"lockout-reset-after", "reset_after", "Quiet time that forgets failures", l.ResetAfter != 0},
		{"lockout-address-threshold", "address_threshold", "Failures that lock an address", l.AddressThreshold != 0},
		{"lockout-request-attempts", "request_attempts", "Tries per sign-in request", l.RequestAttempts != 0},
	}
}

// printTenant writes a tenant's details, lockout included.
func printTenant(w io.Writer, t store.Tenant) {
	j := toTenantJSON(t)
	fmt.Fprintf(w, "  Name:                  %s\n  Directory (tenant) ID: %s\n  Signing algorithm:     %s\n", t.Name, t.ID, t.SigningAlg)
	fmt.Fprintf(w, "  MFA required of:       %s (--mfa)\n", mfaText(admin.EffectiveMFA(t)))
	fmt.Fprintln(w, "  Sign-in lockout:")
	values := []string{fmt.Sprint(j.Lockout.Threshold), j.Lockout.Duration, j.Lockout.MaxDuration, j.Lockout.ResetAfter,
		fmt.Sprint(j.Lockout.AddressThreshold), fmt.Sprint(j.Lockout.RequestAttempts)}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, s := range lockoutSettings(t.Lockout) {
		source := "default"
		if s.set {
			source = "set for this tenant"
		}
		fmt.Fprintf(tw, "    %s:\t%s\t(%s; --%s)\n", s.label, values[i], source, s.flag)
	}
	tw.Flush()
}

// mfaText says in words who a policy requires a second factor of.
func mfaText(p store.MFAPolicy) string {
	switch p {
	case store.MFAAdmins:
		return "admins (users holding a directory role)"
	case store.MFAEveryone:
		return "everyone"
	}
	return "optional (users who enrolled a factor are asked for it)"
}

// lockoutSummary is a tenant's lockout on one line of `tenant list`.
func lockoutSummary(t store.Tenant) string {
	j := toTenantJSON(t)
	l := oauth.EffectiveLockout(t.Lockout, oauth.DefaultLockout())
	s := fmt.Sprintf("%d fails: %s..%s, reset %s; address %d; request %d", l.Threshold, shortDuration(l.Duration),
		shortDuration(l.MaxDuration), shortDuration(l.ResetAfter), l.AddressThreshold, l.RequestAttempts)
	if len(j.Lockout.Defaults) == len(lockoutSettings(t.Lockout)) {
		s += " (default)"
	}
	return s
}

// shortDuration drops the zero units time.Duration.String keeps: 15m, not
// 15m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func newTenantCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Create, list, show and configure tenants (directories)"}
	var alg string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a tenant with its signing keys",
		Args:  cobra.ExactArgs(1),
	}
	create.RunE = func(cmd *cobra.Command, args []string) error {
		return g.withOperatorEnv(func(ctx context.Context, e *env) error {
			t, err := e.operator.CreateTenant(ctx, args[0], alg)
			if err != nil {
				return err
			}
			return g.print(toTenantJSON(t), func(w io.Writer) {
				fmt.Fprintf(w, "Tenant created.\n  Name:                  %s\n  Directory (tenant) ID: %s\n  Signing algorithm:     %s\n", t.Name, t.ID, t.SigningAlg)
			})
		})(cmd, args)
	}
	create.Flags().StringVar(&alg, "signing-alg", token.RS256, "token signing algorithm: "+token.SigningAlgChoices())
	var yes bool
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a tenant with all its apps, users, keys and tokens (its audit log is kept until it expires)",
		Args:  cobra.ExactArgs(1),
	}
	del.RunE = func(cmd *cobra.Command, args []string) error {
		return g.withOperatorEnv(func(ctx context.Context, e *env) error {
			t, err := e.operator.Tenant(ctx, args[0])
			if err != nil {
				return err
			}
			if !yes {
				return fmt.Errorf("deleting tenant %s and everything in it cannot be undone: add --yes", t.Name)
			}
			if err := e.operator.DeleteTenant(ctx, t, t.Name); err != nil {
				return err
			}
			return g.print(map[string]string{"id": t.ID, "deleted": t.Name}, func(w io.Writer) {
				fmt.Fprintf(w, "Tenant %s deleted: its sessions and refresh tokens are gone and its keys are no longer published.\n", t.Name)
			})
		})(cmd, args)
	}
	del.Flags().BoolVar(&yes, "yes", false, "confirm the deletion")
	list := &cobra.Command{Use: "list", Short: "List tenants", Args: cobra.NoArgs}
	list.RunE = g.withOperatorEnv(func(ctx context.Context, e *env) error {
		ts, err := e.operator.Tenants(ctx)
		if err != nil {
			return err
		}
		out := make([]tenantJSON, 0, len(ts))
		for _, t := range ts {
			out = append(out, toTenantJSON(t))
		}
		return g.print(out, func(w io.Writer) {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDIRECTORY (TENANT) ID\tSIGNING ALG\tSIGN-IN LOCKOUT")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.ID, t.SigningAlg, lockoutSummary(t))
			}
			tw.Flush()
		})
	})
	show := &cobra.Command{Use: "show TENANT", Short: "Show a tenant (by name or id) and its settings", Args: cobra.ExactArgs(1)}
	show.RunE = func(cmd *cobra.Command, args []string) error {
		return g.withOperatorEnv(func(ctx context.Context, e *env) error {
			t, err := e.operator.Tenant(ctx, args[0])
			if err != nil {
				return err
			}
			return g.print(toTenantJSON(t), func(w io.Writer) { printTenant(w, t) })
		})(cmd, args)
	}
	cmd.AddCommand(create, list, show, newTenantSetCommand(g), del)
	return cmd
}

// newTenantSetCommand is `tenant set`: the sign-in lockout settings. Each
// flag takes a value or "default", which gives the setting back to the
// server.
func newTenantSetCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "set TENANT",
		Short: "Change a tenant's MFA policy and sign-in lockout settings",
		Long: `Change a tenant's MFA policy and sign-in lockout settings. Each lockout
flag takes a value or "default", which gives the setting back to the
server's default.

--mfa says who must sign in with a second factor: optional (only users who
enrolled one are asked for it), admins (users who hold any directory role)
or everyone. Users it requires and who have no factor enrol an
authenticator app at their next sign-in.

An account locks after --lockout-threshold failed sign-ins for
--lockout-duration; while its failures are remembered, each further one
locks it again for twice as long, up to --lockout-max-duration. A quiet
period of --lockout-reset-after, or a successful sign-in, forgets them. A
source address locks after --lockout-address-threshold failures over any
usernames, and one sign-in request ends after --lockout-request-attempts.`,
		Args: cobra.ExactArgs(1),
	}
	values := map[string]*string{}
	var mfa string
	for _, s := range lockoutSettings(store.LockoutSettings{}) {
		values[s.flag] = new(string)
	}
	cmd.RunE = func(c *cobra.Command, args []string) error {
		return g.withOperatorEnv(func(ctx context.Context, e *env) error {
			t, err := e.operator.Tenant(ctx, args[0])
			if err != nil {
				return err
			}
			var o admin.LockoutOptions
			count := func(flag string, dst **int) error {
				if !c.Flags().Changed(flag) {
					return nil
				}
				n := 0
				if v := strings.TrimSpace(*values[flag]); v != "default" {
					if n, err = strconv.Atoi(v); err != nil || n <= 0 {
						return fmt.Errorf("--%s %q: use a positive number or \"default\"", flag, v)
					}
				}
				*dst = &n
				return nil
			}
			length := func(flag string, dst **time.Duration) error {
				if !c.Flags().Changed(flag) {
					return nil
				}
				var d time.Duration
				if v := strings.TrimSpace(*values[flag]); v != "default" {
					if d, err = admin.ParseLifetime(v); err != nil {
						return fmt.Errorf("--%s: %w", flag, err)
					}
				}
				*dst = &d
				return nil
			}
			for _, err := range []error{
				count("lockout-threshold", &o.Threshold),
				length("lockout-duration", &o.Duration),
				length("lockout-max-duration", &o.MaxDuration),
				length("lockout-reset-after", &o.ResetAfter),
				count("lockout-address-threshold", &o.AddressThreshold),
				count("lockout-request-attempts", &o.RequestAttempts),
			} {
				if err != nil {
					return err
				}
			}
			if c.Flags().Changed("mfa") {
				if t, err = e.operator.SetMFAPolicy(ctx, t, store.MFAPolicy(strings.TrimSpace(mfa))); err != nil {
					return err
				}
			}
			if o != (admin.LockoutOptions{}) || !c.Flags().Changed("mfa") {
				if t, err = e.operator.SetLockout(ctx, t, o); err != nil {
					return err
				}
			}
			return g.print(toTenantJSON(t), func(w io.Writer) {
				fmt.Fprintln(w, "Tenant updated.")
				printTenant(w, t)
			})
		})(c, args)
	}
	d := oauth.DefaultLockout()
	f := cmd.Flags()
	f.StringVar(&mfa, "mfa", "", "who must sign in with a second factor: optional, admins or everyone")
	f.StringVar(values["lockout-threshold"], "lockout-threshold", "", fmt.Sprintf("failed sign-ins that lock an account (default %d)", d.Threshold))
	f.StringVar(values["lockout-duration"], "lockout-duration", "", fmt.Sprintf("length of the first lockout, e.g. 60s (default %s)", d.Duration))
	f.StringVar(values["lockout-max-duration"], "lockout-max-duration", "", fmt.Sprintf("longest lockout, e.g. 15m (default %s)", d.MaxDuration))
	f.StringVar(values["lockout-reset-after"], "lockout-reset-after", "", fmt.Sprintf("quiet time that forgets failures and lockouts, e.g. 12h (default %s)", d.ResetAfter))
	f.StringVar(values["lockout-address-threshold"], "lockout-address-threshold", "", fmt.Sprintf("failed sign-ins, over any usernames, that lock a source address (default %d)", d.AddressThreshold))
	f.StringVar(values["lockout-request-attempts"], "lockout-request-attempts", "", fmt.Sprintf("failed tries that end one sign-in request (default %d)", d.RequestAttempts))
	return cmd
}

func newKeysCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage a tenant's token signing keys"}
	var tenant string
	var keep time.Duration
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Activate the published next key, retire the active one, publish a new next key",
		Args:  cobra.NoArgs,
	}
	rotate.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		t, err := e.admin.Tenant(ctx, tenant)
		if err != nil {
			return err
		}
		if err := e.admin.RotateKeys(ctx, t, keep); err != nil {
			return err
		}
		return g.print(map[string]string{"tenant_id": t.ID, "status": "rotated"}, func(w io.Writer) {
			fmt.Fprintf(w, "Keys of tenant %s rotated; the retired key stays published for %s.\n", t.Name, keep)
		})
	})
	rotate.Flags().StringVar(&tenant, "tenant", "", "tenant name or id")
	rotate.Flags().DurationVar(&keep, "keep-retired", admin.DefaultKeepRetired, "how long the retired key stays in JWKS: at least the longest token lifetime")
	markLocalRequired(rotate, "tenant")
	cmd.AddCommand(rotate, newRotateMasterCommand(g))
	return cmd
}
