-- One statement for every change to a user: each assignment applies only when its
-- parameter is set. Every change takes a new feed position (the caller holds the feed lock).
UPDATE users SET
    display_name              = COALESCE($2, display_name),
    phone                     = COALESCE($3, phone),
    email                     = COALESCE($4, email),
    pending_email             = CASE WHEN $5 THEN $6 ELSE pending_email END,
    status                    = COALESCE($7, status),
    locked_until              = CASE WHEN $7::text IS NULL THEN locked_until ELSE $8 END,
    lock_reason               = CASE WHEN $7::text IS NULL THEN lock_reason ELSE $9 END,
    password_hash             = COALESCE($10, password_hash),
    password_change_required  = COALESCE($11, password_change_required),
    -- A new email starts unproven unless its proof comes with it; the same email keeps
    -- its first proof.
    email_verified_at         = CASE WHEN $4::text IS NOT NULL THEN $13
                                     ELSE COALESCE(email_verified_at, $13) END,
    updated_at                = $12,
    version                   = version + 1,
    change_seq                = nextval('user_change_seq')
WHERE user_id = $1
RETURNING user_id, kind, email, display_name, phone, description, platform_role, status, locked_until,
          password_hash, password_change_required, pending_email, invitation_id,
          email_verified_at, created_at, updated_at, version, change_seq
