package sqlstore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Changes reports changes to the directory (tenants, apps, secrets,
// credentials, users, consents, signing keys) made by any process: a
// trigger notifies the schema's channel (migrations 00002 and 00003), and
// this listens on a connection of its own, outside the pool. A value is
// also sent whenever the listener reconnects, since notifications sent
// meanwhile were lost. The channel closes when ctx ends.
func (p *Postgres) Changes(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	signal := func() {
		select {
		case out <- struct{}{}:
		default:
		}
	}
	channel := pgx.Identifier{channelName(p.schema)}.Sanitize()
	go func() {
		defer close(out)
		for ctx.Err() == nil {
			err := p.listen(ctx, channel, signal)
			if ctx.Err() != nil {
				return
			}
			signal() // anything may have changed while not listening
			_ = err
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
	return out
}

// channelName is the channel the directory trigger of schema notifies:
// 'tessera_dir_' || md5(schema), 44 bytes whatever the schema's length,
// below PostgreSQL's limit of 63 on channel names (a schema name may be
// 63 bytes on its own). MD5 only shortens the name here; nothing relies
// on it resisting collisions.
func channelName(schema string) string {
	sum := md5.Sum([]byte(schema))
	return "tessera_dir_" + hex.EncodeToString(sum[:])
}

func (p *Postgres) listen(ctx context.Context, channel string, signal func()) error {
	conn, err := pgx.ConnectConfig(ctx, p.conn.Copy())
	if err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	signal() // the caches may predate the subscription
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("postgres: wait for notification: %w", err)
		}
		signal()
	}
}
