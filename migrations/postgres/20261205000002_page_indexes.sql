-- Lists shown newest first break ties by id: with the id in the index, a page is read off
-- the index in order and stops at its end, instead of every matching row being sorted
-- (a user with 10,000 imports made the library page sort them all on every load).
DROP INDEX import_jobs_user_own;
CREATE INDEX import_jobs_user_own ON import_jobs(user_id, created_at, id) WHERE source <> 'scan';
DROP INDEX import_jobs_recent;
CREATE INDEX import_jobs_recent ON import_jobs(created_at, id);
DROP INDEX import_jobs_state;
CREATE INDEX import_jobs_state ON import_jobs(state, created_at, id);
CREATE INDEX import_jobs_source ON import_jobs(source, created_at, id);
DROP INDEX tracks_created;
CREATE INDEX tracks_created ON tracks(created_at, id);
-- The track list sorted by title walks this instead of sorting the catalog.
CREATE INDEX tracks_title ON tracks(LOWER(title), id);
