-- Search on PostgreSQL, word by word: every word of every search document, by kind
-- (1 track, 2 album, 3 artist, 4 playlist) and field (1 name, 2 artist, 3 album), in a
-- B-tree. A prefix is a range of it that can be walked in order and stopped after the
-- first few hundred documents; the GIN index has to gather every document a prefix
-- matches before the first one is looked at, which took 60 ms for a three-letter prefix
-- matching a fifth of 1,000,000 tracks. Words are what the application folded, split on
-- its spaces, so the ranges agree with the vocabulary in search_terms.
CREATE TABLE search_words (
    kind  SMALLINT NOT NULL,
    field SMALLINT NOT NULL,
    word  TEXT COLLATE "C" NOT NULL,
    doc   BIGINT NOT NULL,
    PRIMARY KEY (kind, field, word, doc)
);

-- A document's words: its rows of search_words, one per kind, field and word.
CREATE FUNCTION search_doc_words(kind TEXT, id BIGINT, name TEXT, artist TEXT, album TEXT)
RETURNS TABLE (kind SMALLINT, field SMALLINT, word TEXT, doc BIGINT)
LANGUAGE sql IMMUTABLE AS $$
    SELECT DISTINCT
        CAST(CASE kind WHEN 'track' THEN 1 WHEN 'album' THEN 2 WHEN 'artist' THEN 3 ELSE 4 END AS SMALLINT),
        CAST(f.field AS SMALLINT), w.word, id
    FROM (VALUES (1, name), (2, artist), (3, album)) f(field, txt),
        LATERAL regexp_split_to_table(f.txt, ' ') w(word)
    WHERE w.word <> ''
$$;

-- Kept by triggers once per statement, so a batch of documents is split in one go. (No
-- foreign key: the delete finds the rows by their key, with no second index on doc.)
CREATE FUNCTION search_words_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (kind, field, word, doc)
    SELECT w.* FROM new_docs n, LATERAL search_doc_words(n.kind, n.id, n.name, n.artist, n.album) w
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER search_docs_words_add AFTER INSERT ON search_docs
    REFERENCING NEW TABLE AS new_docs FOR EACH STATEMENT EXECUTE FUNCTION search_words_add();

CREATE FUNCTION search_words_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_words s
    USING old_docs o, LATERAL search_doc_words(o.kind, o.id, o.name, o.artist, o.album) w
    WHERE s.kind = w.kind AND s.field = w.field AND s.word = w.word AND s.doc = w.doc;
    RETURN NULL;
END
$$;
CREATE TRIGGER search_docs_words_forget AFTER DELETE ON search_docs
    REFERENCING OLD TABLE AS old_docs FOR EACH STATEMENT EXECUTE FUNCTION search_words_forget();

-- The documents indexed before this table existed.
INSERT INTO search_words (kind, field, word, doc)
SELECT w.* FROM search_docs d, LATERAL search_doc_words(d.kind, d.id, d.name, d.artist, d.album) w;
