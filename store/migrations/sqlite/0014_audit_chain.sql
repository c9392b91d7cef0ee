-- A tamper-evident audit log: each entry carries the hash of the one before it and a hash
-- over its own content and that link (`chartscan audit verify` walks the chain). Entries
-- written before this migration have neither and are reported as unchained.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
