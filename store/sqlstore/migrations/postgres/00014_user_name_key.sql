-- +goose Up

-- The lower-cased display name user searches match, written by the store
-- as on the other engines.
ALTER TABLE users ADD COLUMN name_key text NOT NULL DEFAULT '';
UPDATE users SET name_key = LOWER(name);

-- +goose Down
ALTER TABLE users DROP COLUMN name_key;
