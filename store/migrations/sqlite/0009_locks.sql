-- Named leases for jobs that must run one at a time across machines (chartscan push: two
-- pushers could deliver a commit after its retraction). Keep in step with ../postgres.
CREATE TABLE locks (
    name  TEXT    PRIMARY KEY,
    owner TEXT    NOT NULL,
    until INTEGER NOT NULL
);
