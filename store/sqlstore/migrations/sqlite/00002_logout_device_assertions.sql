-- +goose Up

-- Same conventions as 00001. Columns added to existing tables carry a
-- default, so that rows written before this migration read back as if
-- written with the zero value.

ALTER TABLE apps ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE apps ADD COLUMN logout_keeps_refresh_tokens INTEGER NOT NULL DEFAULT 0;

-- The access token issued from a code, so that a replayed code can revoke
-- it as well as its refresh family.
ALTER TABLE auth_codes ADD COLUMN access_token_id TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_codes ADD COLUMN access_token_expires_at INTEGER;

-- Sign-out revokes the families started in the session that ends.
CREATE INDEX refresh_families_session ON refresh_families (tenant_id, session_id);

-- RFC 8628 device authorizations. No foreign key, like the other short-lived
-- rows: collected by expiry.
CREATE TABLE device_codes (
    tenant_id    TEXT    NOT NULL,
    hash         BLOB    NOT NULL,
    client_id    TEXT    NOT NULL,
    user_code    TEXT    NOT NULL,
    grant_json   TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    user_id      TEXT    NOT NULL,
    session_id   TEXT    NOT NULL,
    auth_time    INTEGER,
    interval_ms  INTEGER NOT NULL,
    created_at   INTEGER,
    expires_at   INTEGER NOT NULL,
    last_poll_at INTEGER,
    used_at      INTEGER,
    PRIMARY KEY (tenant_id, hash)
) STRICT;

-- Unique over every row until it is collected, not only pending ones: a user
-- code must never name two authorizations, or typing it could approve a
-- device other than the one on the user's screen.
CREATE UNIQUE INDEX device_codes_user_code ON device_codes (tenant_id, user_code);
CREATE INDEX device_codes_expires_at ON device_codes (expires_at);

-- Keys an app signs client assertions with (private_key_jwt). Configuration,
-- like client secrets: it belongs to the app and goes with it.
CREATE TABLE app_credentials (
    tenant_id         TEXT    NOT NULL,
    client_id         TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('certificate', 'jwk')),
    description       TEXT    NOT NULL,
    public_key        BLOB    NOT NULL,
    sha1_thumbprint   BLOB,
    sha256_thumbprint BLOB,
    expires_at        INTEGER,
    created_at        INTEGER,
    PRIMARY KEY (tenant_id, client_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES apps (tenant_id, client_id) ON DELETE CASCADE
) STRICT;

-- The jti of every client assertion accepted, until it expires: a second
-- use is a replay (RFC 7523 section 3).
CREATE TABLE assertion_ids (
    tenant_id  TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    jti        TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, client_id, jti)
) STRICT;

CREATE INDEX assertion_ids_expires_at ON assertion_ids (expires_at);

-- Access tokens are JWTs checked without the store; the ones revoked before
-- they expire are listed here for introspection and userinfo.
CREATE TABLE revoked_access_tokens (
    tenant_id  TEXT    NOT NULL,
    jti        TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, jti)
) STRICT;

CREATE INDEX revoked_access_tokens_expires_at ON revoked_access_tokens (expires_at);

-- One fixed-window counter per key. The key is opaque and names the tenant
-- when there is one; some limits apply before a tenant is known (per client
-- address), so there is no tenant_id column.
CREATE TABLE rate_limits (
    key          TEXT    NOT NULL PRIMARY KEY,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX rate_limits_expires_at ON rate_limits (expires_at);

-- +goose Down
DROP TABLE rate_limits;
DROP TABLE revoked_access_tokens;
DROP TABLE assertion_ids;
DROP TABLE app_credentials;
DROP TABLE device_codes;
DROP INDEX refresh_families_session;
ALTER TABLE auth_codes DROP COLUMN access_token_expires_at;
ALTER TABLE auth_codes DROP COLUMN access_token_id;
ALTER TABLE apps DROP COLUMN logout_keeps_refresh_tokens;
ALTER TABLE apps DROP COLUMN post_logout_redirect_uris;
