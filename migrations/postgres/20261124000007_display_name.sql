-- The name shown in the app instead of the email address (optional).
ALTER TABLE users ADD COLUMN display_name TEXT;
