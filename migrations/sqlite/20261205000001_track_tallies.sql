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

CREATE TRIGGER track_tallies_insert AFTER INSERT ON tracks BEGIN
    INSERT INTO track_tallies (owner_id, shared, n) VALUES (new.owner_id, new.shared, 1)
        ON CONFLICT (owner_id, shared) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER track_tallies_delete AFTER DELETE ON tracks BEGIN
    UPDATE track_tallies SET n = n - 1 WHERE owner_id = old.owner_id AND shared = old.shared;
END;
CREATE TRIGGER track_tallies_update AFTER UPDATE OF owner_id, shared ON tracks
    WHEN old.owner_id IS NOT new.owner_id OR old.shared IS NOT new.shared BEGIN
    UPDATE track_tallies SET n = n - 1 WHERE owner_id = old.owner_id AND shared = old.shared;
    INSERT INTO track_tallies (owner_id, shared, n) VALUES (new.owner_id, new.shared, 1)
        ON CONFLICT (owner_id, shared) DO UPDATE SET n = n + 1;
END;
