-- When the user's current email was first proven to reach them: by accepting an
-- invitation sent to it, confirming an email change to it, or completing a password reset
-- sent to it. NULL while unproven; an email change sets it anew for the new address.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

-- People created for an invitation proved their address when they accepted it. They take
-- a new feed position, so followers (membership) copy the flag.
SELECT pg_advisory_xact_lock(hashtextextended('roster.identity.user_changes', 0));
UPDATE users SET email_verified_at = created_at, change_seq = nextval('user_change_seq')
WHERE invitation_id IS NOT NULL;
