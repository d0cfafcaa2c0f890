-- An operator-set seat allowance per account (distinct users holding a seat in any of its
-- workspaces; 0 means none) and the account's invitation scope ('workspaces': invitations
-- join the workspaces they name; 'account': every invitation joins every workspace).
ALTER TABLE accounts
    ADD COLUMN seat_allowance   integer NOT NULL DEFAULT 0 CHECK (seat_allowance >= 0),
    ADD COLUMN invitation_scope text NOT NULL DEFAULT 'workspaces'
        CHECK (invitation_scope IN ('workspaces', 'account'));

-- Counting an account's distinct seated users, and whether a user is one of them, under
-- the account's row lock.
CREATE INDEX members_seated_by_account ON members (account_id, user_id) WHERE status <> 'removed';
