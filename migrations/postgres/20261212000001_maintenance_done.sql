-- One-time passes over stored data that need more than SQL (a server key, say), each
-- recorded here once it has run so later start-ups skip it.
CREATE TABLE maintenance_done (
    name TEXT PRIMARY KEY,
    done_at BIGINT NOT NULL
);
