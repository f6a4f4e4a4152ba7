-- +goose Up

-- The PostgreSQL schema of the store, the same rows as the SQLite backend's
-- migrations 00001 and 00002 together (this backend started after both).
--
-- Conventions: every row carries its tenant and every lookup is keyed by
-- (tenant_id, ...), so the tables can later be partitioned or sharded by
-- tenant without changing a query. Times are timestamptz, written at
-- millisecond precision, NULL when unset. Durations are bigint milliseconds.
-- Lists of strings are text[], structured values jsonb with field names of
-- their own (see columns.go). Secrets appear only as SHA-256 hashes (bytea)
-- or sealed keys.
--
-- Objects are created unqualified: Open sets search_path to the configured
-- schema, so one database can hold several isolated stores.
--
-- Rows that live minutes to days (auth requests, sessions, codes, refresh
-- families and tokens) have no foreign key to the tenant: they are written on
-- every sign-in and token response, and are collected by expiry instead. Each
-- of them has an index on expires_at for that collection.

CREATE TABLE tenants (
    id          text        NOT NULL PRIMARY KEY,
    name        text        NOT NULL UNIQUE,
    signing_alg text        NOT NULL,
    created_at  timestamptz
);

CREATE TABLE apps (
    tenant_id                      text        NOT NULL REFERENCES tenants (id),
    client_id                      text        NOT NULL,
    name                           text        NOT NULL,
    public                         boolean     NOT NULL,
    redirect_uris                  text[]      NOT NULL,
    identifier_uri                 text        NOT NULL,
    scopes                         text[]      NOT NULL,
    roles                          text[]      NOT NULL,
    permissions                    jsonb       NOT NULL,
    service_principal_id           text        NOT NULL,
    allow_plain_pkce               boolean     NOT NULL,
    access_token_lifetime_ms       bigint      NOT NULL,
    refresh_token_lifetime_ms      bigint      NOT NULL,
    refresh_token_idle_lifetime_ms bigint      NOT NULL,
    post_logout_redirect_uris      text[]      NOT NULL,
    logout_keeps_refresh_tokens    boolean     NOT NULL,
    created_at                     timestamptz,
    updated_at                     timestamptz,
    PRIMARY KEY (tenant_id, client_id)
);

-- An app that exposes no API has no identifier URI; only real ones must be
-- unique.
CREATE UNIQUE INDEX apps_identifier_uri ON apps (tenant_id, identifier_uri)
    WHERE identifier_uri <> '';

CREATE TABLE client_secrets (
    tenant_id   text        NOT NULL,
    client_id   text        NOT NULL,
    id          text        NOT NULL,
    description text        NOT NULL,
    hint        text        NOT NULL,
    hash        bytea       NOT NULL,
    expires_at  timestamptz,
    created_at  timestamptz,
    PRIMARY KEY (tenant_id, client_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES apps (tenant_id, client_id) ON DELETE CASCADE
);

-- Keys an app signs client assertions with (private_key_jwt). Configuration,
-- like client secrets: it belongs to the app and goes with it.
CREATE TABLE app_credentials (
    tenant_id         text        NOT NULL,
    client_id         text        NOT NULL,
    id                text        NOT NULL,
    kind              text        NOT NULL CHECK (kind IN ('certificate', 'jwk')),
    description       text        NOT NULL,
    public_key        bytea       NOT NULL,
    sha1_thumbprint   bytea,
    sha256_thumbprint bytea,
    expires_at        timestamptz,
    created_at        timestamptz,
    PRIMARY KEY (tenant_id, client_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES apps (tenant_id, client_id) ON DELETE CASCADE
);

CREATE TABLE users (
    tenant_id     text        NOT NULL REFERENCES tenants (id),
    id            text        NOT NULL,
    username      text        NOT NULL,
    -- Lower-cased by the store in Go, as the SQLite backend does: lower()
    -- here would depend on the database's collation provider and locale,
    -- and two backends must agree on which usernames are the same.
    username_key  text        NOT NULL,
    email         text        NOT NULL,
    name          text        NOT NULL,
    password_hash text        NOT NULL,
    disabled      boolean     NOT NULL,
    created_at    timestamptz,
    updated_at    timestamptz,
    PRIMARY KEY (tenant_id, id)
);

CREATE UNIQUE INDEX users_username ON users (tenant_id, username_key);

-- principal_id '' is a tenant-wide grant by an admin.
CREATE TABLE consents (
    tenant_id    text        NOT NULL,
    client_id    text        NOT NULL,
    principal_id text        NOT NULL,
    resource_id  text        NOT NULL,
    kind         text        NOT NULL,
    value        text        NOT NULL,
    created_at   timestamptz,
    PRIMARY KEY (tenant_id, client_id, principal_id, resource_id, kind, value),
    FOREIGN KEY (tenant_id, client_id) REFERENCES apps (tenant_id, client_id) ON DELETE CASCADE
);

CREATE TABLE signing_keys (
    tenant_id   text        NOT NULL REFERENCES tenants (id),
    id          text        NOT NULL,
    alg         text        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('next', 'active', 'retired')),
    private_key bytea       NOT NULL,
    public_jwk  bytea       NOT NULL,
    created_at  timestamptz,
    expires_at  timestamptz,
    PRIMARY KEY (tenant_id, id)
);

-- At most one next and one active key per tenant: a rotation job that runs
-- twice, or on two instances at once, fails instead of leaving two keys that
-- both think they sign.
CREATE UNIQUE INDEX signing_keys_current ON signing_keys (tenant_id, status)
    WHERE status <> 'retired';

CREATE TABLE auth_requests (
    tenant_id    text        NOT NULL,
    id           text        NOT NULL,
    client_id    text        NOT NULL,
    params       bytea,
    browser_hash bytea,
    csrf         text        NOT NULL,
    user_id      text        NOT NULL,
    session_id   text        NOT NULL,
    auth_time    timestamptz,
    created_at   timestamptz,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX auth_requests_expires_at ON auth_requests (expires_at);

CREATE TABLE sessions (
    tenant_id  text        NOT NULL,
    hash       bytea       NOT NULL,
    id         text        NOT NULL,
    user_id    text        NOT NULL,
    auth_time  timestamptz,
    created_at timestamptz,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, hash)
);

CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE auth_codes (
    tenant_id               text        NOT NULL,
    hash                    bytea       NOT NULL,
    client_id               text        NOT NULL,
    user_id                 text        NOT NULL,
    session_id              text        NOT NULL,
    redirect_uri            text        NOT NULL,
    grant_json              jsonb       NOT NULL,
    nonce                   text        NOT NULL,
    code_challenge          text        NOT NULL,
    code_challenge_method   text        NOT NULL,
    auth_time               timestamptz,
    created_at              timestamptz,
    expires_at              timestamptz NOT NULL,
    used_at                 timestamptz,
    -- Not a foreign key: the family outlives the code by far, and is looked
    -- up from here only to revoke it when a used code comes back.
    family_id               text        NOT NULL,
    -- The access token issued from the code, so that a replayed code can
    -- revoke it as well as its refresh family.
    access_token_id         text        NOT NULL,
    access_token_expires_at timestamptz,
    PRIMARY KEY (tenant_id, hash)
);

CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);

CREATE TABLE refresh_families (
    tenant_id  text        NOT NULL,
    id         text        NOT NULL,
    client_id  text        NOT NULL,
    user_id    text        NOT NULL,
    session_id text        NOT NULL,
    auth_time  timestamptz,
    created_at timestamptz,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX refresh_families_user ON refresh_families (tenant_id, user_id, client_id);
-- Sign-out revokes the families started in the session that ends.
CREATE INDEX refresh_families_session ON refresh_families (tenant_id, session_id);
CREATE INDEX refresh_families_expires_at ON refresh_families (expires_at);

CREATE TABLE refresh_tokens (
    tenant_id   text        NOT NULL,
    hash        bytea       NOT NULL,
    family_id   text        NOT NULL,
    parent_hash bytea,
    generation  integer     NOT NULL,
    grant_json  jsonb       NOT NULL,
    created_at  timestamptz,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    PRIMARY KEY (tenant_id, hash),
    FOREIGN KEY (tenant_id, family_id) REFERENCES refresh_families (tenant_id, id) ON DELETE CASCADE
);

-- Also what makes the cascade from a collected family an index probe rather
-- than a scan of every token.
CREATE INDEX refresh_tokens_family ON refresh_tokens (tenant_id, family_id);
-- A parent has at most one successor: the conditional update in rotation
-- already guarantees it, this turns a future bug into an error instead of a
-- forked chain.
CREATE UNIQUE INDEX refresh_tokens_parent ON refresh_tokens (tenant_id, parent_hash)
    WHERE parent_hash IS NOT NULL;
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- RFC 8628 device authorizations. No foreign key, like the other short-lived
-- rows: collected by expiry.
CREATE TABLE device_codes (
    tenant_id    text        NOT NULL,
    hash         bytea       NOT NULL,
    client_id    text        NOT NULL,
    user_code    text        NOT NULL,
    grant_json   jsonb       NOT NULL,
    status       text        NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    user_id      text        NOT NULL,
    session_id   text        NOT NULL,
    auth_time    timestamptz,
    interval_ms  bigint      NOT NULL,
    created_at   timestamptz,
    expires_at   timestamptz NOT NULL,
    last_poll_at timestamptz,
    used_at      timestamptz,
    PRIMARY KEY (tenant_id, hash)
);

-- Unique over every row until it is collected, not only pending ones: a user
-- code must never name two authorizations, or typing it could approve a
-- device other than the one on the user's screen.
CREATE UNIQUE INDEX device_codes_user_code ON device_codes (tenant_id, user_code);
CREATE INDEX device_codes_expires_at ON device_codes (expires_at);

-- The jti of every client assertion accepted, until it expires: a second
-- use is a replay (RFC 7523 section 3).
CREATE TABLE assertion_ids (
    tenant_id  text        NOT NULL,
    client_id  text        NOT NULL,
    jti        text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, client_id, jti)
);

CREATE INDEX assertion_ids_expires_at ON assertion_ids (expires_at);

-- Access tokens are JWTs checked without the store; the ones revoked before
-- they expire are listed here for introspection and userinfo.
CREATE TABLE revoked_access_tokens (
    tenant_id  text        NOT NULL,
    jti        text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, jti)
);

CREATE INDEX revoked_access_tokens_expires_at ON revoked_access_tokens (expires_at);

-- One fixed-window counter per key. The key is opaque and names the tenant
-- when there is one; some limits apply before a tenant is known (per client
-- address), so there is no tenant_id column.
CREATE TABLE rate_limits (
    key          text        NOT NULL PRIMARY KEY,
    window_start timestamptz NOT NULL,
    count        integer     NOT NULL,
    expires_at   timestamptz NOT NULL
);

CREATE INDEX rate_limits_expires_at ON rate_limits (expires_at);

-- +goose Down
DROP TABLE rate_limits;
DROP TABLE revoked_access_tokens;
DROP TABLE assertion_ids;
DROP TABLE device_codes;
DROP TABLE refresh_tokens;
DROP TABLE refresh_families;
DROP TABLE auth_codes;
DROP TABLE sessions;
DROP TABLE auth_requests;
DROP TABLE signing_keys;
DROP TABLE consents;
DROP TABLE users;
DROP TABLE app_credentials;
DROP TABLE client_secrets;
DROP TABLE apps;
DROP TABLE tenants;
