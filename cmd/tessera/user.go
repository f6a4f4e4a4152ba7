package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/store"
)

type userJSON struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Email     string    `json:"email,omitempty"`
	Name      string    `json:"name,omitempty"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	Password  string    `json:"password,omitempty"`
}

func toUserJSON(u store.User) userJSON {
	return userJSON{ID: u.ID, Username: u.Username, Email: u.Email, Name: u.Name, Disabled: u.Disabled, CreatedAt: u.CreatedAt}
}

func newUserCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Create and manage users"}

	var tenant, username, email, name string
	var passwordStdin bool
	create := &cobra.Command{Use: "create", Short: "Create a user (a password is generated unless --password-stdin)", Args: cobra.NoArgs}
	create.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		t, err := e.admin.Tenant(ctx, tenant)
		if err != nil {
			return err
		}
		pw := ""
		if passwordStdin {
			line, err := bufio.NewReader(io.LimitReader(g.streams.in, 4096)).ReadString('\n')
			if err != nil && err != io.EOF {
				return fmt.Errorf("read password from stdin: %w", err)
			}
			pw = strings.TrimRight(line, "\r\n")
			if pw == "" {
				return fmt.Errorf("--password-stdin: no password on standard input")
			}
		}
		u, generated, err := e.admin.CreateUser(ctx, t, admin.UserOptions{Username: username, Password: pw, Email: email, Name: name})
		if err != nil {
			return err
		}
		out := toUserJSON(u)
		if !passwordStdin {
			out.Password = generated
		}
		return g.print(out, func(w io.Writer) {
			fmt.Fprintf(w, "User created.\n  Object ID: %s\n  Username:  %s\n", u.ID, u.Username)
			if !passwordStdin {
				fmt.Fprintf(w, "  Password:  %s   (generated; shown once)\n", generated)
			}
		})
	})
	create.Flags().StringVar(&tenant, "tenant", "", "tenant name or id")
	create.Flags().StringVar(&username, "username", "", "sign-in name")
	create.Flags().StringVar(&email, "email", "", "email address")
	create.Flags().StringVar(&name, "name", "", "display name")
	create.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	markLocalRequired(create, "tenant")
	_ = create.MarkFlagRequired("username")

	var listTenant, search string
	list := &cobra.Command{Use: "list", Short: "List users", Args: cobra.NoArgs}
	list.RunE = g.withEnv(func(ctx context.Context, e *env) error {
		t, err := e.admin.Tenant(ctx, listTenant)
		if err != nil {
			return err
		}
		users, err := e.admin.Users(ctx, t)
		if err != nil {
			return err
		}
		if search != "" {
			// As the portal's search: the username or the name, in any case.
			s := strings.ToLower(search)
			users = slices.DeleteFunc(users, func(u store.User) bool {
				return !strings.Contains(strings.ToLower(u.Username), s) && !strings.Contains(strings.ToLower(u.Name), s)
			})
			g.narrowRemote(func(item map[string]any) bool {
				upn, _ := item["userPrincipalName"].(string)
				name, _ := item["displayName"].(string)
				return strings.Contains(strings.ToLower(upn), s) || strings.Contains(strings.ToLower(name), s)
			})
		}
		out := make([]userJSON, 0, len(users))
		for _, u := range users {
			out = append(out, toUserJSON(u))
		}
		return g.print(out, func(w io.Writer) {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "OBJECT ID\tUSERNAME\tNAME\tSTATUS")
			for _, u := range users {
				status := "enabled"
				if u.Disabled {
					status = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.ID, u.Username, u.Name, status)
			}
			tw.Flush()
		})
	})
	list.Flags().StringVar(&listTenant, "tenant", "", "tenant name or id")
	list.Flags().StringVar(&search, "search", "", "only users whose username or name contains this (any case)")
	markLocalRequired(list, "tenant")

	cmd.AddCommand(create, list, userStateCommand(g, "disable", true), userStateCommand(g, "enable", false),
		userDeleteCommand(g), userSetPasswordCommand(g), userRevokeSessionsCommand(g), userRoleCommand(g), userMFACommand(g))
	return cmd
}

// userRoleCommand assigns and removes directory roles, which decide what a
// user may do in the portal and through the admin API.
func userRoleCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "role", Short: "Assign or remove a user's directory roles (Global Administrator, Application Administrator, ...)"}
	var role string
	add := userCommand(g, "add USER", "Give a user a directory role", func(ctx context.Context, e *env, u store.User) error {
		r, err := e.admin.AssignRole(ctx, u, role)
		if err != nil {
			return err
		}
		return g.print(map[string]string{"user": u.ID, "role": r.Name, "roleTemplateId": r.TemplateID}, func(w io.Writer) {
			fmt.Fprintf(w, "%s now holds %s.\n", u.Username, r.Name)
		})
	})
	remove := userCommand(g, "remove USER", "Take a directory role from a user", func(ctx context.Context, e *env, u store.User) error {
		r, err := e.admin.UnassignRole(ctx, u, role)
		if err != nil {
			return err
		}
		return g.print(map[string]string{"user": u.ID, "removed": r.Name}, func(w io.Writer) {
			fmt.Fprintf(w, "%s no longer holds %s.\n", u.Username, r.Name)
		})
	})
	for _, c := range []*cobra.Command{add, remove} {
		c.Flags().StringVar(&role, "role", "", "role name or id: "+roleChoices())
		_ = c.MarkFlagRequired("role")
	}
	cmd.AddCommand(add, remove)
	return cmd
}

func roleChoices() string {
	var names []string
	for _, r := range admin.DirectoryRoles() {
		names = append(names, `"`+r.Name+`"`)
	}
	return strings.Join(names, ", ")
}

// userCommand is a command on one user, named by username or object id.
func userCommand(g *globals, use, short string, run func(ctx context.Context, e *env, u store.User) error) *cobra.Command {
	var tenant string
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1)}
	cmd.RunE = func(c *cobra.Command, args []string) error {
		return g.withEnv(func(ctx context.Context, e *env) error {
			t, err := e.admin.Tenant(ctx, tenant)
			if err != nil {
				return err
			}
			u, err := e.admin.User(ctx, t, args[0])
			if err != nil {
				return err
			}
			return run(ctx, e, u)
		})(c, args)
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant name or id")
	markLocalRequired(cmd, "tenant")
	return cmd
}

func userDeleteCommand(g *globals) *cobra.Command {
	var yes bool
	cmd := userCommand(g, "delete USER", "Delete a user with their consents and sessions, and revoke their refresh tokens",
		func(ctx context.Context, e *env, u store.User) error {
			if !yes {
				return fmt.Errorf("deleting user %s cannot be undone: add --yes", u.Username)
			}
			if err := e.admin.DeleteUser(ctx, u); err != nil {
				return err
			}
			return g.print(map[string]string{"id": u.ID, "deleted": u.Username}, func(w io.Writer) {
				fmt.Fprintf(w, "User %s deleted.\n", u.Username)
			})
		})
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm the deletion")
	return cmd
}

func userSetPasswordCommand(g *globals) *cobra.Command {
	cmd := userCommand(g, "set-password USER", "Set a user's password, read from the first line of standard input",
		func(ctx context.Context, e *env, u store.User) error {
			line, err := bufio.NewReader(io.LimitReader(g.streams.in, 4096)).ReadString('\n')
			if err != nil && err != io.EOF {
				return fmt.Errorf("read password from stdin: %w", err)
			}
			pw := strings.TrimRight(line, "\r\n")
			if pw == "" {
				return fmt.Errorf("set-password: no password on standard input")
			}
			if u, err = e.admin.SetPassword(ctx, u, pw); err != nil {
				return err
			}
			return g.print(toUserJSON(u), func(w io.Writer) { fmt.Fprintf(w, "Password of %s set.\n", u.Username) })
		})
	return cmd
}

// userMFACommand holds what an admin does to a user's second factors.
func userMFACommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "mfa", Short: "Manage a user's second factors (authenticator apps, recovery codes)"}
	reset := userCommand(g, "reset USER", "Remove a user's second factors and recovery codes (they enrol again at next sign-in when the tenant requires MFA)",
		func(ctx context.Context, e *env, u store.User) error {
			if err := e.admin.ResetAuthenticationMethods(ctx, u); err != nil {
				return err
			}
			return g.print(map[string]any{"user": u.ID, "reset": true}, func(w io.Writer) {
				fmt.Fprintf(w, "Second factors and recovery codes of %s removed.\n", u.Username)
			})
		})
	cmd.AddCommand(reset)
	return cmd
}

func userRevokeSessionsCommand(g *globals) *cobra.Command {
	cmd := userCommand(g, "revoke-sessions USER", "Sign a user out everywhere: end their sessions and revoke their refresh tokens",
		func(ctx context.Context, e *env, u store.User) error {
			if err := e.admin.RevokeSessions(ctx, u); err != nil {
				return err
			}
			return g.print(toUserJSON(u), func(w io.Writer) { fmt.Fprintf(w, "Sessions of %s revoked.\n", u.Username) })
		})
	return cmd
}

func userStateCommand(g *globals, verb string, disabled bool) *cobra.Command {
	return userCommand(g, verb+" USER", strings.ToUpper(verb[:1])+verb[1:]+" a user (by username or object id)",
		func(ctx context.Context, e *env, u store.User) error {
			u, err := e.admin.SetDisabled(ctx, u, disabled)
			if err != nil {
				return err
			}
			return g.print(toUserJSON(u), func(w io.Writer) { fmt.Fprintf(w, "User %s %sd.\n", u.Username, verb) })
		})
}
