-- +goose Up

-- Same conventions as 00001. Security groups, their members (users and
-- groups; the store resolves one level of nesting) and the app roles
-- assigned to users and groups (Entra's appRoleAssignments), which user
-- tokens carry as roles and an app that requires assignment checks at
-- sign-in. Read on the token paths that need them, never cached, so no
-- trigger notifies the directory channel.
CREATE TABLE directory_groups (
    tenant_id   text NOT NULL REFERENCES tenants (id),
    id          text NOT NULL,
    name        text NOT NULL,
    -- Lower-cased in Go, as users' name_key: lists are ordered and searched by it.
    name_key    text NOT NULL,
    description text NOT NULL,
    created_at  timestamptz,
    updated_at  timestamptz,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX directory_groups_name ON directory_groups (tenant_id, name_key, id);

-- member_type is 'user' or 'group'. A member has no foreign key (it is a
-- row of either table): the store deletes a user's or group's
-- memberships with it.
CREATE TABLE group_members (
    tenant_id   text NOT NULL,
    group_id    text NOT NULL,
    member_id   text NOT NULL,
    member_type text NOT NULL CHECK (member_type IN ('user', 'group')),
    created_at  timestamptz,
    PRIMARY KEY (tenant_id, group_id, member_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES directory_groups (tenant_id, id) ON DELETE CASCADE
);

-- A principal's groups, the lookup every token with roles or groups makes.
CREATE INDEX group_members_member ON group_members (tenant_id, member_id);

-- resource_id is the client id of the app whose role (app_role, its
-- value) is assigned; principal_type as member_type above.
CREATE TABLE app_role_assignments (
    tenant_id      text NOT NULL,
    id             text NOT NULL,
    principal_id   text NOT NULL,
    principal_type text NOT NULL CHECK (principal_type IN ('user', 'group')),
    resource_id    text NOT NULL,
    app_role       text NOT NULL,
    created_at     timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, resource_id) REFERENCES apps (tenant_id, client_id) ON DELETE CASCADE
);

CREATE UNIQUE INDEX app_role_assignments_principal ON app_role_assignments (tenant_id, principal_id, resource_id, app_role);
CREATE INDEX app_role_assignments_resource ON app_role_assignments (tenant_id, resource_id);

-- Graph's appRoleAssignmentRequired and groupMembershipClaims ('' is None).
ALTER TABLE apps ADD COLUMN app_role_assignment_required boolean NOT NULL DEFAULT false;
ALTER TABLE apps ADD COLUMN group_membership_claims text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE apps DROP COLUMN group_membership_claims;
ALTER TABLE apps DROP COLUMN app_role_assignment_required;
DROP TABLE app_role_assignments;
DROP TABLE group_members;
DROP TABLE directory_groups;
