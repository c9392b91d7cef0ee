-- Named leases for jobs that must run one at a time across machines (chartscan push: two
-- pushers could deliver a commit after its retraction). Keep in step with ../sqlite.
CREATE TABLE locks (
    name  TEXT    PRIMARY KEY,
    owner TEXT    NOT NULL,
    until BIGINT  NOT NULL
);
