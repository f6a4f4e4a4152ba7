-- +goose Up
-- OpenID Connect Front-Channel Logout 1.0: where an app clears its own
-- session when the user signs out here ('' for none), and, per SSO
-- session, the apps with such a URL that received a code or a device
-- approval through it: the ones to notify when it ends. Only apps with a
-- URL are recorded, so a sign-in to any other app writes nothing more.
-- BLOBs, as the other text and list columns (JSON text), keep the row
-- small; their defaults are expressions, as MySQL 8 asks of a BLOB.
ALTER TABLE apps ADD COLUMN frontchannel_logout_uri BLOB NOT NULL DEFAULT ('');
ALTER TABLE sessions ADD COLUMN frontchannel_clients BLOB NOT NULL DEFAULT ('[]');

-- +goose Down
ALTER TABLE sessions DROP COLUMN frontchannel_clients;
ALTER TABLE apps DROP COLUMN frontchannel_logout_uri;
