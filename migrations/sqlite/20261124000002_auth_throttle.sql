-- Failed sign-in attempts per key (an account's email, or a client address) within a
-- window; past a threshold each further attempt waits longer. Rows expire with the window,
-- so nobody is ever locked out for good.
CREATE TABLE auth_throttle (
    key              TEXT PRIMARY KEY,
    failures         BIGINT NOT NULL,
    first_failure_at BIGINT NOT NULL,
    blocked_until    BIGINT NOT NULL
);
