-- +goose Up

-- Same conventions as 00001. Security groups, their members (users and
-- groups; the store resolves one level of nesting) and the app roles
-- assigned to users and groups (Entra's appRoleAssignments), which user
-- tokens carry as roles and an app that requires assignment checks at
-- sign-in. Read on the token paths that need them, never cached, so no
-- trigger moves the directory version.
CREATE TABLE directory_groups (
    tenant_id   VARBINARY(255)  NOT NULL,
    id          VARBINARY(255)  NOT NULL,
    name        BLOB            NOT NULL,
    -- Lower-cased in Go, as users' name_key: lists are ordered and
    -- searched by it. Longer than a name may be: lower-casing can
    -- lengthen UTF-8.
    name_key    VARBINARY(1024) NOT NULL,
    description BLOB            NOT NULL,
    created_at  DATETIME(3),
    updated_at  DATETIME(3),
    PRIMARY KEY (tenant_id, id),
    KEY directory_groups_name (tenant_id, name_key, id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE = InnoDB;

-- member_type is 'user' or 'group'. A member has no foreign key (it is a
-- row of either table): the store deletes a user's or group's
-- memberships with it.
CREATE TABLE group_members (
    tenant_id   VARBINARY(255) NOT NULL,
    group_id    VARBINARY(255) NOT NULL,
    member_id   VARBINARY(255) NOT NULL,
    member_type VARBINARY(16)  NOT NULL CHECK (member_type IN ('user', 'group')),
    created_at  DATETIME(3),
    PRIMARY KEY (tenant_id, group_id, member_id),
    -- A principal's groups, the lookup every token with roles or groups makes.
    KEY group_members_member (tenant_id, member_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES directory_groups (tenant_id, id) ON DELETE CASCADE
) ENGINE = InnoDB;

-- resource_id is the client id of the app whose role (app_role, its
-- value) is assigned; principal_type as member_type above.
CREATE TABLE app_role_assignments (
    tenant_id      VARBINARY(255) NOT NULL,
    id             VARBINARY(255) NOT NULL,
    principal_id   VARBINARY(255) NOT NULL,
    principal_type VARBINARY(16)  NOT NULL CHECK (principal_type IN ('user', 'group')),
    resource_id    VARBINARY(255) NOT NULL,
    app_role       VARBINARY(255) NOT NULL,
    created_at     DATETIME(3),
    PRIMARY KEY (tenant_id, id),
    UNIQUE KEY app_role_assignments_principal (tenant_id, principal_id, resource_id, app_role),
    KEY app_role_assignments_resource (tenant_id, resource_id),
    FOREIGN KEY (tenant_id, resource_id) REFERENCES apps (tenant_id, client_id) ON DELETE CASCADE
) ENGINE = InnoDB;

-- Graph's appRoleAssignmentRequired and groupMembershipClaims ('' is None).
ALTER TABLE apps ADD COLUMN app_role_assignment_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE apps ADD COLUMN group_membership_claims VARBINARY(32) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE apps DROP COLUMN group_membership_claims;
ALTER TABLE apps DROP COLUMN app_role_assignment_required;
DROP TABLE app_role_assignments;
DROP TABLE group_members;
DROP TABLE directory_groups;
