-- +goose Up

-- Same conventions as 00001. The passkeys (WebAuthn credentials) users
-- register, looked up by credential id when an assertion names one. The
-- credential record is opaque here (package passkey encodes it); the sign
-- count is a column so that a use is a compare-and-swap on it. A user's
-- passkeys go with the user.
CREATE TABLE passkeys (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    credential   BLOB    NOT NULL,
    sign_count   INTEGER NOT NULL,
    created_at   INTEGER,
    last_used_at INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX passkeys_user ON passkeys (tenant_id, user_id);

-- +goose Down
DROP TABLE passkeys;
