-- The review queue reads charts awaiting review least confident first: an index in that
-- order, over those charts only, lets it stop after the first page of results.
CREATE INDEX charts_queue ON charts(confidence, id) WHERE status IN ('extracted', 'in_review');
