-- Who may see a song's search document, copied from its track: search checks each
-- candidate on the document it has already read instead of looking its track up by key
-- (most of what a search cost at 1,000,000 tracks). A track's owner and sharing are set
-- at import and not changed since; the triggers keep the copy exact either way.
ALTER TABLE search_docs ADD COLUMN owner_id TEXT, ADD COLUMN shared BIGINT NOT NULL DEFAULT 0;
UPDATE search_docs d SET owner_id = t.owner_id, shared = t.shared
  FROM tracks t WHERE d.kind = 'track' AND t.id = d.ref_id;

CREATE FUNCTION search_docs_track_visibility() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'track' THEN
        SELECT t.owner_id, t.shared INTO NEW.owner_id, NEW.shared FROM tracks t WHERE t.id = NEW.ref_id;
        NEW.shared := COALESCE(NEW.shared, 0);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER search_docs_track_visibility BEFORE INSERT ON search_docs
    FOR EACH ROW EXECUTE FUNCTION search_docs_track_visibility();

CREATE FUNCTION tracks_search_visibility() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE search_docs SET owner_id = NEW.owner_id, shared = NEW.shared
     WHERE kind = 'track' AND ref_id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER tracks_search_visibility AFTER UPDATE OF owner_id, shared ON tracks
    FOR EACH ROW EXECUTE FUNCTION tracks_search_visibility();
