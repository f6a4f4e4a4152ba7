-- +goose Up

-- An app's Single-page application and (for a confidential app) Mobile
-- and desktop redirect URIs, beside the Web ones of redirect_uris. A
-- public app keeps its Mobile and desktop URIs in redirect_uris, so no
-- row moves.
ALTER TABLE apps ADD COLUMN spa_redirect_uris text[] NOT NULL DEFAULT '{}';
ALTER TABLE apps ADD COLUMN native_redirect_uris text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE apps DROP COLUMN native_redirect_uris;
ALTER TABLE apps DROP COLUMN spa_redirect_uris;
