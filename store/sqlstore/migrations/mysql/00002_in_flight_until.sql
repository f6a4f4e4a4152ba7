-- +goose Up
-- Attempts in flight count on a throttle only until then: one whose
-- request died before it settled (a cancelled request, a crashed instance)
-- must not hold the key's room for the rest of its history.
ALTER TABLE throttles ADD COLUMN in_flight_until DATETIME(3);

-- +goose Down
ALTER TABLE throttles DROP COLUMN in_flight_until;
