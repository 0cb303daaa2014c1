-- Each user's quota usage in bytes: the originals of import jobs still queued or
-- processing, and of jobs a track came from. The admin page showed it for every user by
-- summing all their jobs per row (an admin who imported 1,000,000 tracks made the page
-- take seconds); it is now one row per user, kept exact by triggers.
CREATE TABLE usage_tallies (
    user_id TEXT PRIMARY KEY,
    bytes   BIGINT NOT NULL
);
INSERT INTO usage_tallies (user_id, bytes)
    SELECT j.user_id, SUM(j.size_bytes) FROM import_jobs j
     WHERE j.state IN ('queued', 'processing')
        OR EXISTS (SELECT 1 FROM tracks t WHERE t.import_job_id = j.id)
     GROUP BY j.user_id;

-- A job counts while it is running or while a track came from it (at most one does).
CREATE TRIGGER usage_job_insert AFTER INSERT ON import_jobs
    WHEN new.state IN ('queued', 'processing')
      OR EXISTS (SELECT 1 FROM tracks t WHERE t.import_job_id = new.id) BEGIN
    INSERT INTO usage_tallies (user_id, bytes) VALUES (new.user_id, new.size_bytes)
        ON CONFLICT (user_id) DO UPDATE SET bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER usage_job_delete AFTER DELETE ON import_jobs
    WHEN old.state IN ('queued', 'processing')
      OR EXISTS (SELECT 1 FROM tracks t WHERE t.import_job_id = old.id) BEGIN
    UPDATE usage_tallies SET bytes = bytes - old.size_bytes WHERE user_id = old.user_id;
END;
CREATE TRIGGER usage_job_update_old AFTER UPDATE OF state, size_bytes, user_id ON import_jobs
    WHEN old.state IN ('queued', 'processing')
      OR EXISTS (SELECT 1 FROM tracks t WHERE t.import_job_id = old.id) BEGIN
    UPDATE usage_tallies SET bytes = bytes - old.size_bytes WHERE user_id = old.user_id;
END;
CREATE TRIGGER usage_job_update_new AFTER UPDATE OF state, size_bytes, user_id ON import_jobs
    WHEN new.state IN ('queued', 'processing')
      OR EXISTS (SELECT 1 FROM tracks t WHERE t.import_job_id = new.id) BEGIN
    INSERT INTO usage_tallies (user_id, bytes) VALUES (new.user_id, new.size_bytes)
        ON CONFLICT (user_id) DO UPDATE SET bytes = bytes + excluded.bytes;
END;

-- A track appearing or going changes whether a finished job counts.
CREATE TRIGGER usage_track_insert AFTER INSERT ON tracks BEGIN
    INSERT INTO usage_tallies (user_id, bytes)
        SELECT j.user_id, j.size_bytes FROM import_jobs j
         WHERE j.id = new.import_job_id AND j.state NOT IN ('queued', 'processing')
        ON CONFLICT (user_id) DO UPDATE SET bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER usage_track_delete AFTER DELETE ON tracks BEGIN
    UPDATE usage_tallies SET bytes = bytes - j.size_bytes
      FROM import_jobs j
     WHERE j.id = old.import_job_id AND j.state NOT IN ('queued', 'processing')
       AND usage_tallies.user_id = j.user_id;
END;
CREATE TRIGGER usage_track_move AFTER UPDATE OF import_job_id ON tracks
    WHEN old.import_job_id IS NOT new.import_job_id BEGIN
    UPDATE usage_tallies SET bytes = bytes - j.size_bytes
      FROM import_jobs j
     WHERE j.id = old.import_job_id AND j.state NOT IN ('queued', 'processing')
       AND usage_tallies.user_id = j.user_id;
    INSERT INTO usage_tallies (user_id, bytes)
        SELECT j.user_id, j.size_bytes FROM import_jobs j
         WHERE j.id = new.import_job_id AND j.state NOT IN ('queued', 'processing')
        ON CONFLICT (user_id) DO UPDATE SET bytes = bytes + excluded.bytes;
END;

CREATE TRIGGER usage_user_delete AFTER DELETE ON users BEGIN
    DELETE FROM usage_tallies WHERE user_id = old.id;
END;
