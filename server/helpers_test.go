package server_test

import (
	"time"

	"github.com/tessera-id/tessera/admin"
)

func adminUser(name, pw string) admin.UserOptions {
	return admin.UserOptions{Username: name, Password: pw}
}

func adminLifetimes(absolute, idle time.Duration) admin.AppSettings {
	return admin.AppSettings{RefreshTokenLifetime: &absolute, RefreshTokenIdleLifetime: &idle}
}

func adminAccessLifetime(d time.Duration) admin.AppSettings {
	return admin.AppSettings{AccessTokenLifetime: &d}
}
