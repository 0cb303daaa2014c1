-- Catalog editing: albums and artists can now be merged and deleted, and their search
-- documents leave with them (tracks' and playlists' already do).
CREATE FUNCTION search_forget_album() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_docs WHERE kind = 'album' AND ref_id = OLD.id;
    RETURN OLD;
END
$$;
CREATE TRIGGER albums_search_forget AFTER DELETE ON albums
    FOR EACH ROW EXECUTE FUNCTION search_forget_album();

CREATE FUNCTION search_forget_artist() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_docs WHERE kind = 'artist' AND ref_id = OLD.id;
    RETURN OLD;
END
$$;
CREATE TRIGGER artists_search_forget AFTER DELETE ON artists
    FOR EACH ROW EXECUTE FUNCTION search_forget_artist();
