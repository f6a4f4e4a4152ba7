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

type auditChangeJSON struct {
	Property string `json:"displayName"`
	Old      string `json:"oldValue,omitempty"`
	New      string `json:"newValue,omitempty"`
}

// auditJSON is an entry in the shape of Graph's directoryAudit, flattened
// where Graph nests for reasons Tessera does not have.
type auditJSON struct {
	ID           string            `json:"id"`
	Time         time.Time         `json:"activityDateTime"`
	Category     string            `json:"category"`
	Activity     string            `json:"activityDisplayName"`
	Result       string            `json:"result"`
	Reason       string            `json:"resultReason,omitempty"`
	ActorType    string            `json:"initiatedByType"`
	ActorID      string            `json:"initiatedById,omitempty"`
	ActorName    string            `json:"initiatedByName,omitempty"`
	ActorAddress string            `json:"ipAddress,omitempty"`
	TargetType   string            `json:"targetType,omitempty"`
	TargetID     string            `json:"targetId,omitempty"`
	TargetName   string            `json:"targetDisplayName,omitempty"`
	Changes      []auditChangeJSON `json:"modifiedProperties,omitempty"`
}

func toAuditJSON(e store.AuditEntry) auditJSON {
	out := auditJSON{ID: e.ID, Time: e.Time, Category: e.Category, Activity: e.Activity, Result: e.Result, Reason: e.Reason,
		ActorType: e.ActorType, ActorID: e.ActorID, ActorName: e.ActorName, ActorAddress: e.ActorAddress,
		TargetType: e.TargetType, TargetID: e.TargetID, TargetName: e.TargetName}
	for _, c := range e.Changes {
		out.Changes = append(out.Changes, auditChangeJSON(c))
	}
	return out
}

func newAuditCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read a tenant's audit and sign-in logs"}
	var tenant, activity, actor, target, result string
	var signIns bool
	var limit int
	list := &cobra.Command{Use: "list", Short: "List audit entries, newest first (--sign-ins for the sign-in log)", Args: cobra.NoArgs}
	list.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		t, err := e.admin.Tenant(ctx, tenant)
		if err != nil {
			return err
		}
		if limit < 1 || limit > store.MaxAuditPage {
			return fmt.Errorf("--limit %d: use 1 to %d", limit, store.MaxAuditPage)
		}
		q := store.AuditQuery{Kind: store.AuditDirectory, Limit: limit, Activity: activity, ActorID: actor, TargetID: target, Result: result}
		if signIns {
			q.Kind = store.AuditSignIn
		}
		entries, err := e.admin.AuditLog(ctx, t, q)
		if err != nil {
			return err
		}
		out := make([]auditJSON, 0, len(entries))
		for _, en := range entries {
			out = append(out, toAuditJSON(en))
		}
		return g.print(out, func(w io.Writer) {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME (UTC)\tACTIVITY\tRESULT\tBY\tTARGET\tCHANGES")
			for _, en := range entries {
				by := en.ActorName
				if by == "" {
					by = en.ActorID
				}
				if en.ActorAddress != "" {
					by += " from " + en.ActorAddress
				}
				res := en.Result
				if en.Reason != "" {
					res += ": " + en.Reason
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", en.Time.Format("2006-01-02 15:04:05"), en.Activity, res, by,
					targetText(en), changesText(en.Changes))
			}
			tw.Flush()
		})
	})
	list.Flags().StringVar(&tenant, "tenant", "", "tenant name or id")
	list.Flags().BoolVar(&signIns, "sign-ins", false, "list the sign-in log instead of directory changes")
	list.Flags().IntVar(&limit, "limit", 100, "how many entries at most")
	list.Flags().StringVar(&activity, "activity", "", `only this activity, e.g. "Add application"`)
	list.Flags().StringVar(&actor, "actor", "", "only what this user, app or operator did (by id)")
	list.Flags().StringVar(&target, "target", "", "only what was done to this object (by id)")
	list.Flags().StringVar(&result, "result", "", "only success or failure")
	markLocalRequired(list, "tenant")
	cmd.AddCommand(list)
	return cmd
}

func targetText(e store.AuditEntry) string {
	if e.TargetName != "" && e.TargetName != e.TargetID {
		return e.TargetType + " " + e.TargetName + " (" + e.TargetID + ")"
	}
	return e.TargetType + " " + e.TargetID
}

func changesText(cs []store.AuditChange) string {
	text := ""
	for i, c := range cs {
		if i > 0 {
			text += "; "
		}
		text += c.Property + ": " + c.Old + " -> " + c.New
	}
	return text
}
