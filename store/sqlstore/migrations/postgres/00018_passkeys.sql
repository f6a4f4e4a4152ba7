-- +goose Up

-- Same conventions as 00001. The passkeys (WebAuthn credentials) users
-- register, looked up by credential id when an assertion names one. The
-- credential record is opaque here (package passkey encodes it); the sign
-- count is a column so that a use is a compare-and-swap on it. Read on
-- sign-in and never cached, so no trigger notifies the directory channel.
-- A user's passkeys go with the user.
CREATE TABLE passkeys (
    tenant_id    text        NOT NULL,
    id           text        NOT NULL,
    user_id      text        NOT NULL,
    name         text        NOT NULL,
    credential   bytea       NOT NULL,
    sign_count   bigint      NOT NULL,
    created_at   timestamptz,
    last_used_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX passkeys_user ON passkeys (tenant_id, user_id);

-- +goose Down
DROP TABLE passkeys;
