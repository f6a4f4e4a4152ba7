-- +goose Up

-- Same conventions as 00001. A tenant's audit log: every change to its
-- directory (whichever door it came through) and every sign-in event, in
-- one append-only table. No foreign key to the tenant, so that the record
-- of a deletion outlives what was deleted; collected by expiry, which each
-- entry gets from the retention in force when it was written. No trigger
-- moves the directory version: an entry changes nothing a cache holds.
CREATE TABLE audit_log (
    tenant_id     VARBINARY(255) NOT NULL,
    id            VARBINARY(255) NOT NULL,
    kind          VARBINARY(32)  NOT NULL,
    created_at    DATETIME(3)    NOT NULL,
    category      VARBINARY(255) NOT NULL,
    activity      VARBINARY(255) NOT NULL,
    result        VARBINARY(32)  NOT NULL,
    reason        BLOB           NOT NULL,
    actor_type    VARBINARY(32)  NOT NULL,
    actor_id      VARBINARY(255) NOT NULL,
    actor_name    BLOB           NOT NULL,
    actor_address BLOB           NOT NULL,
    target_type   VARBINARY(64)  NOT NULL,
    target_id     VARBINARY(255) NOT NULL,
    target_name   BLOB           NOT NULL,
    changes       BLOB           NOT NULL,
    expires_at    DATETIME(3)    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    -- Pages of one log, newest first, resumed from a (time, id) cursor.
    KEY audit_log_page (tenant_id, kind, created_at, id),
    KEY audit_log_expires_at (expires_at)
) ENGINE = InnoDB;

-- A user's SSO sessions, for ending them all when an administrator
-- revokes the user's sessions or deletes the user.
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);

-- +goose Down
DROP INDEX sessions_user ON sessions;
DROP TABLE audit_log;
