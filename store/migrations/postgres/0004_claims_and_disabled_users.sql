-- A reviewer's claim on a chart (others skip it in the queue until it expires), and users an
-- admin disabled (they cannot sign in; their sessions end).
ALTER TABLE charts ADD COLUMN claimed_by TEXT;
ALTER TABLE charts ADD COLUMN claimed_until BIGINT;
ALTER TABLE users ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;
