-- chartscan schema, PostgreSQL flavour (keep in step with ../sqlite/0001_initial.sql).
-- Times are Unix milliseconds (INTEGER). Flags are 0/1 INTEGERs.

CREATE TABLE files (
    id            BIGSERIAL PRIMARY KEY,
    sha256        TEXT    NOT NULL UNIQUE,
    original_name TEXT    NOT NULL,
    source_path   TEXT    NOT NULL,
    media_type    TEXT    NOT NULL,
    size_bytes    BIGINT  NOT NULL,
    page_count    BIGINT  NOT NULL,
    facility      TEXT    NOT NULL,
    batch         TEXT    NOT NULL,
    ingested_at   BIGINT  NOT NULL
);

CREATE TABLE charts (
    id            BIGSERIAL PRIMARY KEY,
    public_id     TEXT    NOT NULL UNIQUE,
    file_id       BIGINT  NOT NULL REFERENCES files(id),
    facility      TEXT    NOT NULL,
    batch         TEXT    NOT NULL,
    form          TEXT,
    status        TEXT    NOT NULL,
    confidence    DOUBLE PRECISION,
    version       BIGINT  NOT NULL DEFAULT 1,
    reviewer      TEXT,
    reviewed_at   BIGINT,
    reject_reason TEXT,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX charts_status ON charts(status, confidence);
CREATE INDEX charts_facility ON charts(facility, status);

CREATE TABLE pages (
    id           BIGSERIAL PRIMARY KEY,
    chart_id     BIGINT  NOT NULL REFERENCES charts(id),
    file_id      BIGINT  NOT NULL REFERENCES files(id),
    page_no      BIGINT  NOT NULL,
    file_page    BIGINT  NOT NULL,
    status       TEXT    NOT NULL,
    attempts     BIGINT  NOT NULL DEFAULT 0,
    lease_owner  TEXT,
    lease_until  BIGINT,
    error        TEXT,
    image_sha256 TEXT,
    width        BIGINT,
    height       BIGINT,
    skew         DOUBLE PRECISION,
    words_json   TEXT,
    processed_at BIGINT,
    UNIQUE (chart_id, page_no)
);
CREATE INDEX pages_status ON pages(status, id);

CREATE TABLE fields (
    chart_id     BIGINT  NOT NULL REFERENCES charts(id),
    name         TEXT    NOT NULL,
    value        TEXT,
    raw          TEXT    NOT NULL,
    confidence   DOUBLE PRECISION    NOT NULL,
    needs_review BIGINT  NOT NULL,
    page         BIGINT  NOT NULL,
    bbox         TEXT,
    issue        TEXT,
    corrected    BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (chart_id, name)
);

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users(id),
    csrf       TEXT    NOT NULL,
    expires_at BIGINT  NOT NULL
);

CREATE TABLE audit_log (
    id       BIGSERIAL PRIMARY KEY,
    at       BIGINT  NOT NULL,
    actor    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    chart_id TEXT,
    detail   TEXT    NOT NULL
);
CREATE INDEX audit_chart ON audit_log(chart_id, id);
