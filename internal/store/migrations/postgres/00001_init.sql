-- +goose Up
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    owner_person TEXT,
    owner_uid    BIGINT,
    project      TEXT NOT NULL,
    agent        TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    exit_code    INTEGER,
    tmux_name    TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ,
    meta         JSONB
);
CREATE INDEX sessions_owner_uid ON sessions (owner_uid);
CREATE INDEX sessions_project_created ON sessions (project, created_at);

CREATE TABLE transcript_entries (
    id         BIGSERIAL PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    seq        BIGINT NOT NULL,
    direction  TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    content    TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    UNIQUE (session_id, seq)
);

CREATE TABLE audit_log (
    id                BIGSERIAL PRIMARY KEY,
    actor_person      TEXT,
    actor_uid         BIGINT NOT NULL,
    actor_pid         BIGINT NOT NULL,
    action            TEXT NOT NULL,
    target_session_id TEXT,
    detail            JSONB,
    at                TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target_session_id);

-- The audit log is append-only, enforced by the database: UPDATE, DELETE
-- and TRUNCATE are refused whoever asks.
-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE transcript_entries;
DROP TABLE sessions;
