package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/store"
)

// Names of what the development bootstrap creates.
const (
	DemoTenant    = "demo"
	DemoWebApp    = "Demo Web App"
	DemoNativeApp = "Demo Native App"
	DemoUser      = "demo"
	// DemoAdmin is the demo tenant's Global Administrator, for the portal.
	DemoAdmin      = "admin"
	DemoAPIScope   = "access_as_user"
	demoSecretName = "dev bootstrap"
)

// Demo is what a development server offers a newcomer. Secret and
// Password are set only when they were created by this call: they are
// stored as hashes and cannot be shown again.
type Demo struct {
	Tenant        store.Tenant
	WebApp        store.App
	NativeApp     store.App
	User          store.User
	Secret        string
	SecretExpires time.Time
	Password      string
	Admin         store.User
	AdminPassword string
}

// Bootstrap makes sure the demo tenant, a confidential web app (redirect
// http://localhost:8080, as in the Azure walkthrough), a public native app
// (loopback redirect, any port) and a demo user exist. With fresh set it
// issues a new client secret and password even if they existed.
func (a *Admin) Bootstrap(ctx context.Context, fresh bool) (Demo, error) {
	var d Demo
	t, err := a.store.GetTenant(ctx, DemoTenant)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if t, err = a.CreateTenant(ctx, DemoTenant, "RS256"); err != nil {
			return d, err
		}
	case err != nil:
		return d, fmt.Errorf("bootstrap: %w", err)
	}
	d.Tenant = t

	apps, err := a.store.ListApps(ctx, t.ID)
	if err != nil {
		return d, fmt.Errorf("bootstrap: %w", err)
	}
	for _, app := range apps {
		switch app.Name {
		case DemoWebApp:
			d.WebApp = app
		case DemoNativeApp:
			d.NativeApp = app
		}
	}
	newWeb := d.WebApp.ClientID == ""
	if newWeb {
		web, err := a.RegisterApp(ctx, t, RegisterOptions{Name: DemoWebApp, RedirectURIs: []string{"http://localhost:8080", "http://localhost:3000/redirect"}})
		if err != nil {
			return d, err
		}
		if d.WebApp, err = a.Expose(ctx, web, "", []string{DemoAPIScope}, nil); err != nil {
			return d, err
		}
	}
	if d.NativeApp.ClientID == "" {
		native, err := a.RegisterApp(ctx, t, RegisterOptions{Name: DemoNativeApp, Public: true, RedirectURIs: []string{"http://localhost", "http://localhost:3000/redirect"}})
		if err != nil {
			return d, err
		}
		if d.NativeApp, err = a.AddPermission(ctx, native, d.WebApp.ClientID, []string{DemoAPIScope}, nil); err != nil {
			return d, err
		}
	}
	if newWeb || fresh {
		expires := a.now().AddDate(0, 6, 0)
		if d.Secret, _, err = a.AddSecret(ctx, d.WebApp, demoSecretName, expires); err != nil {
			return d, err
		}
		d.SecretExpires = expires
	}

	u, err := a.store.GetUserByUsername(ctx, t.ID, DemoUser)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if d.User, d.Password, err = a.CreateUser(ctx, t, UserOptions{Username: DemoUser, Email: "demo@example.com", Name: "Demo User"}); err != nil {
			return d, err
		}
	case err != nil:
		return d, fmt.Errorf("bootstrap: %w", err)
	case fresh:
		d.Password = GeneratePassword()
		if d.User, err = a.SetPassword(ctx, u, d.Password); err != nil {
			return d, err
		}
	default:
		d.User = u
	}
	if d.Admin, d.AdminPassword, err = a.bootstrapAdmin(ctx, t, fresh); err != nil {
		return d, err
	}
	return d, nil
}

// bootstrapAdmin makes sure the demo tenant has a Global Administrator,
// with a new password when it is created or fresh is set.
func (a *Admin) bootstrapAdmin(ctx context.Context, t store.Tenant, fresh bool) (store.User, string, error) {
	u, err := a.store.GetUserByUsername(ctx, t.ID, DemoAdmin)
	pw := ""
	switch {
	case errors.Is(err, store.ErrNotFound):
		if u, pw, err = a.CreateUser(ctx, t, UserOptions{Username: DemoAdmin, Name: "Demo Administrator"}); err != nil {
			return u, "", err
		}
	case err != nil:
		return u, "", fmt.Errorf("bootstrap: %w", err)
	case fresh:
		pw = GeneratePassword()
		if u, err = a.SetPassword(ctx, u, pw); err != nil {
			return u, "", err
		}
	}
	roles, err := a.store.ListDirectoryRoles(ctx, t.ID, u.ID)
	if err != nil {
		return u, "", fmt.Errorf("bootstrap: %w", err)
	}
	if len(roles) == 0 {
		if _, err := a.AssignRole(ctx, u, RoleGlobalAdministrator); err != nil {
			return u, "", err
		}
	}
	return u, pw, nil
}
