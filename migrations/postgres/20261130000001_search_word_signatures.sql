-- Search on PostgreSQL, several words: every row of search_words carries a signature of
-- its document's words (a 128-bit Bloom filter of their first 2, 3 and 4 letters, in two
-- BIGINT halves), in the key's index. A search of several words walks the rarest word's
-- rows along the index and skips, on the index alone, the documents whose signature lacks
-- another word's bits; only the few that pass are read (301 of the 1,779 rows walked for
-- "oriori mar" at 1,000,000 tracks). Before, every walked document was read (about 5 us
-- each), or, when every word was common, the GIN index built a bitmap of every document
-- of each word (20 ms for "mar:*"). The walk now always runs, so the GIN indexes go.

-- The signature of some folded text, as two BIGINT halves: for each word (split on
-- spaces) and each k of 2, 3 and 4 up to its length, bit md5(first k letters)[0] mod 128.
-- A word's own signature is therefore contained in that of every text with a word
-- starting with it. (With 64 bits, a common start's bits covered another word's more
-- often.) PL/pgSQL: the same in SQL functions took 0.4 ms a document.
CREATE FUNCTION search_sig(txt TEXT) RETURNS BIGINT[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    s BIGINT[] := ARRAY[0, 0];
    w TEXT;
    b INT;
BEGIN
    FOREACH w IN ARRAY string_to_array(txt, ' ') LOOP
        FOR k IN 2..least(length(w), 4) LOOP
            b := get_byte(decode(md5(left(w, k)), 'hex'), 0) & 127;
            s[1 + (b >> 6)] := s[1 + (b >> 6)] | (CAST(1 AS BIGINT) << (b & 63));
        END LOOP;
    END LOOP;
    RETURN s;
END
$$;

-- New documents' words with their signature: computed once per document (MATERIALIZED;
-- beside the words as a plain subquery it was pulled up and computed for every word,
-- twice: 0.3 ms a document instead of 0.04). Deleting still needs only the words.
CREATE OR REPLACE FUNCTION search_words_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH n AS MATERIALIZED (
        SELECT d.*, search_sig(d.name || ' ' || d.artist || ' ' || d.album) AS g FROM new_docs d
    )
    INSERT INTO search_words (kind, field, word, doc, sig1, sig2)
    SELECT w.kind, w.field, w.word, w.doc, n.g[1], n.g[2]
    FROM n, LATERAL search_doc_words(n.kind, n.id, n.name, n.artist, n.album) w
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

-- Filled anew (one signature per document) and indexed once, which packs the index.
CREATE TABLE search_words_next (
    kind  SMALLINT NOT NULL,
    field SMALLINT NOT NULL,
    word  TEXT COLLATE "C" NOT NULL,
    doc   BIGINT NOT NULL,
    sig1  BIGINT NOT NULL,
    sig2  BIGINT NOT NULL
);
WITH n AS MATERIALIZED (
    SELECT d.*, search_sig(d.name || ' ' || d.artist || ' ' || d.album) AS g FROM search_docs d
)
INSERT INTO search_words_next (kind, field, word, doc, sig1, sig2)
SELECT w.kind, w.field, w.word, w.doc, n.g[1], n.g[2]
FROM n, LATERAL search_doc_words(n.kind, n.id, n.name, n.artist, n.album) w;
DROP TABLE search_words;
ALTER TABLE search_words_next RENAME TO search_words;
ALTER TABLE search_words ADD CONSTRAINT search_words_pkey PRIMARY KEY (kind, field, word, doc) INCLUDE (sig1, sig2);

DROP INDEX search_docs_track_tsv;
DROP INDEX search_docs_album_tsv;
DROP INDEX search_docs_artist_tsv;
DROP INDEX search_docs_playlist_tsv;
