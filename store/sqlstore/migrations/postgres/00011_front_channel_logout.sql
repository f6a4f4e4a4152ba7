-- +goose Up
-- OpenID Connect Front-Channel Logout 1.0: where an app clears its own
-- session when the user signs out here ('' for none), and, per SSO
-- session, the apps with such a URL that received a code or a device
-- approval through it: the ones to notify when it ends. Only apps with a
-- URL are recorded, so a sign-in to any other app writes nothing more.
ALTER TABLE apps ADD COLUMN frontchannel_logout_uri text NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN frontchannel_clients text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE sessions DROP COLUMN frontchannel_clients;
ALTER TABLE apps DROP COLUMN frontchannel_logout_uri;
