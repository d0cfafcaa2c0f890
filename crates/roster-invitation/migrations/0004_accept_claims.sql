-- An acceptance in progress holds no transaction while it calls identity and membership:
-- it claims the invitation (claim_id, until claim_until) in a short transaction, and a
-- claim whose lease has ended (its attempt crashed) is taken over by the next attempt.
-- accept_answer is the AcceptInvitationResponse kept for the accepter's retries, without
-- its session (never stored); accepted_new_user says the accepter registered through this
-- invitation (so only a retry with their password is answered as theirs).
ALTER TABLE invitations
    ADD COLUMN claim_id          uuid,
    ADD COLUMN claim_until       timestamptz,
    ADD COLUMN accept_answer     bytea,
    ADD COLUMN accepted_new_user boolean;
