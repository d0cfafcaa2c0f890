-- Seats held for invitations being accepted (HoldSeats): counted against workspace seat
-- limits and the account's seat allowance like members, under the same locks, until
-- AddMember takes the hold, ReleaseSeats frees it or expires_at passes. An expired hold
-- counts for nothing; the next hold in the account deletes it.
CREATE TABLE seat_holds (
    account_id    uuid NOT NULL REFERENCES accounts ON DELETE CASCADE,
    hold_id       uuid NOT NULL,
    workspace_ids uuid[] NOT NULL,
    -- The person who will join, when they already exist; NULL for one yet to be created.
    user_id       uuid,
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (account_id, hold_id)
);
CREATE UNIQUE INDEX seat_holds_by_id ON seat_holds (hold_id);
