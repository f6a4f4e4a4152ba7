-- +goose Up
-- Every change to what servers cache (tenants, apps, secrets, credentials,
-- users, consents, signing keys) notifies the schema's channel, whoever
-- makes it: another instance, or the admin CLI. Instances flush their
-- in-process caches when told, so a change is seen everywhere at once.
-- +goose StatementBegin
CREATE FUNCTION tessera_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tessera_directory_' || current_schema(), TG_TABLE_NAME);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE ON tenants FOR EACH STATEMENT EXECUTE FUNCTION tessera_directory_changed();
CREATE TRIGGER apps_changed AFTER INSERT OR UPDATE OR DELETE ON apps FOR EACH STATEMENT EXECUTE FUNCTION tessera_directory_changed();
CREATE TRIGGER client_secrets_changed AFTER INSERT OR UPDATE OR DELETE ON client_secrets FOR EACH STATEMENT EXECUTE FUNCTION tessera_directory_changed();
CREATE TRIGGER app_credentials_changed AFTER INSERT OR UPDATE OR DELETE ON app_credentials FOR EACH STATEMENT EXECUTE FUNCTION tessera_directory_changed();
CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OR DELETE ON users FOR EACH STATEMENT EXECUTE FUNCTION tessera_directory_changed();
CREATE TRIGGER consents_changed AFTER INSERT OR UPDATE OR DELETE ON consents FOR EACH STATEMENT EXECUTE FUNCTION tessera_directory_changed();
CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE ON signing_keys FOR EACH STATEMENT EXECUTE FUNCTION tessera_directory_changed();

-- +goose Down
DROP TRIGGER signing_keys_changed ON signing_keys;
DROP TRIGGER consents_changed ON consents;
DROP TRIGGER users_changed ON users;
DROP TRIGGER app_credentials_changed ON app_credentials;
DROP TRIGGER client_secrets_changed ON client_secrets;
DROP TRIGGER apps_changed ON apps;
DROP TRIGGER tenants_changed ON tenants;
DROP FUNCTION tessera_directory_changed();
