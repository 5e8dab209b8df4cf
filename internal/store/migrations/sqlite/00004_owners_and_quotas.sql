-- +goose Up
-- The account a session's owner had when it started (docs/DESIGN.md,
-- "Threat model"): a uid can be given again to a new account, and the
-- new account must see nothing of the old one's sessions. Sessions from
-- before this migration have no row and are owned by uid and person alone.
CREATE TABLE session_accounts (
    session_id TEXT PRIMARY KEY REFERENCES sessions (id),
    account    TEXT NOT NULL,
    home       TEXT NOT NULL
);

-- How many bytes each session's transcript holds, kept with every append,
-- so that a person's quota is a sum over their sessions rather than over
-- every entry they ever wrote. quota_noted: the transcript already says
-- that the person's quota stopped it.
CREATE TABLE transcript_usage (
    session_id  TEXT PRIMARY KEY REFERENCES sessions (id),
    bytes       INTEGER NOT NULL DEFAULT 0,
    quota_noted INTEGER NOT NULL DEFAULT 0 CHECK (quota_noted IN (0, 1))
);
INSERT INTO transcript_usage (session_id, bytes)
    SELECT session_id, SUM(length(CAST(content AS BLOB))) FROM transcript_entries GROUP BY session_id;
CREATE INDEX sessions_owner_person ON sessions (owner_person);

-- Who wrote each shared doc last, and its size: docs live in files, their
-- quotas here. Docs from before have no row and count against nobody.
CREATE TABLE doc_owners (
    name       TEXT PRIMARY KEY,
    person     TEXT NOT NULL,
    bytes      INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX doc_owners_person ON doc_owners (person);

-- +goose Down
DROP TABLE doc_owners;
DROP INDEX sessions_owner_person;
DROP TABLE transcript_usage;
DROP TABLE session_accounts;
