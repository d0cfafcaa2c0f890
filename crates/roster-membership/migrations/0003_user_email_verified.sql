-- When identity says the user's email was proven (email_verified), copied from its change
-- feed for member lists; NULL while unproven. Copies made before this column existed fill
-- in with the user's next change.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
