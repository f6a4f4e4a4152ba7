package postgres

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/jackc/pgx/v5"
)

// Changes reports changes to the directory (tenants, apps, secrets,
// credentials, users, consents, signing keys) made by any process: a
// trigger notifies the schema's channel (migrations 00002 and 00003), and this
// listens on a connection of its own. A value is also sent whenever the
// listener reconnects, since notifications sent meanwhile were lost. The
// channel closes when ctx ends.
func (s *Store) Changes(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	signal := func() {
		select {
		case out <- struct{}{}:
		default:
		}
	}
	channel := pgx.Identifier{channelName(s.schema)}.Sanitize()
	go func() {
		defer close(out)
		for ctx.Err() == nil {
			err := s.listen(ctx, channel, signal)
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

func (s *Store) listen(ctx context.Context, channel string, signal func()) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	// The connection is dedicated to LISTEN for as long as it lives; it
	// must not go back to the pool with the subscription on it.
	raw := conn.Hijack()
	defer raw.Close(context.Background())
	if _, err := raw.Exec(ctx, "LISTEN "+channel); err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	signal() // the caches may predate the subscription
	for {
		if _, err := raw.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("postgres: wait for notification: %w", err)
		}
		signal()
	}
}

// Exclusive runs fn only if no other process holds the advisory lock
// named name in this schema, holding it meanwhile; it reports whether fn
// ran. Background work that one instance at a time should do (collecting
// expired rows) goes through it.
func (s *Store) Exclusive(ctx context.Context, name string, fn func(context.Context) error) (bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("postgres: exclusive %s: %w", name, err)
	}
	defer conn.Release()
	key := int64(crc32.ChecksumIEEE([]byte(s.schema)))<<32 | int64(crc32.ChecksumIEEE([]byte(name)))
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
		return false, fmt.Errorf("postgres: exclusive %s: %w", name, err)
	}
	if !got {
		return false, nil
	}
	defer func() {
		// A failed unlock is released with the session; detach the
		// connection so it does not return to the pool still locked.
		if _, err := conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", key); err != nil {
			_ = conn.Hijack().Close(context.Background())
		}
	}()
	return true, fn(ctx)
}
