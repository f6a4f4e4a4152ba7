-- +goose Up

-- Same conventions as 00001. What an app says about each delegated scope
-- it exposes (who may consent, the consent pages' texts), as a JSON object
-- keyed by scope value. Rows from before read as '{}': users may consent
-- to every scope, and the pages show their generic text.
ALTER TABLE apps ADD COLUMN scope_details TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE apps DROP COLUMN scope_details;
