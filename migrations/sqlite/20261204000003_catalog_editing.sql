-- Catalog editing: albums and artists can now be merged and deleted, and their search
-- documents leave with them (tracks' and playlists' already do).
CREATE TRIGGER albums_search_forget AFTER DELETE ON albums BEGIN
    DELETE FROM search_docs WHERE kind = 'album' AND ref_id = old.id;
END;
CREATE TRIGGER artists_search_forget AFTER DELETE ON artists BEGIN
    DELETE FROM search_docs WHERE kind = 'artist' AND ref_id = old.id;
END;
