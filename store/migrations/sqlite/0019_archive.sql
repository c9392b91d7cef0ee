-- The programme's archive (issue 18), SQLite flavour (keep in step with ../postgres/0019_archive.sql).
--
-- Facilities with their names and targets, the boxes of charts on the shelves before they are
-- scanned, and running totals kept by triggers in the same transaction as each change: the
-- dashboard and the box reconciliation read a few rows per facility, box and day instead of
-- counting a million charts. Triggers rather than application code, so that no path that
-- changes a chart (review, extraction, merging, a future one) can forget them.

CREATE TABLE facilities (
    code          TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    name_km       TEXT,
    province      TEXT,
    target_charts INTEGER,
    start_date    TEXT,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE boxes (
    facility        TEXT    NOT NULL,
    label           TEXT    NOT NULL,
    expected_charts INTEGER NOT NULL,
    years           TEXT,
    shelf           TEXT,
    imported_at     INTEGER NOT NULL,
    PRIMARY KEY (facility, label)
);

-- Charts by where they came from and where they are now. '' for no box and no reviewer.
CREATE TABLE chart_tally (
    facility  TEXT    NOT NULL,
    batch     TEXT    NOT NULL,
    box_label TEXT    NOT NULL,
    reviewer  TEXT    NOT NULL,
    status    TEXT    NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (facility, batch, box_label, reviewer, status)
);

-- Each day's work (day = Unix days, UTC): charts `scanned` (created) and `extracted` that day;
-- `approved` and `rejected`: charts entering that status that day less those leaving it (an
-- approval undone), so that their sum over the days is the charts approved (rejected) now; `open`: charts created that day that still
-- await a decision (the review backlog by age); `fields` extracted that day and of them
-- `fields_auto`, accepted without review (the quality plot).
CREATE TABLE day_tally (
    day      INTEGER NOT NULL,
    facility TEXT    NOT NULL,
    stage    TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (day, facility, stage)
);

-- Files per batch, as the batch list shows them.
CREATE TABLE batch_tally (
    facility   TEXT    NOT NULL,
    batch      TEXT    NOT NULL,
    files      INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    last_at    INTEGER NOT NULL,
    box_label  TEXT,
    operator   TEXT,
    PRIMARY KEY (facility, batch)
);

-- Pages by processing state.
CREATE TABLE page_tally (
    facility TEXT    NOT NULL,
    status   TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (facility, status)
);

-- Reviewers' corrections by day, facility, reviewer and field.
CREATE TABLE correction_tally (
    day      INTEGER NOT NULL,
    facility TEXT    NOT NULL,
    actor    TEXT    NOT NULL,
    field    TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (day, facility, actor, field)
);

-- What is there already.
INSERT INTO chart_tally (facility, batch, box_label, reviewer, status, n)
SELECT c.facility, c.batch, COALESCE(f.box_label, ''), COALESCE(c.reviewer, ''), c.status, COUNT(*)
FROM charts c JOIN files f ON f.id = c.file_id GROUP BY 1, 2, 3, 4, 5;
INSERT INTO day_tally (day, facility, stage, n)
SELECT d, facility, stage, COUNT(*) FROM (
    SELECT created_at / 86400000 AS d, facility, 'scanned' AS stage FROM charts
    UNION ALL SELECT created_at / 86400000, facility, 'extracted' FROM charts WHERE status <> 'ingested'
    UNION ALL SELECT COALESCE(reviewed_at, updated_at) / 86400000, facility, status FROM charts WHERE status IN ('approved', 'rejected')
    UNION ALL SELECT created_at / 86400000, facility, 'open' FROM charts WHERE status NOT IN ('approved', 'rejected')
    UNION ALL SELECT c.updated_at / 86400000, c.facility, 'fields' FROM fields f JOIN charts c ON c.id = f.chart_id WHERE f.corrected = 0
    UNION ALL SELECT c.updated_at / 86400000, c.facility, 'fields_auto' FROM fields f JOIN charts c ON c.id = f.chart_id WHERE f.corrected = 0 AND f.needs_review = 0
) x GROUP BY 1, 2, 3;
INSERT INTO batch_tally (facility, batch, files, started_at, last_at, box_label, operator)
SELECT facility, batch, COUNT(*), MIN(ingested_at), MAX(ingested_at), MIN(box_label), MIN(operator) FROM files GROUP BY 1, 2;
INSERT INTO page_tally (facility, status, n)
SELECT c.facility, p.status, COUNT(*) FROM pages p JOIN charts c ON c.id = p.chart_id GROUP BY 1, 2;
INSERT INTO correction_tally (day, facility, actor, field, n)
SELECT a.at / 86400000, COALESCE(c.facility, ''), a.actor,
       COALESCE(CASE WHEN json_valid(a.detail) THEN json_extract(a.detail, '$.field') END, ''), COUNT(*)
FROM audit_log a LEFT JOIN charts c ON c.public_id = a.chart_id WHERE a.action = 'edit_field' GROUP BY 1, 2, 3, 4;

-- Charts.
CREATE TRIGGER charts_tally_insert AFTER INSERT ON charts BEGIN
    INSERT INTO chart_tally (facility, batch, box_label, reviewer, status, n)
    VALUES (NEW.facility, NEW.batch, COALESCE((SELECT box_label FROM files WHERE id = NEW.file_id), ''), COALESCE(NEW.reviewer, ''), NEW.status, 1)
    ON CONFLICT (facility, batch, box_label, reviewer, status) DO UPDATE SET n = n + excluded.n;
    INSERT INTO day_tally (day, facility, stage, n) VALUES (NEW.created_at / 86400000, NEW.facility, 'scanned', 1)
    ON CONFLICT (day, facility, stage) DO UPDATE SET n = n + excluded.n;
    -- A chart made past ingestion (imported already read) was extracted when it was made.
    INSERT INTO day_tally (day, facility, stage, n) SELECT NEW.created_at / 86400000, NEW.facility, 'extracted', 1
    WHERE NEW.status <> 'ingested'
    ON CONFLICT (day, facility, stage) DO UPDATE SET n = n + excluded.n;
    INSERT INTO day_tally (day, facility, stage, n) SELECT NEW.updated_at / 86400000, NEW.facility, NEW.status, 1
    WHERE NEW.status IN ('approved', 'rejected')
    ON CONFLICT (day, facility, stage) DO UPDATE SET n = n + excluded.n;
    INSERT INTO day_tally (day, facility, stage, n) SELECT NEW.created_at / 86400000, NEW.facility, 'open', 1
    WHERE NEW.status NOT IN ('approved', 'rejected')
    ON CONFLICT (day, facility, stage) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER charts_tally_update AFTER UPDATE OF status, facility, batch, reviewer ON charts
WHEN OLD.status IS NOT NEW.status OR OLD.facility IS NOT NEW.facility OR OLD.batch IS NOT NEW.batch OR OLD.reviewer IS NOT NEW.reviewer
BEGIN
    UPDATE chart_tally SET n = n - 1
    WHERE facility = OLD.facility AND batch = OLD.batch AND box_label = COALESCE((SELECT box_label FROM files WHERE id = OLD.file_id), '')
      AND reviewer = COALESCE(OLD.reviewer, '') AND status = OLD.status;
    INSERT INTO chart_tally (facility, batch, box_label, reviewer, status, n)
    VALUES (NEW.facility, NEW.batch, COALESCE((SELECT box_label FROM files WHERE id = NEW.file_id), ''), COALESCE(NEW.reviewer, ''), NEW.status, 1)
    ON CONFLICT (facility, batch, box_label, reviewer, status) DO UPDATE SET n = n + excluded.n;
    INSERT INTO day_tally (day, facility, stage, n) SELECT NEW.updated_at / 86400000, NEW.facility, NEW.status, 1
    WHERE NEW.status IS NOT OLD.status AND NEW.status IN ('extracted', 'approved', 'rejected')
    ON CONFLICT (day, facility, stage) DO UPDATE SET n = n + excluded.n;
    INSERT INTO day_tally (day, facility, stage, n) SELECT NEW.updated_at / 86400000, OLD.facility, OLD.status, -1
    WHERE NEW.status IS NOT OLD.status AND OLD.status IN ('approved', 'rejected')
    ON CONFLICT (day, facility, stage) DO UPDATE SET n = n + excluded.n;
    UPDATE day_tally SET n = n - 1
    WHERE day = OLD.created_at / 86400000 AND facility = OLD.facility AND stage = 'open' AND OLD.status NOT IN ('approved', 'rejected');
    INSERT INTO day_tally (day, facility, stage, n) SELECT NEW.created_at / 86400000, NEW.facility, 'open', 1
    WHERE NEW.status NOT IN ('approved', 'rejected')
    ON CONFLICT (day, facility, stage) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER charts_tally_delete AFTER DELETE ON charts BEGIN
    INSERT INTO day_tally (day, facility, stage, n) SELECT OLD.updated_at / 86400000, OLD.facility, OLD.status, -1
    WHERE OLD.status IN ('approved', 'rejected')
    ON CONFLICT (day, facility, stage) DO UPDATE SET n = n + excluded.n;
    UPDATE chart_tally SET n = n - 1
    WHERE facility = OLD.facility AND batch = OLD.batch AND box_label = COALESCE((SELECT box_label FROM files WHERE id = OLD.file_id), '')
      AND reviewer = COALESCE(OLD.reviewer, '') AND status = OLD.status;
    UPDATE day_tally SET n = n - 1
    WHERE day = OLD.created_at / 86400000 AND facility = OLD.facility AND stage = 'open' AND OLD.status NOT IN ('approved', 'rejected');
END;

-- Files.
CREATE TRIGGER files_tally_insert AFTER INSERT ON files BEGIN
    INSERT INTO batch_tally (facility, batch, files, started_at, last_at, box_label, operator)
    VALUES (NEW.facility, NEW.batch, 1, NEW.ingested_at, NEW.ingested_at, NEW.box_label, NEW.operator)
    ON CONFLICT (facility, batch) DO UPDATE SET files = files + 1, started_at = MIN(started_at, excluded.started_at),
        last_at = MAX(last_at, excluded.last_at),
        box_label = COALESCE(MIN(box_label, excluded.box_label), box_label, excluded.box_label),
        operator = COALESCE(MIN(operator, excluded.operator), operator, excluded.operator);
END;

-- Pages.
CREATE TRIGGER pages_tally_insert AFTER INSERT ON pages BEGIN
    INSERT INTO page_tally (facility, status, n) VALUES ((SELECT facility FROM charts WHERE id = NEW.chart_id), NEW.status, 1)
    ON CONFLICT (facility, status) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER pages_tally_update AFTER UPDATE OF status, chart_id ON pages
WHEN OLD.status IS NOT NEW.status OR OLD.chart_id IS NOT NEW.chart_id
BEGIN
    UPDATE page_tally SET n = n - 1 WHERE facility = (SELECT facility FROM charts WHERE id = OLD.chart_id) AND status = OLD.status;
    INSERT INTO page_tally (facility, status, n) VALUES ((SELECT facility FROM charts WHERE id = NEW.chart_id), NEW.status, 1)
    ON CONFLICT (facility, status) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER pages_tally_delete AFTER DELETE ON pages BEGIN
    UPDATE page_tally SET n = n - 1 WHERE facility = (SELECT facility FROM charts WHERE id = OLD.chart_id) AND status = OLD.status;
END;

-- Fields extracted, and of them those accepted without review (not a reviewer's own).
CREATE TRIGGER fields_tally_insert AFTER INSERT ON fields WHEN NEW.corrected = 0 BEGIN
    INSERT INTO day_tally (day, facility, stage, n) SELECT c.updated_at / 86400000, c.facility, 'fields', 1 FROM charts c WHERE c.id = NEW.chart_id
    ON CONFLICT (day, facility, stage) DO UPDATE SET n = n + excluded.n;
    INSERT INTO day_tally (day, facility, stage, n) SELECT c.updated_at / 86400000, c.facility, 'fields_auto', 1 FROM charts c WHERE c.id = NEW.chart_id AND NEW.needs_review = 0
    ON CONFLICT (day, facility, stage) DO UPDATE SET n = n + excluded.n;
END;

-- Corrections.
CREATE TRIGGER audit_corrections AFTER INSERT ON audit_log WHEN NEW.action = 'edit_field' BEGIN
    INSERT INTO correction_tally (day, facility, actor, field, n)
    VALUES (NEW.at / 86400000, COALESCE((SELECT facility FROM charts WHERE public_id = NEW.chart_id), ''), NEW.actor,
            COALESCE(CASE WHEN json_valid(NEW.detail) THEN json_extract(NEW.detail, '$.field') END, ''), 1)
    ON CONFLICT (day, facility, actor, field) DO UPDATE SET n = n + excluded.n;
END;

-- Committed records and the changes waiting to be pushed.
CREATE TABLE record_tally (
    kind TEXT    PRIMARY KEY,
    n    INTEGER NOT NULL
);
INSERT INTO record_tally (kind, n) SELECT 'patients', COUNT(*) FROM patients;
INSERT INTO record_tally (kind, n) SELECT 'encounters', COUNT(*) FROM encounters;
INSERT INTO record_tally (kind, n) SELECT 'facts', COUNT(*) FROM facts;
INSERT INTO record_tally (kind, n) SELECT 'outbox_pending', COUNT(*) FROM outbox WHERE sent_at IS NULL;
CREATE TRIGGER patients_tally_insert AFTER INSERT ON patients BEGIN UPDATE record_tally SET n = n + 1 WHERE kind = 'patients'; END;
CREATE TRIGGER patients_tally_delete AFTER DELETE ON patients BEGIN UPDATE record_tally SET n = n - 1 WHERE kind = 'patients'; END;
CREATE TRIGGER encounters_tally_insert AFTER INSERT ON encounters BEGIN UPDATE record_tally SET n = n + 1 WHERE kind = 'encounters'; END;
CREATE TRIGGER encounters_tally_delete AFTER DELETE ON encounters BEGIN UPDATE record_tally SET n = n - 1 WHERE kind = 'encounters'; END;
CREATE TRIGGER facts_tally_insert AFTER INSERT ON facts BEGIN UPDATE record_tally SET n = n + 1 WHERE kind = 'facts'; END;
CREATE TRIGGER facts_tally_delete AFTER DELETE ON facts BEGIN UPDATE record_tally SET n = n - 1 WHERE kind = 'facts'; END;
CREATE TRIGGER outbox_tally_insert AFTER INSERT ON outbox WHEN NEW.sent_at IS NULL BEGIN UPDATE record_tally SET n = n + 1 WHERE kind = 'outbox_pending'; END;
CREATE TRIGGER outbox_tally_sent AFTER UPDATE OF sent_at ON outbox WHEN (OLD.sent_at IS NULL) <> (NEW.sent_at IS NULL) BEGIN
    UPDATE record_tally SET n = n + CASE WHEN NEW.sent_at IS NULL THEN 1 ELSE -1 END WHERE kind = 'outbox_pending';
END;
CREATE TRIGGER outbox_tally_delete AFTER DELETE ON outbox WHEN OLD.sent_at IS NULL BEGIN UPDATE record_tally SET n = n - 1 WHERE kind = 'outbox_pending'; END;
