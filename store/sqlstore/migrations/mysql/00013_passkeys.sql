-- +goose Up

-- Same conventions as 00001. The passkeys (WebAuthn credentials) users
-- register, looked up by credential id when an assertion names one (at
-- most 1,023 bytes, 1,364 in base64url). The credential record is opaque
-- here (package passkey encodes it); the sign count is a column so that a
-- use is a compare-and-swap on it. Read on sign-in and never cached. A
-- user's passkeys go with the user.
CREATE TABLE passkeys (
    tenant_id    VARBINARY(255)  NOT NULL,
    id           VARBINARY(1400) NOT NULL,
    user_id      VARBINARY(255)  NOT NULL,
    name         BLOB            NOT NULL,
    credential   BLOB            NOT NULL,
    sign_count   BIGINT          NOT NULL,
    created_at   DATETIME(3),
    last_used_at DATETIME(3),
    PRIMARY KEY (tenant_id, id),
    INDEX passkeys_user (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) ENGINE = InnoDB;

-- +goose Down
DROP TABLE passkeys;
