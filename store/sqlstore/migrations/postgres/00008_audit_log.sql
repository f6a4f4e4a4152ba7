-- +goose Up

-- Same conventions as 00001. A tenant's audit log: every change to its
-- directory (whichever door it came through) and every sign-in event, in
-- one append-only table. No foreign key to the tenant, so that the record
-- of a deletion outlives what was deleted; collected by expiry, which each
-- entry gets from the retention in force when it was written. No trigger
-- notifies the directory channel: an entry changes nothing a cache holds.
CREATE TABLE audit_log (
    tenant_id     text        NOT NULL,
    id            text        NOT NULL,
    kind          text        NOT NULL,
    created_at    timestamptz NOT NULL,
    category      text        NOT NULL,
    activity      text        NOT NULL,
    result        text        NOT NULL,
    reason        text        NOT NULL,
    actor_type    text        NOT NULL,
    actor_id      text        NOT NULL,
    actor_name    text        NOT NULL,
    actor_address text        NOT NULL,
    target_type   text        NOT NULL,
    target_id     text        NOT NULL,
    target_name   text        NOT NULL,
    changes       jsonb       NOT NULL,
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- Pages of one log, newest first, resumed from a (time, id) cursor.
CREATE INDEX audit_log_page ON audit_log (tenant_id, kind, created_at, id);
CREATE INDEX audit_log_expires_at ON audit_log (expires_at);

-- A user's SSO sessions, for ending them all when an administrator
-- revokes the user's sessions or deletes the user.
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);

-- +goose Down
DROP INDEX sessions_user;
DROP TABLE audit_log;
