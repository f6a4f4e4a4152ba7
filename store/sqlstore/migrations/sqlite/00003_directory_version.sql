-- +goose Up
-- A counter that every change to the directory (what a server caches:
-- tenants, apps, secrets, credentials, users, consents, signing keys)
-- increments, whichever process makes it. A server compares it, one tiny
-- read, to know whether its in-process cache is still good.
CREATE TABLE directory_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO directory_version (id, version) VALUES (1, 0);
-- +goose StatementBegin
CREATE TRIGGER tenants_ins AFTER INSERT ON tenants BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER tenants_upd AFTER UPDATE ON tenants BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER tenants_del AFTER DELETE ON tenants BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER apps_ins AFTER INSERT ON apps BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER apps_upd AFTER UPDATE ON apps BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER apps_del AFTER DELETE ON apps BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER client_secrets_ins AFTER INSERT ON client_secrets BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER client_secrets_upd AFTER UPDATE ON client_secrets BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER client_secrets_del AFTER DELETE ON client_secrets BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER app_credentials_ins AFTER INSERT ON app_credentials BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER app_credentials_upd AFTER UPDATE ON app_credentials BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER app_credentials_del AFTER DELETE ON app_credentials BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER users_ins AFTER INSERT ON users BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER users_upd AFTER UPDATE ON users BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER users_del AFTER DELETE ON users BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER consents_ins AFTER INSERT ON consents BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER consents_upd AFTER UPDATE ON consents BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER consents_del AFTER DELETE ON consents BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER signing_keys_ins AFTER INSERT ON signing_keys BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER signing_keys_upd AFTER UPDATE ON signing_keys BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER signing_keys_del AFTER DELETE ON signing_keys BEGIN UPDATE directory_version SET version = version + 1; END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE directory_version;
DROP TRIGGER tenants_ins; DROP TRIGGER tenants_upd; DROP TRIGGER tenants_del;
DROP TRIGGER apps_ins; DROP TRIGGER apps_upd; DROP TRIGGER apps_del;
DROP TRIGGER client_secrets_ins; DROP TRIGGER client_secrets_upd; DROP TRIGGER client_secrets_del;
DROP TRIGGER app_credentials_ins; DROP TRIGGER app_credentials_upd; DROP TRIGGER app_credentials_del;
DROP TRIGGER users_ins; DROP TRIGGER users_upd; DROP TRIGGER users_del;
DROP TRIGGER consents_ins; DROP TRIGGER consents_upd; DROP TRIGGER consents_del;
DROP TRIGGER signing_keys_ins; DROP TRIGGER signing_keys_upd; DROP TRIGGER signing_keys_del;
