-- The programme's archive (issue 18), PostgreSQL flavour (keep in step with ../sqlite/0019_archive.sql).
--
-- Facilities with their names and targets, the boxes of charts on the shelves before they are
-- scanned, and running totals kept by triggers in the same transaction as each change: the
-- dashboard and the box reconciliation read a few rows per facility, box and day instead of
-- counting a million charts. Triggers rather than application code, so that no path that
-- changes a chart (review, extraction, merging, a future one) can forget them. The triggers are
-- per statement over its transition tables, so a bulk insert adds its counts once, not per row,
-- and they write the totals they touch in key order (no deadlock between two reviewers).

CREATE TABLE facilities (
    code          TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    name_km       TEXT,
    province      TEXT,
    target_charts BIGINT,
    start_date    TEXT,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE boxes (
    facility        TEXT    NOT NULL,
    label           TEXT    NOT NULL,
    expected_charts BIGINT NOT NULL,
    years           TEXT,
    shelf           TEXT,
    imported_at     BIGINT NOT NULL,
    PRIMARY KEY (facility, label)
);

-- Charts by where they came from and where they are now. '' for no box and no reviewer.
CREATE TABLE chart_tally (
    facility  TEXT    NOT NULL,
    batch     TEXT    NOT NULL,
    box_label TEXT    NOT NULL,
    reviewer  TEXT    NOT NULL,
    status    TEXT    NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (facility, batch, box_label, reviewer, status)
);

-- Each day's work (day = Unix days, UTC): charts `scanned` (created) and `extracted` that day;
-- `approved` and `rejected`: charts entering that status that day less those leaving it (an
-- approval undone), so that their sum over the days is the charts approved (rejected) now; `open`: charts created that day that still
-- await a decision (the review backlog by age); `fields` extracted that day and of them
-- `fields_auto`, accepted without review (the quality plot).
CREATE TABLE day_tally (
    day      BIGINT NOT NULL,
    facility TEXT    NOT NULL,
    stage    TEXT    NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (day, facility, stage)
);

-- Files per batch, as the batch list shows them.
CREATE TABLE batch_tally (
    facility   TEXT    NOT NULL,
    batch      TEXT    NOT NULL,
    files      BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    last_at    BIGINT NOT NULL,
    box_label  TEXT,
    operator   TEXT,
    PRIMARY KEY (facility, batch)
);

-- Pages by processing state.
CREATE TABLE page_tally (
    facility TEXT    NOT NULL,
    status   TEXT    NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (facility, status)
);

-- Reviewers' corrections by day, facility, reviewer and field.
CREATE TABLE correction_tally (
    day      BIGINT NOT NULL,
    facility TEXT    NOT NULL,
    actor    TEXT    NOT NULL,
    field    TEXT    NOT NULL,
    n        BIGINT NOT NULL,
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
       COALESCE(substring(a.detail from '"field":"([^"]*)"'), ''), COUNT(*)
FROM audit_log a LEFT JOIN charts c ON c.public_id = a.chart_id WHERE a.action = 'edit_field' GROUP BY 1, 2, 3, 4;

-- Charts.
CREATE FUNCTION chart_tally_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO chart_tally AS t (facility, batch, box_label, reviewer, status, n)
        SELECT c.facility, c.batch, COALESCE(f.box_label, ''), COALESCE(c.reviewer, ''), c.status, COUNT(*)
        FROM new_rows c LEFT JOIN files f ON f.id = c.file_id
        GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (facility, batch, box_label, reviewer, status) DO UPDATE SET n = t.n + EXCLUDED.n;
        INSERT INTO day_tally AS t (day, facility, stage, n)
        SELECT d, facility, stage, COUNT(*) FROM (
            SELECT created_at / 86400000 AS d, facility, 'scanned' AS stage FROM new_rows
            -- A chart made past ingestion (imported already read) was extracted when it was made.
            UNION ALL SELECT created_at / 86400000, facility, 'extracted' FROM new_rows WHERE status <> 'ingested'
            UNION ALL SELECT updated_at / 86400000, facility, status FROM new_rows WHERE status IN ('approved', 'rejected')
            UNION ALL SELECT created_at / 86400000, facility, 'open' FROM new_rows WHERE status NOT IN ('approved', 'rejected')
        ) x GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (day, facility, stage) DO UPDATE SET n = t.n + EXCLUDED.n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO chart_tally AS t (facility, batch, box_label, reviewer, status, n)
        SELECT facility, batch, box_label, reviewer, status, SUM(d) FROM (
            SELECT c.facility, c.batch, COALESCE(f.box_label, '') AS box_label, COALESCE(c.reviewer, '') AS reviewer, c.status, 1 AS d
            FROM new_rows c LEFT JOIN files f ON f.id = c.file_id
            UNION ALL
            SELECT c.facility, c.batch, COALESCE(f.box_label, ''), COALESCE(c.reviewer, ''), c.status, -1
            FROM old_rows c LEFT JOIN files f ON f.id = c.file_id
        ) x GROUP BY 1, 2, 3, 4, 5 HAVING SUM(d) <> 0 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (facility, batch, box_label, reviewer, status) DO UPDATE SET n = t.n + EXCLUDED.n;
        INSERT INTO day_tally AS t (day, facility, stage, n)
        SELECT d, facility, stage, SUM(k) FROM (
            SELECT n.updated_at / 86400000 AS d, n.facility, n.status AS stage, 1 AS k
            FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE n.status <> o.status AND n.status IN ('extracted', 'approved', 'rejected')
            UNION ALL SELECT n.updated_at / 86400000, o.facility, o.status, -1
            FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE n.status <> o.status AND o.status IN ('approved', 'rejected')
            UNION ALL SELECT created_at / 86400000, facility, 'open', 1 FROM new_rows WHERE status NOT IN ('approved', 'rejected')
            UNION ALL SELECT created_at / 86400000, facility, 'open', -1 FROM old_rows WHERE status NOT IN ('approved', 'rejected')
        ) x GROUP BY 1, 2, 3 HAVING SUM(k) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (day, facility, stage) DO UPDATE SET n = t.n + EXCLUDED.n;
    ELSE
        INSERT INTO chart_tally AS t (facility, batch, box_label, reviewer, status, n)
        SELECT c.facility, c.batch, COALESCE(f.box_label, ''), COALESCE(c.reviewer, ''), c.status, -COUNT(*)
        FROM old_rows c LEFT JOIN files f ON f.id = c.file_id
        GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (facility, batch, box_label, reviewer, status) DO UPDATE SET n = t.n + EXCLUDED.n;
        INSERT INTO day_tally AS t (day, facility, stage, n)
        SELECT d, facility, stage, -COUNT(*) FROM (
            SELECT created_at / 86400000 AS d, facility, 'open' AS stage FROM old_rows WHERE status NOT IN ('approved', 'rejected')
            UNION ALL SELECT updated_at / 86400000, facility, status FROM old_rows WHERE status IN ('approved', 'rejected')
        ) x GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (day, facility, stage) DO UPDATE SET n = t.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER charts_tally_insert AFTER INSERT ON charts REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION chart_tally_after();
CREATE TRIGGER charts_tally_update AFTER UPDATE ON charts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION chart_tally_after();
CREATE TRIGGER charts_tally_delete AFTER DELETE ON charts REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION chart_tally_after();

-- Files.
CREATE FUNCTION batch_tally_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO batch_tally AS t (facility, batch, files, started_at, last_at, box_label, operator)
    SELECT facility, batch, COUNT(*), MIN(ingested_at), MAX(ingested_at), MIN(box_label), MIN(operator) FROM new_rows
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (facility, batch) DO UPDATE SET files = t.files + EXCLUDED.files, started_at = LEAST(t.started_at, EXCLUDED.started_at),
        last_at = GREATEST(t.last_at, EXCLUDED.last_at),
        box_label = LEAST(t.box_label, EXCLUDED.box_label), operator = LEAST(t.operator, EXCLUDED.operator);
    RETURN NULL;
END $$;
CREATE TRIGGER files_tally_insert AFTER INSERT ON files REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION batch_tally_after();

-- Pages.
CREATE FUNCTION page_tally_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO page_tally AS t (facility, status, n)
        SELECT c.facility, p.status, COUNT(*) FROM new_rows p JOIN charts c ON c.id = p.chart_id
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (facility, status) DO UPDATE SET n = t.n + EXCLUDED.n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO page_tally AS t (facility, status, n)
        SELECT facility, status, SUM(k) FROM (
            SELECT c.facility, p.status, 1 AS k FROM new_rows p JOIN charts c ON c.id = p.chart_id
            UNION ALL SELECT c.facility, p.status, -1 FROM old_rows p JOIN charts c ON c.id = p.chart_id
        ) x GROUP BY 1, 2 HAVING SUM(k) <> 0 ORDER BY 1, 2
        ON CONFLICT (facility, status) DO UPDATE SET n = t.n + EXCLUDED.n;
    ELSE
        INSERT INTO page_tally AS t (facility, status, n)
        SELECT c.facility, p.status, -COUNT(*) FROM old_rows p JOIN charts c ON c.id = p.chart_id
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (facility, status) DO UPDATE SET n = t.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER pages_tally_insert AFTER INSERT ON pages REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION page_tally_after();
CREATE TRIGGER pages_tally_update AFTER UPDATE ON pages REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION page_tally_after();
CREATE TRIGGER pages_tally_delete AFTER DELETE ON pages REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION page_tally_after();

-- Fields extracted, and of them those accepted without review (not a reviewer's own).
CREATE FUNCTION fields_tally_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO day_tally AS t (day, facility, stage, n)
    SELECT d, facility, stage, COUNT(*) FROM (
        SELECT c.updated_at / 86400000 AS d, c.facility, 'fields' AS stage FROM new_rows f JOIN charts c ON c.id = f.chart_id WHERE f.corrected = 0
        UNION ALL
        SELECT c.updated_at / 86400000, c.facility, 'fields_auto' FROM new_rows f JOIN charts c ON c.id = f.chart_id WHERE f.corrected = 0 AND f.needs_review = 0
    ) x GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (day, facility, stage) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE TRIGGER fields_tally_insert AFTER INSERT ON fields REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION fields_tally_after();

-- Corrections.
CREATE FUNCTION correction_tally_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO correction_tally AS t (day, facility, actor, field, n)
    SELECT a.at / 86400000, COALESCE(c.facility, ''), a.actor, COALESCE(substring(a.detail from '"field":"([^"]*)"'), ''), COUNT(*)
    FROM new_rows a LEFT JOIN charts c ON c.public_id = a.chart_id WHERE a.action = 'edit_field'
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (day, facility, actor, field) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE TRIGGER audit_corrections AFTER INSERT ON audit_log REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION correction_tally_after();

-- Committed records and the changes waiting to be pushed.
CREATE TABLE record_tally (
    kind TEXT   PRIMARY KEY,
    n    BIGINT NOT NULL
);
INSERT INTO record_tally (kind, n) SELECT 'patients', COUNT(*) FROM patients;
INSERT INTO record_tally (kind, n) SELECT 'encounters', COUNT(*) FROM encounters;
INSERT INTO record_tally (kind, n) SELECT 'facts', COUNT(*) FROM facts;
INSERT INTO record_tally (kind, n) SELECT 'outbox_pending', COUNT(*) FROM outbox WHERE sent_at IS NULL;
CREATE FUNCTION record_tally_after() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta BIGINT;
BEGIN
    IF TG_TABLE_NAME = 'outbox' THEN
        IF TG_OP = 'INSERT' THEN
            SELECT COUNT(*) INTO delta FROM new_rows WHERE sent_at IS NULL;
        ELSIF TG_OP = 'UPDATE' THEN
            SELECT (SELECT COUNT(*) FROM new_rows WHERE sent_at IS NULL) - (SELECT COUNT(*) FROM old_rows WHERE sent_at IS NULL) INTO delta;
        ELSE
            SELECT -COUNT(*) INTO delta FROM old_rows WHERE sent_at IS NULL;
        END IF;
        IF delta <> 0 THEN
            UPDATE record_tally SET n = n + delta WHERE kind = 'outbox_pending';
        END IF;
    ELSE
        IF TG_OP = 'INSERT' THEN
            SELECT COUNT(*) INTO delta FROM new_rows;
        ELSE
            SELECT -COUNT(*) INTO delta FROM old_rows;
        END IF;
        IF delta <> 0 THEN
            UPDATE record_tally SET n = n + delta WHERE kind = TG_TABLE_NAME;
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER patients_tally_insert AFTER INSERT ON patients REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION record_tally_after();
CREATE TRIGGER patients_tally_delete AFTER DELETE ON patients REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION record_tally_after();
CREATE TRIGGER encounters_tally_insert AFTER INSERT ON encounters REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION record_tally_after();
CREATE TRIGGER encounters_tally_delete AFTER DELETE ON encounters REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION record_tally_after();
CREATE TRIGGER facts_tally_insert AFTER INSERT ON facts REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION record_tally_after();
CREATE TRIGGER facts_tally_delete AFTER DELETE ON facts REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION record_tally_after();
CREATE TRIGGER outbox_tally_insert AFTER INSERT ON outbox REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION record_tally_after();
CREATE TRIGGER outbox_tally_delete AFTER DELETE ON outbox REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION record_tally_after();
CREATE TRIGGER outbox_tally_update AFTER UPDATE ON outbox REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION record_tally_after();
