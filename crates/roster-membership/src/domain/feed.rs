//! Identity's pushed user change feed, applied to the local copy of users.
use std::sync::Arc;

use roster_kit::changes::{ChangeSink, SinkFuture};
use roster_kit::clock::from_timestamp;

use roster_kit::remote::answer;
use roster_kit::{Error, Result};
use roster_proto::identity as identity_pb;
use roster_proto::types::ErrorReason;
use tracing::{error, instrument};
use uuid::Uuid;

use super::Membership;
use crate::store::{self, Upserted, UserCopy, notify_access_changed};

const USER_FEED: &str = "identity.users";

/// The local copy of an identity user, at feed position `sequence`.
pub(crate) fn user_copy(user: &identity_pb::User, sequence: i64) -> Result<UserCopy> {
    let user_id = roster_kit::auth::parse_id("user.user_id", &user.user_id)
        .map_err(|e| Error::internal("identity answered a malformed user", e))?;
    Ok(UserCopy {
        user_id,
        kind: if user.kind() == identity_pb::UserKind::Service {
            "service"
        } else {
            "human"
        },
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        status: match user.status() {
            identity_pb::UserStatus::Disabled => "disabled",
            identity_pb::UserStatus::Locked => "locked",
            identity_pb::UserStatus::Active | identity_pb::UserStatus::Unspecified => "active",
        },
        locked_until: user
            .lock_expire_time
            .as_ref()
            .map(|t| from_timestamp("lock_expire_time", t))
            .transpose()?,
        is_operator: user.platform_role() == identity_pb::PlatformRole::Operator,
        email_verified_at: user
            .email_verify_time
            .as_ref()
            .filter(|_| user.email_verified)
            .map(|t| from_timestamp("email_verify_time", t))
            .transpose()?,
        change_seq: sequence,
    })
}

/// Membership's copy of users, kept by identity's pushed feed: each replica applies every
/// push itself (idempotently: a user's copy only moves forward) before the process
/// acknowledges it, so a replica holding a lease reads a copy that has every answered
/// disable and lock.
pub(crate) struct UserCopySink(pub(crate) Arc<Membership>);

impl ChangeSink for UserCopySink {
    fn reset(&self) {
        self.0.cache.clear();
    }

    fn resume_after(&self) -> SinkFuture<'_, Option<i64>> {
        Box::pin(async move {
            let position = store::feed_position(&self.0.pool.get().await?, USER_FEED).await?;
            Ok(Some(position))
        })
    }

    fn apply<'a>(
        &'a self,
        changes: &'a [identity_pb::UserChange],
        last_sequence: i64,
    ) -> SinkFuture<'a, ()> {
        Box::pin(self.0.apply_user_changes(changes, last_sequence))
    }
}

impl Membership {
    /// Applies one push of identity's feed to the copy of users and tells every replica's
    /// access cache which accounts it touched.
    #[instrument(skip_all, name = "membership.domain.apply_user_changes")]
    async fn apply_user_changes(
        &self,
        changes: &[identity_pb::UserChange],
        last_sequence: i64,
    ) -> Result<()> {
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let (mut changed_accounts, mut stored_by_others) = (Vec::new(), Vec::new());
        for change in changes {
            let user = change.user.clone().unwrap_or_default();
            let copy = user_copy(&user, change.sequence)?;
            match store::upsert_user(&tx, &copy).await? {
                Upserted::Stored(accounts) => changed_accounts.extend(accounts),
                Upserted::AlreadyStored(accounts) => stored_by_others.extend(accounts),
            }
        }
        changed_accounts.sort_unstable();
        changed_accounts.dedup();
        for account_id in &changed_accounts {
            notify_access_changed(&tx, *account_id).await?;
        }
        store::advance_feed(&tx, USER_FEED, last_sequence).await?;
        tx.commit().await.inspect_err(|error| {
            error!(error = %error, "a push of identity's user feed cannot be applied; access checks ask identity until it is");
        })?;
        // Before this push is acknowledged: the notice of what another process stored may
        // still be on its way here.
        for account_id in changed_accounts.into_iter().chain(stored_by_others) {
            self.access_changed(account_id);
        }
        Ok(())
    }

    /// The user as identity has them now: what access checks use while this process holds
    /// no lease on the feed (its copy may lack a disable).
    pub(crate) async fn user_from_source(&self, user_id: Uuid) -> Result<Option<UserCopy>> {
        let request = identity_pb::GetUserRequest {
            user_id: user_id.to_string(),
        };
        match answer("identity", self.identity.clone().get_user(request)).await {
            Ok(found) => user_copy(&found.user.unwrap_or_default(), 0).map(Some),
            Err(error) if error.reason() == Some(ErrorReason::NotFound) => Ok(None),
            Err(error) => Err(error),
        }
    }
}
