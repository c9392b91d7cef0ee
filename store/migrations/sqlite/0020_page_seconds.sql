-- Seconds each page took a worker, from its claim to its result, as a histogram (issue 19:
-- /metrics shows it for every worker of the installation, whichever machine it runs on).
-- bucket i holds the pages that took at most PAGE_SECONDS_BUCKETS[i] seconds (store/src/monitor.rs)
-- and more than the bucket before; the last one, the rest.
CREATE TABLE page_seconds (
    bucket INTEGER PRIMARY KEY,
    n      INTEGER NOT NULL,
    sum_ms INTEGER NOT NULL
);
