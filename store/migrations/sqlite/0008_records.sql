-- Structured records committed on approval (keep in step with ../postgres/0008_records.sql):
-- patients (matched across charts), one encounter per approved chart, its clinical facts
-- with the page and box each came from, and the outbox of changes to send to a FHIR server.

CREATE TABLE patients (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    public_id   TEXT    NOT NULL UNIQUE,
    person_json TEXT    NOT NULL,
    address_json TEXT   NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE patient_keys (
    key        TEXT    NOT NULL,
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    PRIMARY KEY (key, patient_id)
);

CREATE TABLE encounters (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    chart_id     INTEGER NOT NULL UNIQUE REFERENCES charts(id),
    patient_id   INTEGER NOT NULL REFERENCES patients(id),
    kind         TEXT    NOT NULL,
    start_date   TEXT,
    end_date     TEXT,
    ward         TEXT,
    outcome      TEXT,
    reason       TEXT,
    doctor       TEXT,
    patient_json TEXT    NOT NULL,
    match_how    TEXT    NOT NULL,
    match_score  REAL,
    reviewer     TEXT    NOT NULL,
    committed_at INTEGER NOT NULL
);
CREATE INDEX encounters_patient ON encounters(patient_id);

CREATE TABLE facts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    encounter_id INTEGER NOT NULL REFERENCES encounters(id),
    field        TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    system       TEXT,
    code         TEXT,
    display      TEXT    NOT NULL,
    value        TEXT    NOT NULL,
    value_kind   TEXT    NOT NULL,
    unit         TEXT,
    page         INTEGER NOT NULL,
    bbox         TEXT,
    reviewer     TEXT    NOT NULL,
    UNIQUE (encounter_id, field)
);

CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    chart      TEXT    NOT NULL,
    op         TEXT    NOT NULL,
    payload    TEXT,
    created_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at    INTEGER
);
CREATE INDEX outbox_pending ON outbox(sent_at, id);
