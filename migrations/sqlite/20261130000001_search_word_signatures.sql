-- PostgreSQL's migration of this version adds word signatures to its word table.
-- SQLite has no such table: FTS5 intersects the words of a query itself.
SELECT 1;
