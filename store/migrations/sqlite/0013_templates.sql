-- Form templates taught in the studio or imported: every saved version kept (a chart keeps
-- the version it was extracted with); the newest version of a (form, facility) is in use.
CREATE TABLE templates (
    id INTEGER PRIMARY KEY,
    form TEXT NOT NULL,
    facility TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL,
    toml TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    saved_at INTEGER NOT NULL,
    UNIQUE (form, facility, version)
);
ALTER TABLE charts ADD COLUMN template_id INTEGER REFERENCES templates(id);
