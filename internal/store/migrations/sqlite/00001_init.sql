-- +goose Up
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    owner_person TEXT,
    owner_uid    INTEGER,
    project      TEXT NOT NULL,
    agent        TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    exit_code    INTEGER,
    tmux_name    TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    ended_at     TEXT,
    meta         TEXT CHECK (meta IS NULL OR json_valid(meta))
);
CREATE INDEX sessions_owner_uid ON sessions (owner_uid);
CREATE INDEX sessions_project_created ON sessions (project, created_at);

CREATE TABLE transcript_entries (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    seq        INTEGER NOT NULL,
    direction  TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    content    TEXT NOT NULL,
    at         TEXT NOT NULL,
    UNIQUE (session_id, seq)
);

CREATE TABLE audit_log (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_person      TEXT,
    actor_uid         INTEGER NOT NULL,
    actor_pid         INTEGER NOT NULL,
    action            TEXT NOT NULL,
    target_session_id TEXT,
    detail            TEXT CHECK (detail IS NULL OR json_valid(detail)),
    at                TEXT NOT NULL
);
CREATE INDEX audit_log_target ON audit_log (target_session_id);

-- The audit log is append-only, enforced here and not only in our code: a
-- bug, a tool or a person with the database file cannot quietly rewrite it.
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_log;
DROP TABLE transcript_entries;
DROP TABLE sessions;
