-- +goose Up
-- REPLACE and INSERT OR REPLACE delete the row they conflict with without
-- firing DELETE triggers (unless the connection turned recursive_triggers
-- on), so they could rewrite an audit record past the triggers of 00001.
-- Refuse any insert whose id is taken, whatever its conflict clause.
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_log_no_replace;
