-- Structured records committed on approval (keep in step with ../sqlite/0008_records.sql):
-- patients (matched across charts), one encounter per approved chart, its clinical facts
-- with the page and box each came from, and the outbox of changes to send to a FHIR server.

CREATE TABLE patients (
    id          BIGSERIAL PRIMARY KEY,
    public_id   TEXT    NOT NULL UNIQUE,
    person_json TEXT    NOT NULL,
    address_json TEXT   NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

CREATE TABLE patient_keys (
    key        TEXT    NOT NULL,
    patient_id BIGINT  NOT NULL REFERENCES patients(id),
    PRIMARY KEY (key, patient_id)
);

CREATE TABLE encounters (
    id           BIGSERIAL PRIMARY KEY,
    chart_id     BIGINT  NOT NULL UNIQUE REFERENCES charts(id),
    patient_id   BIGINT  NOT NULL REFERENCES patients(id),
    kind         TEXT    NOT NULL,
    start_date   TEXT,
    end_date     TEXT,
    ward         TEXT,
    outcome      TEXT,
    reason       TEXT,
    doctor       TEXT,
    patient_json TEXT    NOT NULL,
    match_how    TEXT    NOT NULL,
    match_score  DOUBLE PRECISION,
    reviewer     TEXT    NOT NULL,
    committed_at BIGINT  NOT NULL
);
CREATE INDEX encounters_patient ON encounters(patient_id);

CREATE TABLE facts (
    id           BIGSERIAL PRIMARY KEY,
    encounter_id BIGINT  NOT NULL REFERENCES encounters(id),
    field        TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    system       TEXT,
    code         TEXT,
    display      TEXT    NOT NULL,
    value        TEXT    NOT NULL,
    value_kind   TEXT    NOT NULL,
    unit         TEXT,
    page         BIGINT  NOT NULL,
    bbox         TEXT,
    reviewer     TEXT    NOT NULL,
    UNIQUE (encounter_id, field)
);

CREATE TABLE outbox (
    id         BIGSERIAL PRIMARY KEY,
    chart      TEXT    NOT NULL,
    op         TEXT    NOT NULL,
    payload    TEXT,
    created_at BIGINT  NOT NULL,
    attempts   BIGINT  NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at    BIGINT
);
CREATE INDEX outbox_pending ON outbox(sent_at, id);
