-- +goose Up

-- Second factors. One table for every kind (TOTP now, passkeys next):
-- what every kind has (owner, kind, name, when enrolled and last used,
-- a replay counter only ever raised) are columns, what one kind alone has
-- travels in secret (sealed under the master key by package oauth) and
-- data (kind-specific JSON). A user's factors are read by (tenant, user)
-- on each sign-in of a user who has one; a factor is addressed by id.
CREATE TABLE factors (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    name         TEXT    NOT NULL DEFAULT '',
    secret       BLOB,
    data         BLOB,
    counter      INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER,
    last_used_at INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX factors_user ON factors (tenant_id, user_id);

-- Recovery codes: only their hashes; spending one deletes its row.
CREATE TABLE recovery_codes (
    tenant_id  TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    hash       BLOB    NOT NULL,
    created_at INTEGER,
    PRIMARY KEY (tenant_id, user_id, hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

-- Who must use a second factor: '' (optional), 'admins' or 'everyone'.
ALTER TABLE tenants ADD COLUMN mfa_policy TEXT NOT NULL DEFAULT '';

-- How a session was signed in (RFC 8176 values, space-separated), and
-- what it issued carries the same: codes, device approvals and refresh
-- families (whose every token keeps the values of the sign-in).
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE auth_codes ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE device_codes ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_families ADD COLUMN amr TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE refresh_families DROP COLUMN amr;
ALTER TABLE device_codes DROP COLUMN amr;
ALTER TABLE auth_codes DROP COLUMN amr;
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE tenants DROP COLUMN mfa_policy;
DROP TABLE recovery_codes;
DROP TABLE factors;
