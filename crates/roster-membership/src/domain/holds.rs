//! Seat holds: a seat in each workspace an invitation joins, and a place of the account's
//! seat allowance, reserved before the invitation service creates the person accepting
//! it, so an acceptance refused for seats leaves no account behind. A hold is counted
//! like a member, under the same locks, until AddMember takes it (its request_id is the
//! hold's id), ReleaseSeats frees it or it expires on its own, so a crashed acceptance
//! frees its seats without anyone's help.
use chrono::{DateTime, Utc};
use roster_kit::auth::Caller;
use roster_kit::{Error, Result, requests};
use roster_proto::membership as pb;
use tracing::instrument;
use uuid::Uuid;

use super::{Membership, held_in, seat_limit_reached};
use crate::store::{self, NewSeatHold};

/// What HoldSeats reserves.
#[derive(Debug, Clone)]
pub(crate) struct SeatHold {
    /// The invitation's id, which AddMember's request_id repeats to take the hold.
    pub(crate) id: Uuid,
    pub(crate) account_id: Uuid,
    /// `None`: every workspace of the account.
    pub(crate) workspace_ids: Option<Vec<Uuid>>,
    /// The person who will join, when they exist already.
    pub(crate) user_id: Option<Uuid>,
    pub(crate) ttl: chrono::Duration,
}

fn require_roster_service(caller: &Caller) -> Result<()> {
    if caller.principal()?.is_roster_service {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "only Roster's services may hold seats",
        ))
    }
}

impl Membership {
    /// Holds (or renews) the seats of `hold`; when it ends, or `None` when AddMember has
    /// already made its member (Roster services).
    #[instrument(skip(self, caller), name = "membership.domain.hold_seats")]
    pub(crate) async fn hold_seats(
        &self,
        caller: &Caller,
        hold: SeatHold,
    ) -> Result<Option<DateTime<Utc>>> {
        require_roster_service(caller)?;
        let now = self.now();
        let joined = Caller {
            principal: caller.principal.clone(),
            request_id: hold.id.to_string(),
        };
        {
            let db = self.pool.get().await?;
            // A retry after the member was added: the member holds the seat now, and
            // counting it again would refuse the acceptance it belongs to.
            if requests::answered::<pb::AddMemberResponse>(&db, &joined, "AddMember")
                .await?
                .is_some()
            {
                return Ok(None);
            }
            // On its own, before any lock: it waits for nothing this request holds.
            store::delete_expired_seat_holds(&db, hold.account_id, now).await?;
        }
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        // A renewal is counted afresh, without the seats it held.
        store::delete_seat_hold(&tx, hold.id).await?;
        let account = self.account(&tx, hold.account_id, false).await?;
        let allowance_refusal = self.allowance_refusal(&tx, &account, hold.user_id).await?;
        let workspaces = self
            .lock_joined_workspaces(&tx, hold.account_id, hold.workspace_ids.as_deref())
            .await?;
        let held = store::held_seats(&tx, hold.account_id, now).await?;
        if let Some(full) = workspaces
            .iter()
            .find(|w| !w.has_free_seat(held_in(&held, w.id)))
        {
            return Err(seat_limit_reached(full));
        }
        if let Some(refusal) = allowance_refusal {
            return Err(refusal);
        }
        let expires_at = now + hold.ttl;
        let workspace_ids: Vec<Uuid> = workspaces.iter().map(|w| w.id).collect();
        store::insert_seat_hold(
            &tx,
            &NewSeatHold {
                account_id: hold.account_id,
                hold_id: hold.id,
                workspace_ids: &workspace_ids,
                user_id: hold.user_id,
                expires_at,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(expires_at))
    }

    /// Frees the hold `hold_id` at once, if it is still there (Roster services).
    #[instrument(skip(self, caller), name = "membership.domain.release_seats")]
    pub(crate) async fn release_seats(&self, caller: &Caller, hold_id: Uuid) -> Result<()> {
        require_roster_service(caller)?;
        store::delete_seat_hold(&self.pool.get().await?, hold_id).await
    }
}
