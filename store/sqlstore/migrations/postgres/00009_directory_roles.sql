-- +goose Up

-- Same conventions as 00001. The directory roles users hold in their
-- tenant (Entra's: Global Administrator, Application Administrator, …),
-- which decide what a user may do through the admin API and the portal.
-- Read on each such call and never cached, so no trigger notifies the
-- directory channel. A user's roles go with the user.
CREATE TABLE directory_roles (
    tenant_id  text NOT NULL,
    user_id    text NOT NULL,
    role       text NOT NULL,
    created_at timestamptz,
    PRIMARY KEY (tenant_id, user_id, role),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE directory_roles;
