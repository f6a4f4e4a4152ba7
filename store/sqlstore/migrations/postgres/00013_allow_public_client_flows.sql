-- +goose Up

-- Entra's "Allow public client flows": a confidential app may use the
-- device code flow without its credentials.
ALTER TABLE apps ADD COLUMN allow_public_client_flows boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE apps DROP COLUMN allow_public_client_flows;
