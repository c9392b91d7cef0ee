-- The review queue shows how many fields of each chart need review: counted from this index
-- alone (a few entries per chart) instead of reading each of the chart's field rows.
CREATE INDEX fields_to_review ON fields(chart_id) WHERE needs_review <> 0;
