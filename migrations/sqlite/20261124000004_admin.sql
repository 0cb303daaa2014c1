-- Accounts an admin disabled: their logins stop working at once.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;

-- Every administrative action, newest (highest seq) first on the admin page.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    actor_id   TEXT NOT NULL,
    action     TEXT NOT NULL,
    target_id  TEXT,
    detail     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
