-- Every lookup of the review station, the workers and the exports finds its rows through an
-- index, so that its cost does not grow with the store (issue 17; tests/explain.rs checks
-- the plans on a store of 200,000 charts).

-- The next chart of the same scanned file (shown beside a chart, and merged into it), and the
-- first chart of a file found by its hash.
CREATE INDEX charts_file ON charts(file_id, id);
-- A file's pages (a row added to files looks for pages referring to it, under SQLite's
-- foreign-key checks; and a file's pages are found by it).
CREATE INDEX pages_file ON pages(file_id);
-- Charts of one status in order: export paging, re-extraction, records to backfill.
CREATE INDEX charts_status_id ON charts(status, id);
-- The latest rejections, newest first (the dashboard).
CREATE INDEX charts_reviewed ON charts(status, reviewed_at);
-- A patient's keys, removed when the patient is merged or re-matched.
CREATE INDEX patient_keys_patient ON patient_keys(patient_id);
-- Whether a chart's record is already waiting to be sent.
CREATE INDEX outbox_chart ON outbox(chart, op);
-- Audit rows of one kind (corrections, claims and decisions on the dashboard) without the
-- views, which are most of the log.
CREATE INDEX audit_action ON audit_log(action, id);
