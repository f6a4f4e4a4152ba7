-- +goose Up

-- Conventions: every row carries its tenant and every lookup is keyed by
-- (tenant_id, ...), so the data can later be split by tenant without changing
-- a query. Times are unix milliseconds, NULL when unset. Lists are JSON text.
-- Secrets appear only as SHA-256 hashes (BLOB) or sealed keys.
--
-- Rows that live minutes to days (auth requests, sessions, codes, refresh
-- families and tokens) have no foreign key to the tenant: they are written on
-- every sign-in and token response, and are collected by expiry instead.

CREATE TABLE tenants (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    signing_alg TEXT    NOT NULL,
    created_at  INTEGER
) STRICT;

CREATE TABLE apps (
    tenant_id                      TEXT    NOT NULL REFERENCES tenants (id),
    client_id                      TEXT    NOT NULL,
    name                           TEXT    NOT NULL,
    public                         INTEGER NOT NULL,
    redirect_uris                  TEXT    NOT NULL,
    identifier_uri                 TEXT    NOT NULL,
    scopes                         TEXT    NOT NULL,
    roles                          TEXT    NOT NULL,
    permissions                    TEXT    NOT NULL,
    service_principal_id           TEXT    NOT NULL,
    allow_plain_pkce               INTEGER NOT NULL,
    access_token_lifetime_ms       INTEGER NOT NULL,
    refresh_token_lifetime_ms      INTEGER NOT NULL,
    refresh_token_idle_lifetime_ms INTEGER NOT NULL,
    created_at                     INTEGER,
    updated_at                     INTEGER,
    PRIMARY KEY (tenant_id, client_id)
) STRICT;

-- An app that exposes no API has no identifier URI; only real ones must be
-- unique.
CREATE UNIQUE INDEX apps_identifier_uri ON apps (tenant_id, identifier_uri)
    WHERE identifier_uri <> '';

CREATE TABLE client_secrets (
    tenant_id   TEXT    NOT NULL,
    client_id   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    description TEXT    NOT NULL,
    hint        TEXT    NOT NULL,
    hash        BLOB    NOT NULL,
    expires_at  INTEGER,
    created_at  INTEGER,
    PRIMARY KEY (tenant_id, client_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES apps (tenant_id, client_id) ON DELETE CASCADE
) STRICT;

CREATE TABLE users (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id),
    id            TEXT    NOT NULL,
    username      TEXT    NOT NULL,
    -- Lower-cased by the store in Go: SQLite's lower() folds ASCII only, which
    -- would let "Ölaf" and "ölaf" become two accounts.
    username_key  TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL,
    created_at    INTEGER,
    updated_at    INTEGER,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE UNIQUE INDEX users_username ON users (tenant_id, username_key);

-- principal_id '' is a tenant-wide grant by an admin.
CREATE TABLE consents (
    tenant_id    TEXT    NOT NULL,
    client_id    TEXT    NOT NULL,
    principal_id TEXT    NOT NULL,
    resource_id  TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    value        TEXT    NOT NULL,
    created_at   INTEGER,
    PRIMARY KEY (tenant_id, client_id, principal_id, resource_id, kind, value),
    FOREIGN KEY (tenant_id, client_id) REFERENCES apps (tenant_id, client_id) ON DELETE CASCADE
) STRICT;

CREATE TABLE signing_keys (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    id          TEXT    NOT NULL,
    alg         TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('next', 'active', 'retired')),
    private_key BLOB    NOT NULL,
    public_jwk  BLOB    NOT NULL,
    created_at  INTEGER,
    expires_at  INTEGER,
    PRIMARY KEY (tenant_id, id)
) STRICT;

-- At most one next and one active key per tenant: a rotation job that runs
-- twice fails instead of leaving two keys that both think they sign.
CREATE UNIQUE INDEX signing_keys_current ON signing_keys (tenant_id, status)
    WHERE status <> 'retired';

CREATE TABLE auth_requests (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    client_id    TEXT    NOT NULL,
    params       BLOB,
    browser_hash BLOB,
    csrf         TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    session_id   TEXT    NOT NULL,
    auth_time    INTEGER,
    created_at   INTEGER,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE INDEX auth_requests_expires_at ON auth_requests (expires_at);

CREATE TABLE sessions (
    tenant_id  TEXT    NOT NULL,
    hash       BLOB    NOT NULL,
    id         TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    auth_time  INTEGER,
    created_at INTEGER,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, hash)
) STRICT;

CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE auth_codes (
    tenant_id             TEXT    NOT NULL,
    hash                  BLOB    NOT NULL,
    client_id             TEXT    NOT NULL,
    user_id               TEXT    NOT NULL,
    session_id            TEXT    NOT NULL,
    redirect_uri          TEXT    NOT NULL,
    grant_json            TEXT    NOT NULL,
    nonce                 TEXT    NOT NULL,
    code_challenge        TEXT    NOT NULL,
    code_challenge_method TEXT    NOT NULL,
    auth_time             INTEGER,
    created_at            INTEGER,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER,
    -- Not a foreign key: the family outlives the code by far, and is looked
    -- up from here only to revoke it when a used code comes back.
    family_id             TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, hash)
) STRICT;

CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);

CREATE TABLE refresh_families (
    tenant_id  TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    session_id TEXT    NOT NULL,
    auth_time  INTEGER,
    created_at INTEGER,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE INDEX refresh_families_user ON refresh_families (tenant_id, user_id, client_id);
CREATE INDEX refresh_families_expires_at ON refresh_families (expires_at);

CREATE TABLE refresh_tokens (
    tenant_id   TEXT    NOT NULL,
    hash        BLOB    NOT NULL,
    family_id   TEXT    NOT NULL,
    parent_hash BLOB,
    generation  INTEGER NOT NULL,
    grant_json  TEXT    NOT NULL,
    created_at  INTEGER,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    PRIMARY KEY (tenant_id, hash),
    FOREIGN KEY (tenant_id, family_id) REFERENCES refresh_families (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX refresh_tokens_family ON refresh_tokens (tenant_id, family_id);
-- A parent has at most one successor: the conditional update in rotation
-- already guarantees it, this turns a future bug into an error instead of a
-- forked chain.
CREATE UNIQUE INDEX refresh_tokens_parent ON refresh_tokens (tenant_id, parent_hash)
    WHERE parent_hash IS NOT NULL;
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- +goose Down
DROP TABLE refresh_tokens;
DROP TABLE refresh_families;
DROP TABLE auth_codes;
DROP TABLE sessions;
DROP TABLE auth_requests;
DROP TABLE signing_keys;
DROP TABLE consents;
DROP TABLE users;
DROP TABLE client_secrets;
DROP TABLE apps;
DROP TABLE tenants;
