-- How many tracks each owner has, shared and not: the library's "N tracks" reads two
-- small sums instead of counting the whole catalog (which grew with it: 1,000,000 tracks
-- took a full scan on every library page). Kept exact by triggers.
CREATE TABLE track_tallies (
    owner_id TEXT NOT NULL,
    shared   BIGINT NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (owner_id, shared)
);
INSERT INTO track_tallies (owner_id, shared, n)
    SELECT owner_id, shared, COUNT(*) FROM tracks GROUP BY owner_id, shared;

CREATE FUNCTION track_tallies_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE track_tallies SET n = n - 1 WHERE owner_id = OLD.owner_id AND shared = OLD.shared;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO track_tallies (owner_id, shared, n) VALUES (NEW.owner_id, NEW.shared, 1)
            ON CONFLICT (owner_id, shared) DO UPDATE SET n = track_tallies.n + 1;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER track_tallies_insert_delete AFTER INSERT OR DELETE ON tracks
    FOR EACH ROW EXECUTE FUNCTION track_tallies_apply();
CREATE TRIGGER track_tallies_update AFTER UPDATE OF owner_id, shared ON tracks
    FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id OR OLD.shared IS DISTINCT FROM NEW.shared)
    EXECUTE FUNCTION track_tallies_apply();
