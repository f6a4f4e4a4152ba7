package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

type groupJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

func toGroupJSON(g store.Group) groupJSON {
	return groupJSON{ID: g.ID, Name: g.Name, Description: g.Description, CreatedAt: g.CreatedAt}
}

type principalJSON struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// groupTarget is a command's --tenant and --group.
type groupTarget struct{ tenant, group string }

func (t *groupTarget) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.tenant, "tenant", "", "tenant name or id")
	cmd.Flags().StringVar(&t.group, "group", "", "group id or name")
	markLocalRequired(cmd, "tenant")
	_ = cmd.MarkFlagRequired("group")
}

func (t *groupTarget) resolve(ctx context.Context, e *env) (store.Tenant, store.Group, error) {
	tenant, err := e.admin.Tenant(ctx, t.tenant)
	if err != nil {
		return store.Tenant{}, store.Group{}, err
	}
	g, err := e.admin.FindGroup(ctx, tenant, t.group)
	return tenant, g, err
}

// principalFlags are --user and --group, one of which names a member or
// an assignee.
type principalFlags struct{ user, group string }

func (p *principalFlags) flags(cmd *cobra.Command, what string) {
	cmd.Flags().StringVar(&p.user, "user", "", what+": a user's id or username")
	cmd.Flags().StringVar(&p.group, "member-group", "", what+": a group's id or name")
	cmd.MarkFlagsOneRequired("user", "member-group")
	cmd.MarkFlagsMutuallyExclusive("user", "member-group")
}

func (p *principalFlags) resolve(ctx context.Context, e *env, t store.Tenant) (admin.Principal, error) {
	if p.user != "" {
		u, err := e.admin.User(ctx, t, p.user)
		if err != nil {
			return admin.Principal{}, err
		}
		return admin.Principal{Type: store.PrincipalUser, ID: u.ID, Name: u.Username}, nil
	}
	g, err := e.admin.FindGroup(ctx, t, p.group)
	if err != nil {
		return admin.Principal{}, err
	}
	return admin.Principal{Type: store.PrincipalGroup, ID: g.ID, Name: g.Name}, nil
}

func newGroupCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "group", Short: "Create and manage security groups and their members"}

	var tenant, name, description string
	create := &cobra.Command{Use: "create", Short: "Create a security group", Args: cobra.NoArgs}
	create.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		t, err := e.admin.Tenant(ctx, tenant)
		if err != nil {
			return err
		}
		grp, err := e.admin.CreateGroup(ctx, t, admin.GroupOptions{Name: name, Description: description})
		if err != nil {
			return err
		}
		return g.print(toGroupJSON(grp), func(w io.Writer) {
			fmt.Fprintf(w, "Group created.\n  Object ID: %s\n  Name:      %s\n", grp.ID, grp.Name)
		})
	})
	create.Flags().StringVar(&tenant, "tenant", "", "tenant name or id")
	create.Flags().StringVar(&name, "name", "", "display name")
	create.Flags().StringVar(&description, "description", "", "description")
	markLocalRequired(create, "tenant")
	_ = create.MarkFlagRequired("name")

	var listTenant, search string
	list := &cobra.Command{Use: "list", Short: "List groups", Args: cobra.NoArgs}
	list.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		t, err := e.admin.Tenant(ctx, listTenant)
		if err != nil {
			return err
		}
		var groups []store.Group
		after := ""
		for {
			page, err := e.admin.GroupsPage(ctx, t, search, after, 500)
			if err != nil {
				return err
			}
			groups = append(groups, page.Groups...)
			if page.Next == "" {
				break
			}
			after = page.Next
		}
		out := make([]groupJSON, 0, len(groups))
		for _, grp := range groups {
			out = append(out, toGroupJSON(grp))
		}
		return g.print(out, func(w io.Writer) {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "OBJECT ID\tNAME\tDESCRIPTION")
			for _, grp := range groups {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", grp.ID, grp.Name, grp.Description)
			}
			tw.Flush()
		})
	})
	list.Flags().StringVar(&listTenant, "tenant", "", "tenant name or id")
	list.Flags().StringVar(&search, "search", "", "only groups whose name contains this (any case)")
	markLocalRequired(list, "tenant")

	var showTarget groupTarget
	show := &cobra.Command{Use: "show", Short: "Show a group and its members", Args: cobra.NoArgs}
	show.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		t, grp, err := showTarget.resolve(ctx, e)
		if err != nil {
			return err
		}
		members, err := e.admin.GroupMembers(ctx, t, grp)
		if err != nil {
			return err
		}
		return g.print(struct {
			groupJSON
			Members []principalJSON `json:"members"`
		}{toGroupJSON(grp), principalsJSON(members)}, func(w io.Writer) {
			fmt.Fprintf(w, "Object ID:   %s\nName:        %s\n", grp.ID, grp.Name)
			if grp.Description != "" {
				fmt.Fprintf(w, "Description: %s\n", grp.Description)
			}
			fmt.Fprintf(w, "Members:     %d\n", len(members))
			printPrincipals(w, members)
		})
	})
	showTarget.flags(show)

	var delTarget groupTarget
	del := &cobra.Command{Use: "delete", Short: "Delete a group with its memberships and app role assignments", Args: cobra.NoArgs}
	del.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		_, grp, err := delTarget.resolve(ctx, e)
		if err != nil {
			return err
		}
		if err := e.admin.DeleteGroup(ctx, grp); err != nil {
			return err
		}
		return g.print(map[string]string{"deleted": grp.ID}, func(w io.Writer) { fmt.Fprintf(w, "Group %s (%s) deleted.\n", grp.Name, grp.ID) })
	})
	delTarget.flags(del)

	cmd.AddCommand(create, list, show, del, newGroupMemberCommand(g))
	return cmd
}

func principalsJSON(ps []admin.Principal) []principalJSON {
	out := make([]principalJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, principalJSON{Type: string(p.Type), ID: p.ID, Name: p.Name})
	}
	return out
}

func printPrincipals(w io.Writer, ps []admin.Principal) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tOBJECT ID\tNAME")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Type, p.ID, p.Name)
	}
	tw.Flush()
}

func newGroupMemberCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "member", Short: "Add, remove and list a group's members (users and groups, nested one level)"}
	for _, op := range []string{"add", "remove"} {
		var target groupTarget
		var member principalFlags
		c := &cobra.Command{Use: op, Short: map[string]string{"add": "Add a user or group to a group", "remove": "Remove a member from a group"}[op], Args: cobra.NoArgs}
		c.RunE = g.withEnv(func(ctx context.Context, e *env) error {
			t, grp, err := target.resolve(ctx, e)
			if err != nil {
				return err
			}
			p, err := member.resolve(ctx, e, t)
			if err != nil {
				return err
			}
			if op == "add" {
				_, err = e.admin.AddGroupMember(ctx, t, grp, p.ID)
			} else {
				err = e.admin.RemoveGroupMember(ctx, t, grp, p.ID)
			}
			if err != nil {
				return err
			}
			return g.print(map[string]string{"group": grp.ID, "member": p.ID, "type": string(p.Type)}, func(w io.Writer) {
				if op == "add" {
					fmt.Fprintf(w, "Added %s %s to %s.\n", p.Type, p.Name, grp.Name)
				} else {
					fmt.Fprintf(w, "Removed %s %s from %s.\n", p.Type, p.Name, grp.Name)
				}
			})
		})
		target.flags(c)
		member.flags(c, "the member")
		cmd.AddCommand(c)
	}
	var listTarget groupTarget
	list := &cobra.Command{Use: "list", Short: "List a group's direct members", Args: cobra.NoArgs}
	list.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		t, grp, err := listTarget.resolve(ctx, e)
		if err != nil {
			return err
		}
		members, err := e.admin.GroupMembers(ctx, t, grp)
		if err != nil {
			return err
		}
		return g.print(principalsJSON(members), func(w io.Writer) { printPrincipals(w, members) })
	})
	listTarget.flags(list)
	cmd.AddCommand(list)
	return cmd
}

// newAppRoleCommand assigns an app's roles to users and groups (the
// portal's Users and groups page).
func newAppRoleCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "role", Short: "Assign an app's roles to users and groups, whose tokens for it then carry them"}
	resolve := func(ctx context.Context, e *env, target *appTarget, who *principalFlags) (store.Tenant, store.App, admin.Principal, error) {
		app, err := target.resolve(ctx, e)
		if err != nil {
			return store.Tenant{}, store.App{}, admin.Principal{}, err
		}
		t, err := e.admin.Tenant(ctx, app.TenantID)
		if err != nil {
			return store.Tenant{}, store.App{}, admin.Principal{}, err
		}
		p, err := who.resolve(ctx, e, t)
		return t, app, p, err
	}
	var target appTarget
	var who principalFlags
	var role string
	assign := &cobra.Command{Use: "assign", Short: "Assign one of the app's roles (or default access) to a user or group", Args: cobra.NoArgs}
	assign.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		t, app, p, err := resolve(ctx, e, &target, &who)
		if err != nil {
			return err
		}
		a, err := e.admin.AssignAppRole(ctx, t, app, p.ID, role)
		if err != nil {
			return err
		}
		return g.print(map[string]string{"id": a.ID, "app": app.ClientID, "role": a.Role, "principal": p.ID, "type": string(p.Type)}, func(w io.Writer) {
			fmt.Fprintf(w, "Assigned %s of %s to %s %s (assignment %s).\n", a.Role, app.Name, p.Type, p.Name, a.ID)
		})
	})
	target.flags(assign)
	who.flags(assign, "the assignee")
	assign.Flags().StringVar(&role, "role", admin.DefaultAccessRole, "the app role's value; the default grants sign-in only (Default Access)")

	var uTarget appTarget
	var uWho principalFlags
	var uRole string
	unassign := &cobra.Command{Use: "unassign", Short: "Remove a role (or default access) of the app from a user or group", Args: cobra.NoArgs}
	unassign.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		t, app, p, err := resolve(ctx, e, &uTarget, &uWho)
		if err != nil {
			return err
		}
		as, err := e.admin.AppRoleAssignments(ctx, t, p.ID, app.ClientID)
		if err != nil {
			return err
		}
		for _, a := range as {
			if a.PrincipalID == p.ID && a.Role == uRole {
				if err := e.admin.UnassignAppRole(ctx, t, app, a.ID); err != nil {
					return err
				}
				return g.print(map[string]string{"removed": a.ID}, func(w io.Writer) {
					fmt.Fprintf(w, "Removed %s of %s from %s %s.\n", a.Role, app.Name, p.Type, p.Name)
				})
			}
		}
		return errors.New("no such assignment: " + string(p.Type) + " " + p.Name + " does not hold " + uRole + " of " + app.Name)
	})
	uTarget.flags(unassign)
	uWho.flags(unassign, "the assignee")
	unassign.Flags().StringVar(&uRole, "role", admin.DefaultAccessRole, "the app role's value; the default is Default Access")

	var lTarget appTarget
	list := &cobra.Command{Use: "list", Short: "List the users and groups assigned the app's roles", Args: cobra.NoArgs}
	list.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		app, err := lTarget.resolve(ctx, e)
		if err != nil {
			return err
		}
		t, err := e.admin.Tenant(ctx, app.TenantID)
		if err != nil {
			return err
		}
		as, err := e.admin.AppRoleAssignments(ctx, t, "", app.ClientID)
		if err != nil {
			return err
		}
		type row struct {
			ID        string `json:"id"`
			Role      string `json:"role"`
			Type      string `json:"type"`
			Principal string `json:"principal"`
			Name      string `json:"name"`
		}
		out := make([]row, 0, len(as))
		for _, a := range as {
			role := a.Role
			if role == admin.DefaultAccessRole {
				role = "Default Access"
			}
			out = append(out, row{a.ID, role, string(a.PrincipalType), a.PrincipalID, a.PrincipalName})
		}
		return g.print(out, func(w io.Writer) {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ASSIGNMENT\tROLE\tTYPE\tNAME\tOBJECT ID")
			for _, r := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Role, r.Type, r.Name, r.Principal)
			}
			tw.Flush()
		})
	})
	lTarget.flags(list)
	cmd.AddCommand(assign, unassign, list)
	return cmd
}
