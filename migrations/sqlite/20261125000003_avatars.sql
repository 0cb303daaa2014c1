-- A user's profile picture: the object key of a 256x256 PNG made from their upload.
-- The key changes with every new picture, so its URL can be cached for good.
ALTER TABLE users ADD COLUMN avatar_key TEXT;
