-- +goose Up

-- The lower-cased display name user searches match, written by the store
-- (SQLite's LOWER folds ASCII letters only). Rows from before have their
-- ASCII letters folded here, the rest at their next change.
ALTER TABLE users ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE users SET name_key = LOWER(name);

-- +goose Down
ALTER TABLE users DROP COLUMN name_key;
