-- +goose Up
-- What the session host needs to keep across daemon restarts: the project's
-- directory as it was at start (the config may change later), and how much
-- of the pane's output log is already in the transcript, so that a restarted
-- daemon resumes reading where it stopped and loses or repeats nothing.
ALTER TABLE sessions ADD COLUMN project_path TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN output_offset INTEGER NOT NULL DEFAULT 0;
-- A member's list reads only their own sessions, grouped by project.
DROP INDEX sessions_owner_uid;
CREATE INDEX sessions_owner_project ON sessions (owner_uid, project, created_at);

-- Whose session an audited action touched, kept in the record itself: the
-- record must say whom it concerns even if the session row changes, and
-- `telec audit --mine` filters on it.
ALTER TABLE audit_log ADD COLUMN target_owner_person TEXT;
ALTER TABLE audit_log ADD COLUMN target_owner_uid INTEGER;
CREATE INDEX audit_log_target_owner ON audit_log (target_owner_uid);

-- +goose Down
DROP INDEX audit_log_target_owner;
ALTER TABLE audit_log DROP COLUMN target_owner_uid;
ALTER TABLE audit_log DROP COLUMN target_owner_person;
DROP INDEX sessions_owner_project;
CREATE INDEX sessions_owner_uid ON sessions (owner_uid);
ALTER TABLE sessions DROP COLUMN output_offset;
ALTER TABLE sessions DROP COLUMN project_path;
