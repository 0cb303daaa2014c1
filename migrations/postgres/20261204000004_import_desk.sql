-- The import desk: cancelling, retrying and purging jobs.
-- A cancel of a running job is a request the worker acts on (it stops ffmpeg); a
-- cancelled job is a failed one with `cancelled_at` set. `retryable`: a failed job whose
-- input can be had again (a link, or an upload whose file was kept after transient
-- errors). `attempts` counts starts. `archived` hides a finished job from the desk after a
-- purge when its track still needs the row.
ALTER TABLE import_jobs ADD COLUMN cancel_requested_at BIGINT;
ALTER TABLE import_jobs ADD COLUMN cancelled_at BIGINT;
ALTER TABLE import_jobs ADD COLUMN retryable BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_jobs ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_jobs ADD COLUMN archived BIGINT NOT NULL DEFAULT 0;
UPDATE import_jobs SET retryable = 1 WHERE state = 'failed' AND source IN ('url', 'youtube');
CREATE INDEX import_jobs_recent ON import_jobs(created_at);
CREATE INDEX import_jobs_state ON import_jobs(state, created_at);
