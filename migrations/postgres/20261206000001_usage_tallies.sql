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

-- Adding may create the row; taking away never does (a user being deleted stays gone).
CREATE FUNCTION usage_add(who TEXT, delta BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO usage_tallies (user_id, bytes) VALUES (who, delta)
        ON CONFLICT (user_id) DO UPDATE SET bytes = usage_tallies.bytes + EXCLUDED.bytes;
$$;
CREATE FUNCTION usage_sub(who TEXT, delta BIGINT) RETURNS void LANGUAGE sql AS $$
    UPDATE usage_tallies SET bytes = bytes - delta WHERE user_id = who;
$$;

-- A job counts while it is running or while a track came from it (at most one does).
CREATE FUNCTION usage_job_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') AND (OLD.state IN ('queued', 'processing')
        OR EXISTS (SELECT 1 FROM tracks t WHERE t.import_job_id = OLD.id)) THEN
        PERFORM usage_sub(OLD.user_id, OLD.size_bytes);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND (NEW.state IN ('queued', 'processing')
        OR EXISTS (SELECT 1 FROM tracks t WHERE t.import_job_id = NEW.id)) THEN
        PERFORM usage_add(NEW.user_id, NEW.size_bytes);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER usage_job_insert_delete AFTER INSERT OR DELETE ON import_jobs
    FOR EACH ROW EXECUTE FUNCTION usage_job_apply();
CREATE TRIGGER usage_job_update AFTER UPDATE OF state, size_bytes, user_id ON import_jobs
    FOR EACH ROW EXECUTE FUNCTION usage_job_apply();

-- A track appearing or going changes whether a finished job counts.
CREATE FUNCTION usage_track_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE j RECORD;
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        SELECT user_id, size_bytes INTO j FROM import_jobs
         WHERE id = OLD.import_job_id AND state NOT IN ('queued', 'processing');
        IF FOUND THEN
            PERFORM usage_sub(j.user_id, j.size_bytes);
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT user_id, size_bytes INTO j FROM import_jobs
         WHERE id = NEW.import_job_id AND state NOT IN ('queued', 'processing');
        IF FOUND THEN
            PERFORM usage_add(j.user_id, j.size_bytes);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER usage_track_insert_delete AFTER INSERT OR DELETE ON tracks
    FOR EACH ROW EXECUTE FUNCTION usage_track_apply();
CREATE TRIGGER usage_track_move AFTER UPDATE OF import_job_id ON tracks
    FOR EACH ROW WHEN (OLD.import_job_id IS DISTINCT FROM NEW.import_job_id)
    EXECUTE FUNCTION usage_track_apply();

CREATE FUNCTION usage_user_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM usage_tallies WHERE user_id = OLD.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER usage_user_delete AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION usage_user_forget();
