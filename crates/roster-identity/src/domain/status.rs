//! Disable, enable, lock and unlock.
use chrono::{DateTime, Utc};
use roster_kit::audit::Changes;
use roster_kit::auth::Caller;
use roster_kit::requests::Replay;
use roster_kit::{Error, Result, requests};
use roster_proto::identity as pb;
use roster_proto::types::ErrorReason;
use tracing::{info, instrument};
use uuid::Uuid;

use super::model::Status;
use super::{Identity, enqueue_lock_notice};
use crate::store::{self, UserPatch};

impl Identity {
    /// Disables, enables, locks or unlocks a user (operators, and administrators of
    /// every account of the user; never oneself).
    #[instrument(skip(self, caller), name = "identity.domain.set_status")]
    pub(crate) async fn set_status(
        &self,
        caller: &Caller,
        user_id: Uuid,
        change: StatusChange,
    ) -> Result<pb::User> {
        let (rpc, verb) = change.names();
        let principal = self
            .require_user_administrator(caller, user_id, verb)
            .await?;
        if matches!(change, StatusChange::Disable | StatusChange::Lock { .. }) {
            principal.forbid_self(user_id, verb)?;
        }
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) = requests::begin::<pb::User>(&tx, caller, rpc, now).await? {
            return Ok(previous);
        }
        let before = self.load(&tx, user_id, true).await?;
        let current = before.status_at(now);
        let target = match (&change, current) {
            (StatusChange::Disable, Status::Disabled)
            | (StatusChange::Enable | StatusChange::Unlock, Status::Active) => None,
            (StatusChange::Disable, _) => Some((Status::Disabled, None, String::new())),
            (StatusChange::Enable, Status::Disabled) => Some((Status::Active, None, String::new())),
            (StatusChange::Unlock, Status::Locked) => Some((Status::Active, None, String::new())),
            (StatusChange::Lock { until, reason }, Status::Active | Status::Locked) => {
                if until.is_some_and(|until| until <= now) {
                    return Err(Error::invalid("lock_expire_time", "must be in the future"));
                }
                Some((Status::Locked, *until, reason.clone()))
            }
            (StatusChange::Enable, Status::Locked)
            | (StatusChange::Unlock | StatusChange::Lock { .. }, Status::Disabled) => {
                return Err(Error::refused(
                    ErrorReason::InvalidState,
                    format!("the user is {}; {rpc} does not apply", current.as_db()),
                ));
            }
        };
        let Some(target) = target else {
            // Already in the asked-for state: nothing changes, nothing is recorded.
            return Ok(before.to_proto(now));
        };
        let ends_sessions = target.0 != Status::Active;
        let after = store::update_user(
            &tx,
            user_id,
            UserPatch {
                status: Some(target),
                ..UserPatch::default()
            },
            now,
        )
        .await?;
        if ends_sessions {
            store::revoke_sessions(&tx, user_id, None, now).await?;
        }
        let changes = Changes::new()
            .field("status", current.as_db(), after.status.as_db())
            .field("lock_expire_time", before.locked_until, after.locked_until);
        self.audit_user(
            &tx,
            caller,
            now,
            &format!("identity.user.{verb}"),
            user_id,
            changes,
        )
        .await?;
        if let StatusChange::Lock { until, .. } = &change {
            enqueue_lock_notice(&tx, now, &after, *until).await?;
        }
        let answer = after.to_proto(now);
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        info!(user_id = %user_id, status = after.status.as_db(), "user status changed");
        Ok(answer)
    }
}

/// A status change asked of `set_status`.
#[derive(Debug, Clone)]
pub(crate) enum StatusChange {
    Disable,
    Enable,
    Lock {
        until: Option<DateTime<Utc>>,
        reason: String,
    },
    Unlock,
}

impl StatusChange {
    /// The RPC (for the request log) and the verb (for messages and the audit action).
    fn names(&self) -> (&'static str, &'static str) {
        match self {
            Self::Disable => ("DisableUser", "disable"),
            Self::Enable => ("EnableUser", "enable"),
            Self::Lock { .. } => ("LockUser", "lock"),
            Self::Unlock => ("UnlockUser", "unlock"),
        }
    }
}
