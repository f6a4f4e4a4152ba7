-- +goose Up

-- Same conventions as 00001. Sign-in brute-force protection.

-- A tenant's lockout settings; 0 stands for the server's default, so a
-- tenant that never set one follows the defaults as they change. Updating
-- them fires tenants_changed, which tells every instance to flush its
-- cached tenant (and so its policy).
ALTER TABLE tenants ADD COLUMN lockout_threshold         integer NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN lockout_duration_ms       bigint  NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN lockout_max_duration_ms   bigint  NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN lockout_reset_after_ms    bigint  NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN lockout_address_threshold integer NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN lockout_request_attempts  integer NOT NULL DEFAULT 0;

-- The failure history of one key (an account, a source address, a pending
-- sign-in request), shared by every instance and written with a
-- compare-and-swap on version so that concurrent failures are all counted.
-- No foreign key, like the other short-lived rows: collected by expiry.
CREATE TABLE throttles (
    tenant_id    text        NOT NULL,
    key          text        NOT NULL,
    failures     integer     NOT NULL,
    in_flight    integer     NOT NULL,
    lockouts     integer     NOT NULL,
    locked_until timestamptz,
    last_failure timestamptz,
    expires_at   timestamptz NOT NULL,
    version      bigint      NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE INDEX throttles_expires_at ON throttles (expires_at);

-- +goose Down
DROP TABLE throttles;
ALTER TABLE tenants DROP COLUMN lockout_request_attempts;
ALTER TABLE tenants DROP COLUMN lockout_address_threshold;
ALTER TABLE tenants DROP COLUMN lockout_reset_after_ms;
ALTER TABLE tenants DROP COLUMN lockout_max_duration_ms;
ALTER TABLE tenants DROP COLUMN lockout_duration_ms;
ALTER TABLE tenants DROP COLUMN lockout_threshold;
