-- The link a URL import fetches its audio from (source 'url').
ALTER TABLE import_jobs ADD COLUMN source_url TEXT;
