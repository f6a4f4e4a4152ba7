-- +goose Up

-- Entra's "Allow public client flows": a confidential app may use the
-- device code flow without its credentials.
ALTER TABLE apps ADD COLUMN allow_public_client_flows INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE apps DROP COLUMN allow_public_client_flows;
