-- +goose Up
-- The channel was 'tessera_directory_' || current_schema(), which is 64
-- bytes or more for a schema name of 46 bytes or more; PostgreSQL rejects
-- such channel names, so every directory write failed. It is now named
-- after a digest of the schema (44 bytes whatever the schema's length),
-- and after the schema of the table that changed rather than the writer's
-- search_path. Notify.go's channelName computes the same name.
-- An instance still running the previous binary listens on the old
-- channel and misses notifications until it restarts; its cache lifetime
-- (30 s) bounds how stale it gets meanwhile.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION tessera_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tessera_dir_' || md5(TG_TABLE_SCHEMA), TG_TABLE_NAME);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION tessera_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tessera_directory_' || current_schema(), TG_TABLE_NAME);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
