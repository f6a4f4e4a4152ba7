-- +goose Up

-- Same conventions as 00001. Sign-in brute-force protection.

-- A tenant's lockout settings; 0 stands for the server's default, so a
-- tenant that never set one follows the defaults as they change. Updating
-- them fires tenants_upd, which moves the directory version, so every
-- process's cached tenant (and so its policy) is refreshed.
ALTER TABLE tenants ADD COLUMN lockout_threshold         INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN lockout_duration_ms       INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN lockout_max_duration_ms   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN lockout_reset_after_ms    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN lockout_address_threshold INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN lockout_request_attempts  INTEGER NOT NULL DEFAULT 0;

-- The failure history of one key (an account, a source address, a pending
-- sign-in request), written with a compare-and-swap on version so that
-- concurrent failures are all counted. No foreign key, like the other
-- short-lived rows: collected by expiry.
CREATE TABLE throttles (
    tenant_id    TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    failures     INTEGER NOT NULL,
    in_flight    INTEGER NOT NULL,
    lockouts     INTEGER NOT NULL,
    locked_until INTEGER,
    last_failure INTEGER,
    expires_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
) STRICT;

CREATE INDEX throttles_expires_at ON throttles (expires_at);

-- +goose Down
DROP TABLE throttles;
ALTER TABLE tenants DROP COLUMN lockout_request_attempts;
ALTER TABLE tenants DROP COLUMN lockout_address_threshold;
ALTER TABLE tenants DROP COLUMN lockout_reset_after_ms;
ALTER TABLE tenants DROP COLUMN lockout_max_duration_ms;
ALTER TABLE tenants DROP COLUMN lockout_duration_ms;
ALTER TABLE tenants DROP COLUMN lockout_threshold;
