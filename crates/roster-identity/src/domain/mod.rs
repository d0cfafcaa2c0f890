//! Identity's rules: who may do what to which user, and what each action changes.
//! Every mutation runs in one transaction with its audit event (and outbox row).
mod administration;
mod api_keys;
mod bootstrap;
mod email;
mod feed;
pub(crate) mod hashing;
mod impersonation;
mod invited;
pub(crate) mod model;
mod passwords;
mod push;
mod sessions;
mod status;
mod throttle;
mod users;

pub use administration::AdministrationCheck;
pub(crate) use impersonation::impersonation_forbidden;
pub(crate) use push::Pushed;
pub(crate) use status::StatusChange;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use roster_kit::audit::{self, AuditRecord, Changes};
use roster_kit::auth::{Caller, Principal};
use roster_kit::changes::UserWatch;
use roster_kit::clock::{SharedClock, to_chrono};
use roster_kit::db::{GenericClient, Pool};
use roster_kit::outbox::{self, OutboxMessage};
use roster_kit::{Error, Result, token};
use roster_proto::types::ErrorReason;
use serde_json::json;
use uuid::Uuid;

use self::hashing::{HashingLimits, PasswordHasher};
use self::model::{Kind, Status, UserRecord, effective_status};
use crate::IdentityConfig;
use crate::store::{self, NewUser};
pub(crate) use crate::store::{UserOrder, UserQuery};

const SESSION_PREFIX: &str = "rss";
const API_KEY_PREFIX: &str = "rak";
const RESET_PREFIX: &str = "rpr";
const EMAIL_CHANGE_PREFIX: &str = "rec";

/// A token resolved for identity's own RPCs.
#[derive(Debug, Clone)]
pub(crate) struct Authenticated {
    pub(crate) principal: Principal,
    /// Opened with a temporary password: only ChangePassword and Logout are allowed.
    pub(crate) password_change_only: bool,
    /// When the session or API key expires (`None`: never).
    pub(crate) expire_time: Option<prost_types::Timestamp>,
}

/// The identity service's domain.
#[derive(Debug, Clone)]
pub struct Identity {
    pool: Pool,
    clock: SharedClock,
    config: IdentityConfig,
    hasher: PasswordHasher,
    /// Membership's answers to "may this account administrator act on that user?" and
    /// "may this user reset their password by email?"; without it only operators may act
    /// on users, and every person may reset (no membership, no account to forbid it).
    administration: Option<AdministrationCheck>,
    /// Wakes the feed's streams and the writers waiting for its watchers.
    push: Arc<push::Push>,
    /// The process's watch of the feed, whose cache answers `Authenticate` while current.
    watch: Option<Arc<UserWatch>>,
}

/// Operators, and Roster's own services (which follow the user feed and look users up).
fn require_operator_or_service(caller: &Caller) -> Result<&Principal> {
    let principal = caller.principal()?;
    if principal.is_roster_service {
        Ok(principal)
    } else {
        caller.operator()
    }
}

fn require_self_or_operator(caller: &Caller, user_id: Uuid) -> Result<&Principal> {
    let principal = caller.principal()?;
    if principal.is_operator || principal.user_id == user_id {
        Ok(principal)
    } else {
        Err(Error::permission_denied(
            "only platform operators may act on other users",
        ))
    }
}

fn invalid_credentials() -> Error {
    Error::refused(
        ErrorReason::InvalidCredentials,
        "email or password is incorrect",
    )
}

fn token_invalid() -> Error {
    Error::refused(
        ErrorReason::TokenInvalid,
        "the link is invalid, already used or expired",
    )
}

/// Refuses a user who may not authenticate now.
fn check_can_authenticate(
    status: Status,
    locked_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    match effective_status(status, locked_until, now) {
        Status::Active => Ok(()),
        Status::Disabled => Err(Error::refused(
            ErrorReason::UserDisabled,
            "this user is disabled by an administrator",
        )),
        Status::Locked => {
            let error = Error::refused(ErrorReason::UserLocked, "this user is locked");
            Err(match locked_until {
                Some(until) => error.with_metadata("lock_expire_time", until.to_rfc3339()),
                None => error,
            })
        }
    }
}

impl Identity {
    /// The domain over `pool`, reading time from `clock`; `administration` lets account
    /// administrators act on their users. Starts the password hashing threads.
    pub fn new(
        pool: Pool,
        clock: SharedClock,
        config: IdentityConfig,
        administration: Option<AdministrationCheck>,
    ) -> Result<Self> {
        let hasher = PasswordHasher::new(HashingLimits {
            threads: config.password_hash_threads,
            queue: config.password_hash_queue,
            wait: config.password_hash_wait,
        })?;
        Ok(Self {
            pool,
            clock,
            config,
            hasher,
            administration,
            push: Arc::default(),
            watch: None,
        })
    }

    /// Answers `Authenticate` from `watch`'s cache while it holds a lease.
    #[must_use]
    pub fn cached_by(mut self, watch: Arc<UserWatch>) -> Self {
        self.watch = Some(watch);
        self
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The proxies whose `x-forwarded-for` names a login's source.
    pub(crate) fn trusted_proxies(&self) -> &crate::TrustedProxies {
        &self.config.trusted_proxies
    }

    async fn load(
        &self,
        db: &impl GenericClient,
        user_id: Uuid,
        for_update: bool,
    ) -> Result<UserRecord> {
        let found = if for_update {
            store::lock_user(db, user_id).await?
        } else {
            store::get_user(db, user_id).await?
        };
        found.ok_or_else(|| Error::not_found("user", user_id))
    }

    /// Inserts a user; a taken email is `EMAIL_TAKEN`.
    async fn insert_user(
        &self,
        db: &impl GenericClient,
        user: &NewUser<'_>,
        now: DateTime<Utc>,
    ) -> Result<UserRecord> {
        store::insert_user(db, user, now).await
    }

    async fn audit_user(
        &self,
        db: &impl GenericClient,
        caller: &Caller,
        now: DateTime<Utc>,
        action: &str,
        user_id: Uuid,
        changes: Changes,
    ) -> Result<()> {
        audit::record(
            db,
            caller,
            now,
            AuditRecord {
                action,
                target_type: "user",
                target_id: user_id.to_string(),
                account_id: None,
                changes,
            },
        )
        .await
    }
}

fn wrong_kind() -> Error {
    Error::refused(
        ErrorReason::WrongUserKind,
        "service accounts have no password; use API keys",
    )
}

/// The refusal for sessions opened with a temporary password (anything but
/// ChangePassword and Logout).
pub(crate) fn password_change_required() -> Error {
    Error::refused(
        ErrorReason::PasswordChangeRequired,
        "this session was opened with a temporary password: change the password first",
    )
}

/// Queues the "your account is locked" email for `user` (locked until `until`, or
/// indefinitely), in the caller's transaction.
async fn enqueue_lock_notice(
    db: &impl GenericClient,
    now: DateTime<Utc>,
    user: &UserRecord,
    until: Option<DateTime<Utc>>,
) -> Result<()> {
    let variables = json!({
        "display_name": user.display_name,
        "lock_expire_time": until,
    });
    enqueue_notice(db, now, "account_locked", user, variables).await
}

/// Queues the "someone is failing to sign in to your account" email for `user`, naming
/// the `source` whose attempts are slowed, in the caller's transaction.
async fn enqueue_failed_login_notice(
    db: &impl GenericClient,
    now: DateTime<Utc>,
    user: &UserRecord,
    source: &str,
) -> Result<()> {
    let variables = json!({
        "display_name": user.display_name,
        "source": source,
        "attempt_time": now,
    });
    enqueue_notice(db, now, "failed_sign_ins", user, variables).await
}

async fn enqueue_notice(
    db: &impl GenericClient,
    now: DateTime<Utc>,
    template: &str,
    user: &UserRecord,
    variables: serde_json::Value,
) -> Result<()> {
    let message = OutboxMessage {
        template,
        recipient: &user.email,
        variables,
        secret_variables: None,
    };
    outbox::enqueue(db, now, message).await.map(drop)
}

/// A caller acting as `user` itself, for the actions a user does without a bearer token
/// (login, confirming an email, resetting a password) or that are done as them.
fn acting_as(user: &UserRecord) -> Caller {
    let principal = Principal {
        user_id: user.id,
        is_service: user.kind == Kind::Service,
        is_operator: user.is_operator,
        impersonator_id: None,
        email: user.email.clone(),
        session_id: None,
        api_key_id: None,
        is_roster_service: false,
    };
    Caller {
        principal: Some(principal),
        request_id: String::new(),
    }
}

/// The caller of a public RPC: nobody, with `request_id` scoped to the credential the call
/// presents (a token, an email), so one anonymous caller's request_id never answers
/// another's call.
fn anonymous(request_id: &str, credential: &str) -> Caller {
    let request_id = if request_id.is_empty() {
        String::new()
    } else {
        let digest: String = token::hash(credential)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!("{request_id}/{digest}")
    };
    Caller {
        principal: None,
        request_id,
    }
}

/// A caller who is `user_id` and nothing more, for looking up that user's request log.
fn actor(user_id: Uuid, request_id: &str) -> Caller {
    Caller {
        principal: Some(Principal {
            user_id,
            is_service: false,
            is_operator: false,
            impersonator_id: None,
            email: String::new(),
            session_id: None,
            api_key_id: None,
            is_roster_service: false,
        }),
        request_id: request_id.to_owned(),
    }
}

/// The start of an API key's secret, shown in lists so people can tell keys apart.
fn secret_prefix(secret: &str) -> String {
    secret.chars().take(12).collect()
}
