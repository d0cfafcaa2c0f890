//! Following identity's user change feed into the local copy of users.
use std::time::Duration;

use roster_kit::clock::from_timestamp;

use super::*;

const USER_FEED: &str = "identity.users";
const FEED_PAGE: i32 = 500;

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

impl Membership {
    /// Follows identity's user feed until `shutdown`: polls every `user_feed_poll` once
    /// caught up, at once while pages come back full, and backs off while identity is
    /// unreachable.
    pub async fn run_user_follower(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut failures = 0_u32;
        loop {
            let wait = match self.follow_once().await {
                Ok(true) => Duration::ZERO,
                Ok(false) => {
                    failures = 0;
                    self.config.user_feed_poll
                }
                Err(error) => {
                    failures += 1;
                    if failures == 1 || failures.is_power_of_two() {
                        warn!(error = %error, failures, "following identity's user feed failed");
                    }
                    self.config.user_feed_poll * failures.min(20)
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Applies one page of the feed; whether more may follow at once.
    async fn follow_once(&self) -> Result<bool> {
        let after = store::feed_position(&self.pool.get().await?, USER_FEED).await?;
        let request = self.to_identity(identity_pb::ListUserChangesRequest {
            after_sequence: after,
            page_size: FEED_PAGE,
        });
        let page = self
            .identity
            .clone()
            .list_user_changes(request)
            .await
            .map_err(|status| from_status("identity", &status))?
            .into_inner();
        if page.changes.is_empty() {
            return Ok(false);
        }
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let mut changed_accounts = Vec::new();
        for change in &page.changes {
            let user = change.user.clone().unwrap_or_default();
            let copy = user_copy(&user, change.sequence)?;
            changed_accounts.extend(store::upsert_user(&tx, &copy).await?);
        }
        changed_accounts.sort_unstable();
        changed_accounts.dedup();
        for account_id in &changed_accounts {
            notify_access_changed(&tx, *account_id).await?;
        }
        store::advance_feed(&tx, USER_FEED, page.last_sequence).await?;
        tx.commit().await?;
        for account_id in changed_accounts {
            self.access_changed(account_id);
        }
        Ok(page.changes.len() >= FEED_PAGE as usize)
    }
}
