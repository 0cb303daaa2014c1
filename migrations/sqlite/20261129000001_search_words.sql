-- PostgreSQL's migration of this version adds a word table to walk prefixes in order.
-- SQLite needs none: FTS5 keeps prefix indexes of its own (see 20261126000001_search.sql).
SELECT 1;
