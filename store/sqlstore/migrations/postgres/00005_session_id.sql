-- +goose Up
-- Sessions are addressed by the hash of their cookie; a code or device code
-- names its session by id, and redeeming it asks whether that session is
-- still live.
CREATE INDEX sessions_tenant_id_id ON sessions (tenant_id, id);

-- +goose Down
DROP INDEX sessions_tenant_id_id;
