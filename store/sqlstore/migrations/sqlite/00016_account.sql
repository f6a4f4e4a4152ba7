-- +goose Up

-- The account page lists a user's sessions and the consents they gave,
-- and ends them by user; deleting a user does too. Without these, each
-- is a scan of the tenant's sessions or of every consent.
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);
CREATE INDEX consents_principal ON consents (tenant_id, principal_id);

-- +goose Down
DROP INDEX consents_principal;
DROP INDEX sessions_user;
