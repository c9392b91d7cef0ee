-- Batch metadata recorded with each file: the archive box label and the scanner operator.
ALTER TABLE files ADD COLUMN box_label TEXT;
ALTER TABLE files ADD COLUMN operator TEXT;
