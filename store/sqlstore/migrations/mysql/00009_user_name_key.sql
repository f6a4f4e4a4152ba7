-- +goose Up

-- The lower-cased display name user searches match, written by the store
-- as on the other engines; binary like username_key, so LIKE compares
-- what Go lower-cased, not what a collation folds.
ALTER TABLE users ADD COLUMN name_key BLOB NOT NULL DEFAULT ('');
UPDATE users SET name_key = LOWER(CONVERT(name USING utf8mb4));

-- +goose Down
ALTER TABLE users DROP COLUMN name_key;
