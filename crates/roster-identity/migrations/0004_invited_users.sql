-- The invitation a person was created for (ProvisionInvitedUser): a retried acceptance
-- finds the same user again, and one invitation never makes two users.
ALTER TABLE users ADD COLUMN invitation_id uuid UNIQUE;
