-- +goose Up
-- A value derived from the master key (never the key itself, nor anything
-- that opens a sealed signing key), recorded by the first process to open
-- the store, so that an instance or admin command started with another key
-- is refused instead of sealing signing keys and deriving refresh-token
-- successors that the other instances cannot use. One row at most.
CREATE TABLE master_key_check (
    id         boolean     NOT NULL PRIMARY KEY DEFAULT true CHECK (id),
    value      bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE master_key_check;
