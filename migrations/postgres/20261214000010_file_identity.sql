-- A scanned file's device and inode numbers as the scan saw them: a file opened for
-- playing must still be that file (one replaced since, by a hard link to a file elsewhere
-- say, is refused until a scan reads it). NULL for rows written before this: those are
-- checked for staying inside their folder only, and get theirs when they next change.
ALTER TABLE library_files ADD COLUMN dev BIGINT;
ALTER TABLE library_files ADD COLUMN ino BIGINT;
