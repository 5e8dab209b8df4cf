-- +goose Up
-- Nothing to change: PostgreSQL has no REPLACE, and INSERT ... ON CONFLICT
-- DO UPDATE fires the UPDATE trigger of 00001. This version exists so that
-- both dialects stay at the same schema version.
SELECT 1;

-- +goose Down
SELECT 1;
