-- A user's jobs by state: the import panel's counts per state, and its list filtered by
-- state, read a range of this index. Without it the planner walked all of the user's
-- jobs for a state that has none (436 ms for a user with 1,000,000 imports).
CREATE INDEX import_jobs_user_state ON import_jobs(user_id, state, archived, created_at, id)
    WHERE source <> 'scan';
