-- +goose Up
-- Each person's transcript bytes, kept with every append beside each
-- session's (transcript_usage): the quota check of an append reads one
-- row, where summing over the person's sessions grew with every session
-- they ever ran.
CREATE TABLE person_usage (
    person           TEXT PRIMARY KEY,
    transcript_bytes BIGINT NOT NULL DEFAULT 0
);
INSERT INTO person_usage (person, transcript_bytes)
    SELECT s.owner_person, SUM(u.bytes) FROM transcript_usage u JOIN sessions s ON s.id = u.session_id
    WHERE s.owner_person IS NOT NULL AND s.owner_person <> '' GROUP BY s.owner_person;

-- +goose Down
DROP TABLE person_usage;
