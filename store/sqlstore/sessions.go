package sqlstore

import (
	"context"
	"slices"

	"github.com/tessera-id/tessera/store"
)

// Sessions.

const sessionInsertCols = `id, hash, tenant_id, user_id, auth_time, created_at, expires_at, frontchannel_clients, amr`

// sessionColumns is the sessions table's select list: its list reads
// through the dialect (see dialect.listColumn).
func sessionColumns(d dialect) string {
	return `id, hash, tenant_id, user_id, auth_time, created_at, expires_at, ` + d.listColumn("frontchannel_clients") + `, amr`
}

func scanSession(row scanner) (store.Session, error) {
	var ss store.Session
	err := row.Scan(&ss.ID, &ss.Hash, &ss.TenantID, &ss.UserID, timeCol{&ss.AuthTime},
		timeCol{&ss.CreatedAt}, timeCol{&ss.ExpiresAt}, listCol(&ss.FrontChannelClients), amrCol{&ss.AMR})
	return ss, err
}

// CreateSession implements store.Store.
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	clients := ss.FrontChannelClients
	if clients == nil {
		// Written as an empty list, not JSON null, like the column's
		// default.
		clients = []string{}
	}
	_, err := s.exec(ctx, `INSERT INTO sessions (`+sessionInsertCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		ss.ID, ss.Hash, ss.TenantID, ss.UserID, ss.AuthTime, ss.CreatedAt, ss.ExpiresAt, clients, amrValue(ss.AMR))
	return s.wrap("create session", err)
}

// GetSession implements store.Store.
func (s *Store) GetSession(ctx context.Context, tenantID string, hash []byte) (store.Session, error) {
	ss, err := get(ctx, s, scanSession,
		`SELECT `+s.sessionCols+` FROM sessions WHERE tenant_id = $1 AND hash = $2`, tenantID, hash)
	return ss, s.wrap("get session", err)
}

// GetSessionByID implements store.Store.
func (s *Store) GetSessionByID(ctx context.Context, tenantID, id string) (store.Session, error) {
	ss, err := get(ctx, s, scanSession,
		`SELECT `+s.sessionCols+` FROM sessions WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return ss, s.wrap("get session by id", err)
}

// DeleteSession implements store.Store.
func (s *Store) DeleteSession(ctx context.Context, tenantID string, hash []byte) error {
	err := s.execOne(ctx, `DELETE FROM sessions WHERE tenant_id = $1 AND hash = $2`, tenantID, hash)
	return s.wrap("delete session", err)
}

// AddSessionFrontChannelClient implements store.Store. The read locks the
// row (SQLite's write transaction is exclusive already), so that two
// sign-ins at once in one session, to two apps, cannot both read the list
// without the other and one of them be lost.
func (s *Store) AddSessionFrontChannelClient(ctx context.Context, tenantID, sessionID, clientID string) error {
	err := s.tx(ctx, func(c conn) error {
		var clients []string
		err := c.queryRow(ctx, `SELECT `+s.d.listColumn("frontchannel_clients")+` FROM sessions
			WHERE tenant_id = $1 AND id = $2`+s.d.forUpdate(), tenantID, sessionID).Scan(listCol(&clients))
		if err != nil || slices.Contains(clients, clientID) {
			return err
		}
		_, err = c.exec(ctx, `UPDATE sessions SET frontchannel_clients = $1 WHERE tenant_id = $2 AND id = $3`,
			append(clients, clientID), tenantID, sessionID)
		return err
	})
	return s.wrap("add session front-channel client", err)
}
