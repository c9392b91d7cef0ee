-- Sessions also end after a while without use (30 minutes by default): each use moves
-- idle_until on. Sessions from before this migration count as idle.
ALTER TABLE sessions ADD COLUMN idle_until BIGINT NOT NULL DEFAULT 0;
CREATE INDEX sessions_expiry ON sessions(expires_at);
