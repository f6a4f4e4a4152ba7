package cache_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/tessera-id/tessera/client/cache"
)

// A cache shared by every process of a user, encrypted at rest.
func Example() {
	dir, err := os.MkdirTemp("", "tessera-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	key, err := cache.EncryptionKeyFromFile(filepath.Join(dir, "cache.key"))
	if err != nil {
		log.Fatal(err)
	}
	c := cache.New(
		cache.WithPersistence(cache.NewFile(filepath.Join(dir, "tokens.json"), cache.WithEncryptionKey(key))),
		cache.WithWarnings(func(err error) { log.Print(err) }),
	)
	ctx := context.Background()
	err = c.Apply(ctx, cache.Update{
		Account: &cache.Account{HomeAccountID: "uid.utid", Environment: "login.example.com", Realm: "utid", Username: "ada@example.com"},
		AccessToken: &cache.AccessToken{HomeAccountID: "uid.utid", Environment: "login.example.com", Realm: "utid",
			ClientID: "app", Secret: "eyJ...", Target: "files.read openid", ExpiresOn: time.Now().Add(time.Hour)},
	})
	if err != nil {
		log.Fatal(err)
	}

	at, ok, err := c.AccessToken(ctx, cache.AccessTokenQuery{Environment: "login.example.com", ClientID: "app",
		HomeAccountID: "uid.utid", Realm: "utid", Scopes: []string{"openid", "Files.Read"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ok, at.Secret, at.TokenType)
	// Output: true eyJ... Bearer
}
