package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/store"
)

type tenantJSON struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	SigningAlg string    `json:"signing_alg"`
	CreatedAt  time.Time `json:"created_at"`
}

func toTenantJSON(t store.Tenant) tenantJSON {
	return tenantJSON{ID: t.ID, Name: t.Name, SigningAlg: t.SigningAlg, CreatedAt: t.CreatedAt}
}

func newTenantCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Create and list tenants (directories)"}
	var alg string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a tenant with its signing keys",
		Args:  cobra.ExactArgs(1),
	}
	create.RunE = func(cmd *cobra.Command, args []string) error {
		return g.withEnv(func(ctx context.Context, e *env) error {
			t, err := e.admin.CreateTenant(ctx, args[0], alg)
			if err != nil {
				return err
			}
			return g.print(toTenantJSON(t), func(w io.Writer) {
				fmt.Fprintf(w, "Tenant created.\n  Name:                  %s\n  Directory (tenant) ID: %s\n  Signing algorithm:     %s\n", t.Name, t.ID, t.SigningAlg)
			})
		})(cmd, args)
	}
	create.Flags().StringVar(&alg, "signing-alg", "RS256", "token signing algorithm: RS256, ES256 or EdDSA")
	list := &cobra.Command{Use: "list", Short: "List tenants", Args: cobra.NoArgs}
	list.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		ts, err := e.admin.Tenants(ctx)
		if err != nil {
			return err
		}
		out := make([]tenantJSON, 0, len(ts))
		for _, t := range ts {
			out = append(out, toTenantJSON(t))
		}
		return g.print(out, func(w io.Writer) {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDIRECTORY (TENANT) ID\tSIGNING ALG")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.ID, t.SigningAlg)
			}
			tw.Flush()
		})
	})
	cmd.AddCommand(create, list)
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
	rotate.Flags().DurationVar(&keep, "keep-retired", 25*time.Hour, "how long the retired key stays in JWKS: at least the longest token lifetime")
	_ = rotate.MarkFlagRequired("tenant")
	cmd.AddCommand(rotate)
	return cmd
}
