-- Personal upload quota of a listener in bytes; NULL means the server default.
ALTER TABLE users ADD COLUMN quota_bytes BIGINT;
