-- Pages flagged by ingest as blank or separator sheets (NULL: content). A proposal a reviewer can undo.
ALTER TABLE pages ADD COLUMN flag TEXT;
