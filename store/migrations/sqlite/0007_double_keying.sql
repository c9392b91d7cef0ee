-- Who keyed a chart's double-keyed fields the second time (blind), once they did.
ALTER TABLE charts ADD COLUMN second_keyed_by TEXT;
