-- +goose Up

-- Same conventions as 00001. The directory roles users hold in their
-- tenant (Entra's: Global Administrator, Application Administrator, …),
-- which decide what a user may do through the admin API and the portal.
-- Read on each such call and never cached, so no trigger moves the
-- directory version. A user's roles go with the user.
CREATE TABLE directory_roles (
    tenant_id  TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    created_at INTEGER,
    PRIMARY KEY (tenant_id, user_id, role),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

-- +goose Down
DROP TABLE directory_roles;
