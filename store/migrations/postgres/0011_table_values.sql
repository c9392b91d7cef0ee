-- A field whose value is a table (rows of a visits table, lab results): its value column
-- holds the rows as JSON, and this flag says so (0: the value is text).
ALTER TABLE fields ADD COLUMN value_rows INTEGER NOT NULL DEFAULT 0;
