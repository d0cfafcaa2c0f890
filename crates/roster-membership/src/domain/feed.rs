//! Following identity's user change feed into the local copy of users.
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use roster_kit::clock::from_timestamp;

use roster_kit::remote::answer;
use roster_kit::{Error, Result};
use roster_proto::identity as identity_pb;
use roster_proto::types::ErrorReason;
use tracing::{error, info, instrument, warn};

use super::Membership;
use crate::store::{self, UserCopy, notify_access_changed};

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

/// How current the local copy of users is: access checks trust it to allow only while the
/// follower has caught up with identity recently.
#[derive(Debug)]
pub(crate) struct FeedFreshness {
    started: Instant,
    /// Milliseconds after `started` at which the follower last saw the end of the feed;
    /// `u64::MAX` until it first has.
    caught_up_at: AtomicU64,
    max_lag: Duration,
}

impl FeedFreshness {
    pub(crate) fn new(max_lag: Duration) -> Self {
        Self {
            started: Instant::now(),
            caught_up_at: AtomicU64::new(u64::MAX),
            max_lag,
        }
    }

    fn caught_up(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.caught_up_at.store(now, Ordering::Release);
    }

    /// Whether the copy may be behind identity by more than the allowed lag.
    pub(crate) fn is_stale(&self) -> bool {
        let caught_up_at = self.caught_up_at.load(Ordering::Acquire);
        caught_up_at == u64::MAX
            || self.started.elapsed()
                > Duration::from_millis(caught_up_at).saturating_add(self.max_lag)
    }
}

/// The refusal of an answer that would trust a stale copy of users.
pub(crate) fn feed_behind() -> Error {
    Error::refused(
        ErrorReason::Unavailable,
        "user statuses from identity are not current; retry shortly",
    )
    .with_metadata("retry_after_seconds", "1")
}

impl Membership {
    /// Follows identity's user feed until `shutdown`: polls every `user_feed_poll` once
    /// caught up, at once while pages keep coming, and backs off while identity is
    /// unreachable. A page that cannot be applied is logged as an error on every attempt:
    /// meanwhile access checks refuse to allow (see [`FeedFreshness`]).
    pub async fn run_user_follower(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut failures = 0_u32;
        loop {
            let wait = match self.follow_once().await {
                Ok(true) => Duration::ZERO,
                Ok(false) => {
                    if failures > 0 {
                        info!(failures, "identity's user feed is followed again");
                    }
                    failures = 0;
                    self.feed.caught_up();
                    self.config.user_feed_poll
                }
                Err(error) => {
                    failures += 1;
                    if error.reason() == Some(ErrorReason::Unavailable) {
                        if failures == 1 || failures.is_power_of_two() {
                            warn!(error = %error, failures, "identity's user feed is unreachable");
                        }
                    } else {
                        error!(error = %error, failures, "a page of identity's user feed cannot be applied; access checks deny until it is");
                    }
                    // Backs off, but not past a second: while the feed is behind, access
                    // checks cannot allow, so it is retried soon after identity is back.
                    (self.config.user_feed_poll * failures.min(20))
                        .min(Duration::from_secs(1).max(self.config.user_feed_poll))
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Applies one page of the feed; whether more may follow at once.
    #[instrument(skip_all, name = "membership.domain.follow_once")]
    async fn follow_once(&self) -> Result<bool> {
        let after = store::feed_position(&self.pool.get().await?, USER_FEED).await?;
        let request = identity_pb::ListUserChangesRequest {
            after_sequence: after,
            page_size: FEED_PAGE,
        };
        let page = answer("identity", self.identity.clone().list_user_changes(request)).await?;
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
        // Pages are bounded by bytes too, so a short page does not mean the end: only an
        // empty one does.
        Ok(true)
    }
}
