-- +goose Up

-- Second factors. One table for every kind (TOTP now, passkeys next):
-- what every kind has (owner, kind, name, when enrolled and last used,
-- a replay counter only ever raised) are columns, what one kind alone has
-- travels in secret (sealed under the master key by package oauth) and
-- data (kind-specific JSON). A user's factors are read by (tenant, user)
-- on each sign-in of a user who has one; a factor is addressed by id.
CREATE TABLE factors (
    tenant_id    VARBINARY(255) NOT NULL,
    id           VARBINARY(255) NOT NULL,
    user_id      VARBINARY(255) NOT NULL,
    kind         VARBINARY(255) NOT NULL,
    name         VARBINARY(1024) NOT NULL DEFAULT '',
    secret       BLOB,
    data         BLOB,
    counter      BIGINT      NOT NULL DEFAULT 0,
    created_at   DATETIME(3),
    last_used_at DATETIME(3),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE INDEX factors_user ON factors (tenant_id, user_id);

-- Recovery codes: only their hashes; spending one deletes its row.
CREATE TABLE recovery_codes (
    tenant_id  VARBINARY(255) NOT NULL,
    user_id    VARBINARY(255) NOT NULL,
    hash       VARBINARY(64)  NOT NULL,
    created_at DATETIME(3),
    PRIMARY KEY (tenant_id, user_id, hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) ENGINE = InnoDB;

-- Who must use a second factor: '' (optional), 'admins' or 'everyone'.
ALTER TABLE tenants ADD COLUMN mfa_policy VARBINARY(255) NOT NULL DEFAULT '';

-- How a session was signed in (RFC 8176 values, space-separated), and
-- what it issued carries the same: codes, device approvals and refresh
-- families (whose every token keeps the values of the sign-in).
ALTER TABLE sessions ADD COLUMN amr VARBINARY(255) NOT NULL DEFAULT 'pwd';
ALTER TABLE auth_codes ADD COLUMN amr VARBINARY(255) NOT NULL DEFAULT 'pwd';
ALTER TABLE device_codes ADD COLUMN amr VARBINARY(255) NOT NULL DEFAULT '';
ALTER TABLE refresh_families ADD COLUMN amr VARBINARY(255) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE refresh_families DROP COLUMN amr;
ALTER TABLE device_codes DROP COLUMN amr;
ALTER TABLE auth_codes DROP COLUMN amr;
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE tenants DROP COLUMN mfa_policy;
DROP TABLE recovery_codes;
DROP TABLE factors;
