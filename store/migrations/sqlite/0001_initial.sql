-- chartscan schema, SQLite flavour (keep in step with ../postgres/0001_initial.sql).
-- Times are Unix milliseconds (INTEGER). Flags are 0/1 INTEGERs.

CREATE TABLE files (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256        TEXT    NOT NULL UNIQUE,
    original_name TEXT    NOT NULL,
    source_path   TEXT    NOT NULL,
    media_type    TEXT    NOT NULL,
    size_bytes    INTEGER NOT NULL,
    page_count    INTEGER NOT NULL,
    facility      TEXT    NOT NULL,
    batch         TEXT    NOT NULL,
    ingested_at   INTEGER NOT NULL
);

CREATE TABLE charts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    public_id     TEXT    NOT NULL UNIQUE,
    file_id       INTEGER NOT NULL REFERENCES files(id),
    facility      TEXT    NOT NULL,
    batch         TEXT    NOT NULL,
    form          TEXT,
    status        TEXT    NOT NULL,
    confidence    REAL,
    version       INTEGER NOT NULL DEFAULT 1,
    reviewer      TEXT,
    reviewed_at   INTEGER,
    reject_reason TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX charts_status ON charts(status, confidence);
CREATE INDEX charts_facility ON charts(facility, status);

CREATE TABLE pages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    chart_id     INTEGER NOT NULL REFERENCES charts(id),
    file_id      INTEGER NOT NULL REFERENCES files(id),
    page_no      INTEGER NOT NULL,
    file_page    INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    lease_owner  TEXT,
    lease_until  INTEGER,
    error        TEXT,
    image_sha256 TEXT,
    width        INTEGER,
    height       INTEGER,
    skew         REAL,
    words_json   TEXT,
    processed_at INTEGER,
    UNIQUE (chart_id, page_no)
);
CREATE INDEX pages_status ON pages(status, id);

CREATE TABLE fields (
    chart_id     INTEGER NOT NULL REFERENCES charts(id),
    name         TEXT    NOT NULL,
    value        TEXT,
    raw          TEXT    NOT NULL,
    confidence   REAL    NOT NULL,
    needs_review INTEGER NOT NULL,
    page         INTEGER NOT NULL,
    bbox         TEXT,
    issue        TEXT,
    corrected    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chart_id, name)
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    csrf       TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    chart_id TEXT,
    detail   TEXT    NOT NULL
);
CREATE INDEX audit_chart ON audit_log(chart_id, id);
