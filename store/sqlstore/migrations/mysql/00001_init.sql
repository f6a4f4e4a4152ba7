-- +goose Up

-- The MySQL and MariaDB schema of the store: the same rows as the SQLite
-- and PostgreSQL migrations up to their latest (this engine started after
-- them all), with PostgreSQL's master key check and SQLite's directory
-- version.
--
-- Conventions: every row carries its tenant and every lookup is keyed by
-- (tenant_id, ...), as on the other engines. Strings are VARBINARY (keys
-- and whatever is compared) or BLOB: compared and ordered byte for byte, as
-- SQLite and PostgreSQL compare them, whatever the server's collation. The
-- default collations ignore case and trailing spaces, which would make
-- "Web" and "web " one client id; and bytes take any value a lookup may
-- bring, where a utf8mb4 column refuses invalid UTF-8. Key lengths keep
-- every index under InnoDB's 3072 bytes. Times are DATETIME(3) in UTC (the
-- store sets the session's time_zone), NULL when unset. Durations are
-- BIGINT milliseconds. Lists of strings and structured values are JSON
-- text, with the field names the other engines use. Secrets appear only as
-- SHA-256 hashes or sealed keys.
--
-- MySQL has no partial index: where the other engines index only some
-- rows (WHERE identifier_uri <> '', WHERE status <> 'retired'), a stored
-- generated column is NULL for the rows left out, and NULLs never collide
-- in a unique index.
--
-- Rows that live minutes to days (sessions, codes, refresh families and
-- tokens, device codes) have no foreign key to the tenant: they are written
-- on every sign-in and token response, and are collected by expiry
-- instead, through an index on expires_at.

CREATE TABLE tenants (
    id                        VARBINARY(255) NOT NULL PRIMARY KEY,
    name                      VARBINARY(255) NOT NULL UNIQUE,
    signing_alg               VARBINARY(32)  NOT NULL,
    created_at                DATETIME(3),
    lockout_threshold         INT            NOT NULL DEFAULT 0,
    lockout_duration_ms       BIGINT         NOT NULL DEFAULT 0,
    lockout_max_duration_ms   BIGINT         NOT NULL DEFAULT 0,
    lockout_reset_after_ms    BIGINT         NOT NULL DEFAULT 0,
    lockout_address_threshold INT            NOT NULL DEFAULT 0,
    lockout_request_attempts  INT            NOT NULL DEFAULT 0
) ENGINE = InnoDB;

CREATE TABLE apps (
    tenant_id                      VARBINARY(255)  NOT NULL,
    client_id                      VARBINARY(255)  NOT NULL,
    name                           BLOB            NOT NULL,
    public                         BOOLEAN         NOT NULL,
    redirect_uris                  BLOB            NOT NULL,
    identifier_uri                 VARBINARY(1024) NOT NULL,
    scopes                         BLOB            NOT NULL,
    roles                          BLOB            NOT NULL,
    permissions                    BLOB            NOT NULL,
    service_principal_id           VARBINARY(255)  NOT NULL,
    allow_plain_pkce               BOOLEAN         NOT NULL,
    access_token_lifetime_ms       BIGINT          NOT NULL,
    refresh_token_lifetime_ms      BIGINT          NOT NULL,
    refresh_token_idle_lifetime_ms BIGINT          NOT NULL,
    post_logout_redirect_uris      BLOB            NOT NULL,
    logout_keeps_refresh_tokens    BOOLEAN         NOT NULL,
    created_at                     DATETIME(3),
    updated_at                     DATETIME(3),
    -- An app that exposes no API has no identifier URI; only real ones
    -- must be unique.
    identifier_uri_key             VARBINARY(1024) AS (NULLIF(identifier_uri, '')) STORED,
    PRIMARY KEY (tenant_id, client_id),
    UNIQUE KEY apps_identifier_uri (tenant_id, identifier_uri_key),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE = InnoDB;

CREATE TABLE client_secrets (
    tenant_id   VARBINARY(255) NOT NULL,
    client_id   VARBINARY(255) NOT NULL,
    id          VARBINARY(255) NOT NULL,
    description BLOB           NOT NULL,
    hint        BLOB           NOT NULL,
    hash        BLOB           NOT NULL,
    expires_at  DATETIME(3),
    created_at  DATETIME(3),
    PRIMARY KEY (tenant_id, client_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES apps (tenant_id, client_id) ON DELETE CASCADE
) ENGINE = InnoDB;

-- Keys an app signs client assertions with (private_key_jwt).
CREATE TABLE app_credentials (
    tenant_id         VARBINARY(255) NOT NULL,
    client_id         VARBINARY(255) NOT NULL,
    id                VARBINARY(255) NOT NULL,
    kind              VARBINARY(16)  NOT NULL CHECK (kind IN ('certificate', 'jwk')),
    description       BLOB           NOT NULL,
    public_key        MEDIUMBLOB     NOT NULL,
    sha1_thumbprint   BLOB,
    sha256_thumbprint BLOB,
    expires_at        DATETIME(3),
    created_at        DATETIME(3),
    PRIMARY KEY (tenant_id, client_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES apps (tenant_id, client_id) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE users (
    tenant_id     VARBINARY(255)  NOT NULL,
    id            VARBINARY(255)  NOT NULL,
    username      BLOB            NOT NULL,
    -- Lower-cased by the store in Go, as on the other engines. Longer than
    -- a username may be: lower-casing can lengthen UTF-8.
    username_key  VARBINARY(1024) NOT NULL,
    email         BLOB            NOT NULL,
    name          BLOB            NOT NULL,
    password_hash BLOB            NOT NULL,
    disabled      BOOLEAN         NOT NULL,
    created_at    DATETIME(3),
    updated_at    DATETIME(3),
    PRIMARY KEY (tenant_id, id),
    UNIQUE KEY users_username (tenant_id, username_key),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE = InnoDB;

-- principal_id '' is a tenant-wide grant by an admin.
CREATE TABLE consents (
    tenant_id    VARBINARY(255)  NOT NULL,
    client_id    VARBINARY(255)  NOT NULL,
    principal_id VARBINARY(255)  NOT NULL,
    resource_id  VARBINARY(255)  NOT NULL,
    kind         VARBINARY(16)   NOT NULL,
    value        VARBINARY(1024) NOT NULL,
    created_at   DATETIME(3),
    PRIMARY KEY (tenant_id, client_id, principal_id, resource_id, kind, value),
    FOREIGN KEY (tenant_id, client_id) REFERENCES apps (tenant_id, client_id) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE signing_keys (
    tenant_id      VARBINARY(255) NOT NULL,
    id             VARBINARY(255) NOT NULL,
    alg            VARBINARY(32)  NOT NULL,
    status         VARBINARY(16)  NOT NULL CHECK (status IN ('next', 'active', 'retired')),
    private_key    BLOB           NOT NULL,
    public_jwk     BLOB           NOT NULL,
    created_at     DATETIME(3),
    expires_at     DATETIME(3),
    -- At most one next and one active key per tenant: a rotation job that
    -- runs twice, or on two instances at once, fails instead of leaving two
    -- keys that both think they sign.
    current_status VARBINARY(16) AS (CASE WHEN status <> 'retired' THEN status END) STORED,
    PRIMARY KEY (tenant_id, id),
    UNIQUE KEY signing_keys_current (tenant_id, current_status),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE = InnoDB;

CREATE TABLE sessions (
    tenant_id  VARBINARY(255) NOT NULL,
    hash       VARBINARY(64)  NOT NULL,
    id         VARBINARY(255) NOT NULL,
    user_id    VARBINARY(255) NOT NULL,
    auth_time  DATETIME(3),
    created_at DATETIME(3),
    expires_at DATETIME(3)    NOT NULL,
    PRIMARY KEY (tenant_id, hash),
    KEY sessions_tenant_id_id (tenant_id, id),
    KEY sessions_expires_at (expires_at)
) ENGINE = InnoDB;

CREATE TABLE auth_codes (
    tenant_id               VARBINARY(255) NOT NULL,
    hash                    VARBINARY(64)  NOT NULL,
    client_id               VARBINARY(255) NOT NULL,
    user_id                 VARBINARY(255) NOT NULL,
    session_id              VARBINARY(255) NOT NULL,
    redirect_uri            BLOB           NOT NULL,
    grant_json              BLOB           NOT NULL,
    nonce                   BLOB           NOT NULL,
    code_challenge          BLOB           NOT NULL,
    code_challenge_method   VARBINARY(16)  NOT NULL,
    auth_time               DATETIME(3),
    created_at              DATETIME(3),
    expires_at              DATETIME(3)    NOT NULL,
    used_at                 DATETIME(3),
    -- Not a foreign key: the family outlives the code by far, and is looked
    -- up from here only to revoke it when a used code comes back.
    family_id               VARBINARY(255) NOT NULL,
    -- The access token issued from the code, so that a replayed code can
    -- revoke it as well as its refresh family.
    access_token_id         VARBINARY(255) NOT NULL,
    access_token_expires_at DATETIME(3),
    PRIMARY KEY (tenant_id, hash),
    KEY auth_codes_expires_at (expires_at)
) ENGINE = InnoDB;

CREATE TABLE refresh_families (
    tenant_id  VARBINARY(255) NOT NULL,
    id         VARBINARY(255) NOT NULL,
    client_id  VARBINARY(255) NOT NULL,
    user_id    VARBINARY(255) NOT NULL,
    session_id VARBINARY(255) NOT NULL,
    auth_time  DATETIME(3),
    created_at DATETIME(3),
    expires_at DATETIME(3)    NOT NULL,
    revoked_at DATETIME(3),
    PRIMARY KEY (tenant_id, id),
    KEY refresh_families_user (tenant_id, user_id, client_id),
    -- Sign-out revokes the families started in the session that ends.
    KEY refresh_families_session (tenant_id, session_id),
    KEY refresh_families_expires_at (expires_at)
) ENGINE = InnoDB;

CREATE TABLE refresh_tokens (
    tenant_id   VARBINARY(255) NOT NULL,
    hash        VARBINARY(64)  NOT NULL,
    family_id   VARBINARY(255) NOT NULL,
    parent_hash VARBINARY(64),
    generation  INT            NOT NULL,
    grant_json  BLOB           NOT NULL,
    created_at  DATETIME(3),
    expires_at  DATETIME(3)    NOT NULL,
    used_at     DATETIME(3),
    PRIMARY KEY (tenant_id, hash),
    -- Also what makes the cascade from a collected family an index probe.
    KEY refresh_tokens_family (tenant_id, family_id),
    -- A parent has at most one successor: the conditional update in
    -- rotation already guarantees it, this turns a future bug into an error
    -- instead of a forked chain. First tokens (no parent) are NULL, which
    -- never collide.
    UNIQUE KEY refresh_tokens_parent (tenant_id, parent_hash),
    KEY refresh_tokens_expires_at (expires_at),
    FOREIGN KEY (tenant_id, family_id) REFERENCES refresh_families (tenant_id, id) ON DELETE CASCADE
) ENGINE = InnoDB;

-- RFC 8628 device authorizations.
CREATE TABLE device_codes (
    tenant_id    VARBINARY(255) NOT NULL,
    hash         VARBINARY(64)  NOT NULL,
    client_id    VARBINARY(255) NOT NULL,
    user_code    VARBINARY(64)  NOT NULL,
    grant_json   BLOB           NOT NULL,
    status       VARBINARY(16)  NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    user_id      VARBINARY(255) NOT NULL,
    session_id   VARBINARY(255) NOT NULL,
    auth_time    DATETIME(3),
    interval_ms  BIGINT         NOT NULL,
    created_at   DATETIME(3),
    expires_at   DATETIME(3)    NOT NULL,
    last_poll_at DATETIME(3),
    used_at      DATETIME(3),
    PRIMARY KEY (tenant_id, hash),
    -- Unique over every row until it is collected, not only pending ones: a
    -- user code must never name two authorizations.
    UNIQUE KEY device_codes_user_code (tenant_id, user_code),
    KEY device_codes_expires_at (expires_at)
) ENGINE = InnoDB;

-- The jti of every client assertion accepted, until it expires: a second
-- use is a replay (RFC 7523 section 3).
CREATE TABLE assertion_ids (
    tenant_id  VARBINARY(255) NOT NULL,
    client_id  VARBINARY(255) NOT NULL,
    jti        VARBINARY(512) NOT NULL,
    expires_at DATETIME(3)    NOT NULL,
    PRIMARY KEY (tenant_id, client_id, jti),
    KEY assertion_ids_expires_at (expires_at)
) ENGINE = InnoDB;

-- Access tokens revoked before they expire, for introspection and userinfo.
CREATE TABLE revoked_access_tokens (
    tenant_id  VARBINARY(255) NOT NULL,
    jti        VARBINARY(512) NOT NULL,
    expires_at DATETIME(3)    NOT NULL,
    PRIMARY KEY (tenant_id, jti),
    KEY revoked_access_tokens_expires_at (expires_at)
) ENGINE = InnoDB;

-- One fixed-window counter per key; some limits apply before a tenant is
-- known, so there is no tenant_id column. KEY is a reserved word here.
CREATE TABLE rate_limits (
    `key`        VARBINARY(1024) NOT NULL PRIMARY KEY,
    window_start DATETIME(3)     NOT NULL,
    count        INT             NOT NULL,
    expires_at   DATETIME(3)     NOT NULL,
    KEY rate_limits_expires_at (expires_at)
) ENGINE = InnoDB;

-- The failure history of one sign-in key (an account, a source address, a
-- pending sign-in request), written with a compare-and-swap on version.
CREATE TABLE throttles (
    tenant_id    VARBINARY(255)  NOT NULL,
    `key`        VARBINARY(1024) NOT NULL,
    failures     INT             NOT NULL,
    in_flight    INT             NOT NULL,
    lockouts     INT             NOT NULL,
    locked_until DATETIME(3),
    last_failure DATETIME(3),
    expires_at   DATETIME(3)     NOT NULL,
    version      BIGINT          NOT NULL,
    PRIMARY KEY (tenant_id, `key`),
    KEY throttles_expires_at (expires_at)
) ENGINE = InnoDB;

-- A value derived from the master key (never the key itself), recorded by
-- the first process to open the store, so that an instance or admin command
-- started with another key is refused. One row at most.
CREATE TABLE master_key_check (
    id         TINYINT     NOT NULL DEFAULT 1 PRIMARY KEY CHECK (id = 1),
    value      BLOB        NOT NULL,
    created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE = InnoDB;

-- A counter that every change to the directory (what a server caches:
-- tenants, apps, secrets, credentials, users, consents, signing keys)
-- increments, whichever process makes it. Each instance reads it at most
-- every 10 ms, on the request that comes due (MySQL.DirectoryVersion), and
-- drops its in-process cache when it moved. Triggers fire for each row; rows deleted by a foreign key's
-- cascade fire none, and the store deletes no app or tenant.
CREATE TABLE directory_version (
    id      TINYINT NOT NULL PRIMARY KEY CHECK (id = 1),
    version BIGINT  NOT NULL
) ENGINE = InnoDB;
INSERT INTO directory_version (id, version) VALUES (1, 0);

CREATE TRIGGER tenants_ins AFTER INSERT ON tenants FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER tenants_upd AFTER UPDATE ON tenants FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER tenants_del AFTER DELETE ON tenants FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER apps_ins AFTER INSERT ON apps FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER apps_upd AFTER UPDATE ON apps FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER apps_del AFTER DELETE ON apps FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER client_secrets_ins AFTER INSERT ON client_secrets FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER client_secrets_upd AFTER UPDATE ON client_secrets FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER client_secrets_del AFTER DELETE ON client_secrets FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER app_credentials_ins AFTER INSERT ON app_credentials FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER app_credentials_upd AFTER UPDATE ON app_credentials FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER app_credentials_del AFTER DELETE ON app_credentials FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER users_ins AFTER INSERT ON users FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER users_upd AFTER UPDATE ON users FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER users_del AFTER DELETE ON users FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER consents_ins AFTER INSERT ON consents FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER consents_upd AFTER UPDATE ON consents FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER consents_del AFTER DELETE ON consents FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER signing_keys_ins AFTER INSERT ON signing_keys FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER signing_keys_upd AFTER UPDATE ON signing_keys FOR EACH ROW UPDATE directory_version SET version = version + 1;
CREATE TRIGGER signing_keys_del AFTER DELETE ON signing_keys FOR EACH ROW UPDATE directory_version SET version = version + 1;

-- +goose Down
DROP TABLE directory_version, master_key_check, throttles, rate_limits, revoked_access_tokens,
    assertion_ids, device_codes, refresh_tokens, refresh_families, auth_codes, sessions,
    signing_keys, consents, users, app_credentials, client_secrets, apps, tenants;
