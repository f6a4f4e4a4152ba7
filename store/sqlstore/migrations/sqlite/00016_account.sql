-- +goose Up

-- The account page lists the consents a user gave, to any app; deleting
-- a user removes them. Without this each is a scan of every consent of the
-- tenant (the primary key leads with the client). A user's sessions have
-- their index already (sessions_user).
CREATE INDEX consents_principal ON consents (tenant_id, principal_id);

-- +goose Down
DROP INDEX consents_principal;
