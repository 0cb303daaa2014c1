-- Who may see a song's search document, copied from its track: search checks each
-- candidate on the document it has already read instead of looking its track up by key
-- (about 6 µs a candidate at 1,000,000 tracks, most of what a search cost there). A
-- track's owner and sharing are set at import and not changed since; the triggers keep
-- the copy exact either way.
ALTER TABLE search_docs ADD COLUMN owner_id TEXT;
ALTER TABLE search_docs ADD COLUMN shared BIGINT NOT NULL DEFAULT 0;
UPDATE search_docs
   SET owner_id = (SELECT t.owner_id FROM tracks t WHERE t.id = search_docs.ref_id),
       shared = COALESCE((SELECT t.shared FROM tracks t WHERE t.id = search_docs.ref_id), 0)
 WHERE kind = 'track';

CREATE TRIGGER search_docs_track_visibility AFTER INSERT ON search_docs WHEN new.kind = 'track' BEGIN
    UPDATE search_docs
       SET owner_id = (SELECT t.owner_id FROM tracks t WHERE t.id = new.ref_id),
           shared = COALESCE((SELECT t.shared FROM tracks t WHERE t.id = new.ref_id), 0)
     WHERE id = new.id;
END;
CREATE TRIGGER tracks_search_visibility AFTER UPDATE OF owner_id, shared ON tracks BEGIN
    UPDATE search_docs SET owner_id = new.owner_id, shared = new.shared
     WHERE kind = 'track' AND ref_id = new.id;
END;
