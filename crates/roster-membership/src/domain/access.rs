//! Access checks: "may this user do that in this workspace?", answered from one indexed
//! lookup, cached per replica and invalidated by Postgres notifications on every change of
//! membership and by identity's pushed feed for every change of a user.
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use roster_kit::auth::Caller;
use roster_kit::cache::GroupCache;
use roster_kit::{Error, Result};
use roster_proto::membership as pb;
use tracing::{info, instrument, warn};
use uuid::Uuid;

use super::Membership;
use crate::domain::model::{MemberStatus, identity_status};
use crate::store::{self, AccessFacts};

/// Roster's own permissions, as `ListPermissions` describes them.
pub(crate) const PERMISSIONS: &[(&str, &str)] = &[
    (
        "roster.members.read",
        "See the workspace, its members, roles and seat usage",
    ),
    ("roster.members.invite", "Invite people to the workspace"),
    (
        "roster.members.manage",
        "Change members' roles; suspend, resume, remove, restore and purge members",
    ),
    (
        ROLES_MANAGE,
        "Create, change and delete the account's custom roles",
    ),
    (
        "roster.assets.transfer",
        "Choose who receives a removed member's assets",
    ),
    (
        "roster.workspaces.manage",
        "Rename the workspace and choose its default role",
    ),
];

/// Every permission: what the built-in admin role holds.
pub(crate) const ALL_PERMISSIONS: &str = "*";

/// Managing the account's custom roles (asked across the account, not of one workspace).
pub(crate) const ROLES_MANAGE: &str = "roster.roles.manage";

/// Whether roles holding `held` grant `permission`.
pub(crate) fn grants(held: &[String], permission: &str) -> bool {
    held.iter().any(|p| p == permission || p == ALL_PERMISSIONS)
}

/// Asks for no permission at all: any active member (or administrator) is allowed.
pub(crate) const ANY_ROLE: &str = "";

/// Whether `permission` is a permission string: two or more dot-separated segments of
/// lower-case letters, digits and underscores, each starting with a letter.
pub(crate) fn is_permission(permission: &str) -> bool {
    let segments: Vec<&str> = permission.split('.').collect();
    permission.len() <= 128
        && segments.len() >= 2
        && segments.iter().all(|segment| {
            segment.starts_with(|c: char| c.is_ascii_lowercase())
                && segment
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

/// An access check's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    GrantedByRole,
    AccountAdministrator,
    PlatformOperator,
    NotAMember,
    MemberSuspended,
    PermissionNotGranted,
    UserDisabled,
    UserLocked,
}

impl Decision {
    pub(crate) fn allowed(self) -> bool {
        matches!(
            self,
            Self::GrantedByRole | Self::AccountAdministrator | Self::PlatformOperator
        )
    }

    pub(crate) fn to_proto(self) -> pb::CheckPermissionResponse {
        let reason = match self {
            Self::GrantedByRole => pb::AccessReason::GrantedByRole,
            Self::AccountAdministrator => pb::AccessReason::AccountAdministrator,
            Self::PlatformOperator => pb::AccessReason::PlatformOperator,
            Self::NotAMember => pb::AccessReason::NotAMember,
            Self::MemberSuspended => pb::AccessReason::MemberSuspended,
            Self::PermissionNotGranted => pb::AccessReason::PermissionNotGranted,
            Self::UserDisabled => pb::AccessReason::UserDisabled,
            Self::UserLocked => pb::AccessReason::UserLocked,
        };
        pb::CheckPermissionResponse {
            allowed: self.allowed(),
            reason: reason.into(),
        }
    }

    /// The answer for `permission` given what is known of the user at `now`.
    fn from_facts(facts: &AccessFacts, permission: &str, now: DateTime<Utc>) -> Self {
        let Some(status) = &facts.identity_status else {
            return Self::NotAMember;
        };
        match identity_status(status, facts.locked_until, now) {
            pb::IdentityStatus::Disabled => return Self::UserDisabled,
            pb::IdentityStatus::Locked => return Self::UserLocked,
            pb::IdentityStatus::Active | pb::IdentityStatus::Unspecified => {}
        }
        if facts.is_operator {
            return Self::PlatformOperator;
        }
        if facts.is_account_administrator {
            return Self::AccountAdministrator;
        }
        match facts.member_status {
            None | Some(MemberStatus::Removed) => Self::NotAMember,
            Some(MemberStatus::Suspended) => Self::MemberSuspended,
            Some(MemberStatus::Active)
                if permission == ANY_ROLE || grants(&facts.permissions, permission) =>
            {
                Self::GrantedByRole
            }
            Some(MemberStatus::Active) => Self::PermissionNotGranted,
        }
    }
}

/// Access facts by (workspace, user), in groups by account: an entry is used only while
/// its account has had no change notice since it was stored, and for at most the ttl.
pub(crate) struct AccessCache {
    facts: GroupCache<(Uuid, Uuid), AccessFacts>,
    /// Off while the change listener is not connected (a notice could be missed).
    listening: AtomicBool,
}

impl std::fmt::Debug for AccessCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessCache")
            .field("facts", &self.facts)
            .finish_non_exhaustive()
    }
}

impl AccessCache {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            facts: GroupCache::new(ttl, capacity),
            listening: AtomicBool::new(false),
        }
    }

    fn listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    fn get(&self, key: (Uuid, Uuid)) -> Option<AccessFacts> {
        if !self.listening() {
            return None;
        }
        self.facts.get(&key)
    }

    /// Stores facts read after `ticket` (from [`Self::ticket`]) unless anything was
    /// invalidated since.
    fn put(&self, key: (Uuid, Uuid), facts: AccessFacts, ticket: u64) {
        if self.listening() {
            let account_id = facts.account_id;
            self.facts.put(key, facts, account_id, ticket, None);
        }
    }

    fn ticket(&self) -> u64 {
        self.facts.ticket()
    }

    pub(crate) fn invalidate_account(&self, account_id: Uuid) {
        self.facts.invalidate_group(account_id);
    }

    pub(crate) fn clear(&self) {
        self.facts.clear();
    }

    fn set_listening(&self, listening: bool) {
        self.listening.store(listening, Ordering::Release);
        self.clear();
    }
}

impl Membership {
    /// The access facts of a user in a workspace (`None`: no such workspace). While this
    /// process holds a lease on identity's feed they come from the cache or the copy of
    /// users; without one, the user's identity status comes from identity itself.
    async fn facts(&self, workspace_id: Uuid, user_id: Uuid) -> Result<Option<AccessFacts>> {
        let key = (workspace_id, user_id);
        let current = self.watch.is_current();
        if current && let Some(facts) = self.cache.get(key) {
            return Ok(Some(facts));
        }
        let ticket = self.cache.ticket();
        let facts = store::access_facts(&self.pool.get().await?, workspace_id, user_id).await?;
        let Some(mut facts) = facts else {
            return Ok(None);
        };
        if current {
            self.cache.put(key, facts.clone(), ticket);
        } else {
            let user = self.user_from_source(user_id).await?;
            facts.identity_status = user.as_ref().map(|u| u.status.to_owned());
            facts.locked_until = user.as_ref().and_then(|u| u.locked_until);
            facts.is_operator = user.is_some_and(|u| u.is_operator);
        }
        Ok(Some(facts))
    }

    /// Whether `user_id` may use `permission` in the workspace (`None`: no such workspace).
    #[instrument(skip_all, name = "membership.domain.decide")]
    pub(crate) async fn decide(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        permission: &str,
    ) -> Result<Option<Decision>> {
        let facts = self.facts(workspace_id, user_id).await?;
        Ok(facts.map(|facts| Decision::from_facts(&facts, permission, self.now())))
    }

    /// Forgets cached answers about an account in this replica (others hear it by notice).
    pub(crate) fn access_changed(&self, account_id: Uuid) {
        self.cache.invalidate_account(account_id);
    }

    /// `CheckPermission`: operators, Roster services, service accounts, or a user about
    /// themself.
    #[instrument(skip(self, caller), name = "membership.domain.check_permission")]
    pub(crate) async fn check_permission(
        &self,
        caller: &Caller,
        user_id: Uuid,
        workspace_id: Uuid,
        permission: &str,
    ) -> Result<pb::CheckPermissionResponse> {
        let principal = caller.principal()?;
        if !(principal.is_operator
            || principal.is_roster_service
            || principal.is_service
            || principal.user_id == user_id)
        {
            return Err(Error::permission_denied(
                "only operators, service accounts and the user themself may check a user's access",
            ));
        }
        if !is_permission(permission) {
            return Err(Error::invalid(
                "permission",
                format!("{permission:?} is not a permission (e.g. \"flows.create\")"),
            ));
        }
        self.decide(workspace_id, user_id, permission)
            .await?
            .map(Decision::to_proto)
            .ok_or_else(|| Error::not_found("workspace", workspace_id))
    }

    /// Listens for access-change notices until `shutdown`, reconnecting after failures.
    /// The cache is used only while the listener is connected.
    pub async fn run_change_listener(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut backoff = Duration::from_millis(100);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                outcome = self.listen() => {
                    self.cache.set_listening(false);
                    if let Err(error) = outcome {
                        warn!(error = %error, "access change listener lost its connection");
                    }
                }
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
        self.cache.set_listening(false);
    }

    async fn listen(&self) -> Result<()> {
        store::listen_access_changes(
            &self.database_url,
            || {
                self.cache.set_listening(true);
                info!("listening for access changes");
            },
            |payload| match payload.parse() {
                Ok(account_id) => self.cache.invalidate_account(account_id),
                Err(_) => self.cache.clear(),
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(member_status: Option<MemberStatus>, permissions: &[&str]) -> AccessFacts {
        AccessFacts {
            account_id: Uuid::nil(),
            is_account_administrator: false,
            identity_status: Some("active".to_owned()),
            locked_until: None,
            is_operator: false,
            member_status,
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn permission_strings_are_dotted_lower_case_names() {
        for good in ["flows.create", "roster.members.read", "a1.b_2"] {
            assert!(is_permission(good), "{good}");
        }
        for bad in [
            "",
            "flows",
            "Flows.create",
            "flows..create",
            "1a.b",
            "a.b-c",
            "*",
        ] {
            assert!(!is_permission(bad), "{bad}");
        }
    }

    #[test]
    fn decisions_follow_identity_membership_then_roles() {
        let now = Utc::now();
        let member = facts(Some(MemberStatus::Active), &["flows.create"]);
        assert_eq!(
            Decision::from_facts(&member, "flows.create", now),
            Decision::GrantedByRole
        );
        assert_eq!(
            Decision::from_facts(&member, "flows.delete", now),
            Decision::PermissionNotGranted
        );
        let admin = facts(Some(MemberStatus::Active), &[ALL_PERMISSIONS]);
        assert!(Decision::from_facts(&admin, "anything.at_all", now).allowed());
        let suspended = facts(Some(MemberStatus::Suspended), &[ALL_PERMISSIONS]);
        assert_eq!(
            Decision::from_facts(&suspended, "flows.create", now),
            Decision::MemberSuspended
        );
        let removed = facts(Some(MemberStatus::Removed), &[ALL_PERMISSIONS]);
        assert_eq!(
            Decision::from_facts(&removed, "flows.create", now),
            Decision::NotAMember
        );
        let locked = AccessFacts {
            identity_status: Some("locked".to_owned()),
            locked_until: Some(now + chrono::Duration::minutes(5)),
            ..member.clone()
        };
        assert_eq!(
            Decision::from_facts(&locked, "flows.create", now),
            Decision::UserLocked
        );
        let lock_ended = AccessFacts {
            locked_until: Some(now - chrono::Duration::minutes(5)),
            ..locked
        };
        assert_eq!(
            Decision::from_facts(&lock_ended, "flows.create", now),
            Decision::GrantedByRole
        );
    }

    #[test]
    fn a_change_notice_makes_cached_answers_stale() {
        let cache = AccessCache::new(Duration::from_secs(60), 10);
        cache.set_listening(true);
        let key = (Uuid::now_v7(), Uuid::now_v7());
        let ticket = cache.ticket();
        cache.put(key, facts(Some(MemberStatus::Active), &[]), ticket);
        assert!(cache.get(key).is_some());
        cache.invalidate_account(Uuid::nil());
        assert!(cache.get(key).is_none());
        // A lookup that started before a notice does not store what it read.
        let stale_ticket = ticket;
        cache.put(key, facts(Some(MemberStatus::Active), &[]), stale_ticket);
        assert!(cache.get(key).is_none());
        // Without a listener nothing is cached.
        cache.set_listening(false);
        let ticket = cache.ticket();
        cache.put(key, facts(Some(MemberStatus::Active), &[]), ticket);
        assert!(cache.get(key).is_none());
    }
}
