//! Identity's rules: who may do what to which user, and what each action changes.
//! Every mutation runs in one transaction with its audit event (and outbox row).
pub(crate) mod model;
pub(crate) mod password;

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Pool};
use roster_kit::audit::{self, AuditRecord, Changes};
use roster_kit::auth::{Caller, Principal};
use roster_kit::clock::{SharedClock, to_timestamp};
use roster_kit::outbox::{self, OutboxMessage};
use roster_kit::paging::{self, PageSize};
use roster_kit::requests::{self, Replay};
use roster_kit::{Error, Result, token};
use roster_proto::identity as pb;
use roster_proto::types::ErrorReason;
use serde_json::json;
use tonic::Code;
use tracing::{info, instrument, warn};
use uuid::Uuid;

use self::model::{Kind, Status, UserRecord, effective_status};
use self::password::{PasswordHasher, check_policy, generate_temporary};
use crate::IdentityConfig;
use crate::store::{self, NewUser, Purpose, UserPatch, UserQuery};

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
}

/// The identity service's domain.
#[derive(Debug, Clone)]
pub struct Identity {
    pool: Pool,
    clock: SharedClock,
    config: IdentityConfig,
    hasher: PasswordHasher,
}

fn chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

fn require_operator(caller: &Caller) -> Result<&Principal> {
    let principal = caller.principal()?;
    if principal.is_operator {
        Ok(principal)
    } else {
        Err(Error::permission_denied(
            "only platform operators may do this",
        ))
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

fn forbid_self(principal: &Principal, user_id: Uuid, action: &str) -> Result<()> {
    if principal.user_id == user_id {
        return Err(Error::refused(
            Code::FailedPrecondition,
            ErrorReason::SelfActionForbidden,
            format!("you cannot {action} yourself"),
        ));
    }
    Ok(())
}

fn invalid_credentials() -> Error {
    Error::refused(
        Code::Unauthenticated,
        ErrorReason::InvalidCredentials,
        "email or password is incorrect",
    )
}

fn token_invalid() -> Error {
    Error::refused(
        Code::FailedPrecondition,
        ErrorReason::TokenInvalid,
        "the link is invalid, already used or expired",
    )
}

fn email_taken(email: &str) -> Error {
    Error::refused(
        Code::AlreadyExists,
        ErrorReason::EmailTaken,
        "another user already has this email",
    )
    .with_metadata("email", email)
}

/// Maps a unique violation on `users.email` to `EMAIL_TAKEN`.
fn or_email_taken<T>(result: Result<T>, email: &str) -> Result<T> {
    result.map_err(|e| {
        if e.reason() == Some(ErrorReason::AlreadyExists) {
            email_taken(email)
        } else {
            e
        }
    })
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
            Code::PermissionDenied,
            ErrorReason::UserDisabled,
            "this user is disabled by an administrator",
        )),
        Status::Locked => {
            let error = Error::refused(
                Code::PermissionDenied,
                ErrorReason::UserLocked,
                "this user is locked",
            );
            Err(match locked_until {
                Some(until) => error.with_metadata("lock_expire_time", until.to_rfc3339()),
                None => error,
            })
        }
    }
}

impl Identity {
    /// The domain over `pool`, reading time from `clock`.
    pub fn new(pool: Pool, clock: SharedClock, config: IdentityConfig) -> Self {
        let hasher =
            PasswordHasher::new(config.password_hash_concurrency, config.password_hash_wait);
        Self {
            pool,
            clock,
            config,
            hasher,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
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

    // ---- authentication -------------------------------------------------------------

    /// Resolves a session token or API key.
    #[instrument(skip_all, name = "identity.domain.authenticate")]
    pub(crate) async fn authenticate(&self, secret: &str) -> Result<Authenticated> {
        let now = self.now();
        let hash = token::hash(secret);
        let db = self.pool.get().await?;
        let owner = match secret.split_once('_').map(|(prefix, _)| prefix) {
            Some(SESSION_PREFIX) => store::session_owner(&db, &hash, now).await?,
            Some(API_KEY_PREFIX) => store::api_key_owner(&db, &hash, now).await?,
            _ => None,
        };
        let owner = owner
            .ok_or_else(|| Error::unauthenticated("the token is unknown, expired or revoked"))?;
        check_can_authenticate(owner.status, owner.locked_until, now)?;
        Ok(Authenticated {
            principal: Principal {
                user_id: owner.user_id,
                is_service: owner.kind == Kind::Service,
                is_operator: owner.is_operator,
                impersonator_id: owner.impersonator_id,
                email: owner.email,
                session_id: owner.session_id,
                api_key_id: owner.api_key_id,
            },
            password_change_only: owner.password_change_only,
        })
    }

    /// `Authenticate` for other services: restricted sessions are refused.
    pub(crate) async fn authenticate_for_service(&self, secret: &str) -> Result<pb::Principal> {
        let authenticated = self.authenticate(secret).await?;
        if authenticated.password_change_only {
            return Err(password_change_required());
        }
        let p = authenticated.principal;
        Ok(pb::Principal {
            user_id: p.user_id.to_string(),
            kind: if p.is_service {
                pb::UserKind::Service
            } else {
                pb::UserKind::Human
            }
            .into(),
            platform_role: if p.is_operator {
                pb::PlatformRole::Operator
            } else {
                pb::PlatformRole::User
            }
            .into(),
            impersonator_user_id: p
                .impersonator_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            email: p.email,
            session_id: p.session_id.map(|id| id.to_string()).unwrap_or_default(),
            api_key_id: p.api_key_id.map(|id| id.to_string()).unwrap_or_default(),
        })
    }

    /// Opens a session for email and password.
    #[instrument(skip_all, name = "identity.domain.login")]
    pub(crate) async fn login(&self, email: &str, password: &str) -> Result<pb::LoginResponse> {
        let email = roster_kit::email::normalize("email", email)?;
        // The connection goes back to the pool before the (slow) password check.
        let user = store::find_by_email(&self.pool.get().await?, &email).await?;
        if user.as_ref().is_some_and(|u| u.kind == Kind::Service) {
            return Err(Error::refused(
                Code::FailedPrecondition,
                ErrorReason::ServiceAccountLogin,
                "service accounts cannot log in; authenticate with an API key",
            ));
        }
        let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
        let matches = self.hasher.verify(password, stored).await?;
        let Some(user) = user else {
            return Err(invalid_credentials());
        };
        let now = self.now();
        if !matches {
            self.record_failed_login(&user, now).await?;
            return Err(invalid_credentials());
        }
        check_can_authenticate(user.status, user.locked_until, now)?;

        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let session = token::mint(SESSION_PREFIX);
        let expires_at = now + chrono(self.config.session_ttl);
        store::insert_session(
            &tx,
            user.id,
            &session.hash,
            now,
            expires_at,
            user.password_change_required,
        )
        .await?;
        let needs_cleanup = user.failed_logins > 0 || user.status == Status::Locked;
        let user = if needs_cleanup {
            // A lock whose period ended is lifted for good once its owner gets in.
            let status =
                (user.status == Status::Locked).then(|| (Status::Active, None, String::new()));
            store::update_user(
                &tx,
                user.id,
                UserPatch {
                    status,
                    reset_failed_logins: true,
                    ..UserPatch::default()
                },
                now,
            )
            .await?
        } else {
            user
        };
        let caller = Caller {
            principal: Some(principal_of(&user)),
            request_id: String::new(),
        };
        audit::record(
            &tx,
            &caller,
            now,
            AuditRecord {
                action: "identity.session.create",
                target_type: "user",
                target_id: user.id.to_string(),
                account_id: None,
                changes: Changes::new(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(pb::LoginResponse {
            session_token: session.secret,
            expire_time: Some(to_timestamp(expires_at)),
            password_change_required: user.password_change_required,
            user: Some(user.to_proto(now)),
        })
    }

    async fn record_failed_login(&self, user: &UserRecord, now: DateTime<Utc>) -> Result<()> {
        if user.status_at(now) != Status::Active {
            return Ok(());
        }
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let window_start = now - chrono(self.config.failed_login_window);
        let Some(failures) = store::record_failed_login(&tx, user.id, now, window_start).await?
        else {
            return Ok(());
        };
        let caller = Caller::default();
        let target_id = user.id.to_string();
        audit::record(
            &tx,
            &caller,
            now,
            AuditRecord {
                action: "identity.session.login_failed",
                target_type: "user",
                target_id: target_id.clone(),
                account_id: None,
                changes: Changes::new().field("failed_logins", failures - 1, failures),
            },
        )
        .await?;
        if u32::try_from(failures).unwrap_or(0) >= self.config.max_failed_logins {
            let until = now + chrono(self.config.lockout);
            let reason = "too many failed logins".to_owned();
            let locked = store::update_user(
                &tx,
                user.id,
                UserPatch {
                    status: Some((Status::Locked, Some(until), reason)),
                    reset_failed_logins: true,
                    ..UserPatch::default()
                },
                now,
            )
            .await?;
            store::revoke_sessions(&tx, user.id, None, now).await?;
            audit::record(
                &tx,
                &caller,
                now,
                AuditRecord {
                    action: "identity.user.lock",
                    target_type: "user",
                    target_id,
                    account_id: None,
                    changes: Changes::new().field("status", "active", "locked").field(
                        "lock_expire_time",
                        None::<String>,
                        until,
                    ),
                },
            )
            .await?;
            outbox::enqueue(&tx, now, OutboxMessage {
                template: "account_locked",
                recipient: &locked.email,
                variables: json!({ "display_name": locked.display_name, "lock_expire_time": until, "automatic": true }),
                secret_variables: None,
            })
            .await?;
            warn!(user_id = %user.id, failures, "user locked after repeated failed logins");
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ends the caller's session.
    pub(crate) async fn logout(&self, caller: &Caller) -> Result<()> {
        let principal = caller.principal()?;
        let session_id = principal.session_id.ok_or_else(|| {
            Error::refused(
                Code::FailedPrecondition,
                ErrorReason::InvalidState,
                "API keys have no session to end; revoke the key",
            )
        })?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        store::revoke_session(&tx, session_id, now).await?;
        self.audit_user(
            &tx,
            caller,
            now,
            "identity.session.revoke",
            principal.user_id,
            Changes::new(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session of a user.
    pub(crate) async fn revoke_sessions(
        &self,
        caller: &Caller,
        user_id: Uuid,
    ) -> Result<pb::RevokeSessionsResponse> {
        require_self_or_operator(caller, user_id)?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        self.load(&tx, user_id, false).await?;
        let revoked = store::revoke_sessions(&tx, user_id, None, now).await?;
        self.audit_user(
            &tx,
            caller,
            now,
            "identity.session.revoke_all",
            user_id,
            Changes::new().field("revoked_sessions", 0, revoked),
        )
        .await?;
        tx.commit().await?;
        Ok(pb::RevokeSessionsResponse {
            revoked_count: i32::try_from(revoked).unwrap_or(i32::MAX),
        })
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

    // ---- users --------------------------------------------------------------------------

    /// Creates a person (operators).
    #[instrument(skip_all, name = "identity.domain.create_user")]
    pub(crate) async fn create_user(
        &self,
        caller: &Caller,
        request: pb::CreateUserRequest,
    ) -> Result<pb::User> {
        require_operator(caller)?;
        let mut violations = roster_kit::error::Violations::new();
        let email = violations.check(roster_kit::email::normalize("email", &request.email));
        if request.display_name.trim().is_empty() {
            violations.add("display_name", "is required");
        }
        violations.finish()?;
        let email = email.unwrap_or_default();
        let password_hash = if request.password.is_empty() {
            None
        } else {
            check_policy("password", &request.password, &email)?;
            Some(self.hasher.hash(&request.password).await?)
        };
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::User>(&tx, caller, "CreateUser", now).await?
        {
            return Ok(previous);
        }
        let is_operator = request.platform_role == i32::from(pb::PlatformRole::Operator);
        let user = or_email_taken(
            store::insert_user(
                &tx,
                &NewUser {
                    kind: Kind::Human,
                    email: &email,
                    display_name: request.display_name.trim(),
                    phone: request.phone.trim(),
                    description: "",
                    is_operator,
                    password_hash: password_hash.as_deref(),
                },
                now,
            )
            .await,
            &email,
        )?;
        let changes = Changes::new()
            .field("email", None::<String>, &user.email)
            .field("display_name", None::<String>, &user.display_name)
            .field(
                "platform_role",
                None::<String>,
                if is_operator { "operator" } else { "user" },
            );
        self.audit_user(&tx, caller, now, "identity.user.create", user.id, changes)
            .await?;
        let answer = user.to_proto(now);
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        info!(user_id = %user.id, "user created");
        Ok(answer)
    }

    /// Creates a service account (operators).
    pub(crate) async fn create_service_account(
        &self,
        caller: &Caller,
        request: pb::CreateServiceAccountRequest,
    ) -> Result<pb::User> {
        require_operator(caller)?;
        if request.display_name.trim().is_empty() {
            return Err(Error::invalid("display_name", "is required"));
        }
        let email = if request.email.trim().is_empty() {
            String::new()
        } else {
            roster_kit::email::normalize("email", &request.email)?
        };
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::User>(&tx, caller, "CreateServiceAccount", now).await?
        {
            return Ok(previous);
        }
        let user = or_email_taken(
            store::insert_user(
                &tx,
                &NewUser {
                    kind: Kind::Service,
                    email: &email,
                    display_name: request.display_name.trim(),
                    phone: "",
                    description: request.description.trim(),
                    is_operator: false,
                    password_hash: None,
                },
                now,
            )
            .await,
            &email,
        )?;
        let changes = Changes::new()
            .field("display_name", None::<String>, &user.display_name)
            .field("kind", None::<String>, "service");
        self.audit_user(
            &tx,
            caller,
            now,
            "identity.service_account.create",
            user.id,
            changes,
        )
        .await?;
        let answer = user.to_proto(now);
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// Reads a user (operators, or themself).
    pub(crate) async fn get_user(&self, caller: &Caller, user_id: Uuid) -> Result<pb::User> {
        require_self_or_operator(caller, user_id)?;
        let db = self.pool.get().await?;
        Ok(self.load(&db, user_id, false).await?.to_proto(self.now()))
    }

    /// Reads many users (operators).
    pub(crate) async fn batch_get_users(
        &self,
        caller: &Caller,
        ids: Vec<Uuid>,
    ) -> Result<pb::BatchGetUsersResponse> {
        require_operator(caller)?;
        if ids.len() > 1000 {
            return Err(Error::invalid("user_ids", "at most 1000 ids per call"));
        }
        let db = self.pool.get().await?;
        let found = store::get_users(&db, &ids).await?;
        let now = self.now();
        let mut response = pb::BatchGetUsersResponse::default();
        for id in ids {
            match found.iter().find(|u| u.id == id) {
                Some(user) => response.users.push(user.to_proto(now)),
                None => response.missing_user_ids.push(id.to_string()),
            }
        }
        Ok(response)
    }

    /// Lists users (operators).
    pub(crate) async fn list_users(
        &self,
        caller: &Caller,
        query: UserQuery,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::ListUsersResponse> {
        require_operator(caller)?;
        let limit = PageSize::LIST.resolve(page_size)?;
        let after: Option<(String, Uuid)> = paging::decode(&query, page_token)?;
        let now = self.now();
        let db = self.pool.get().await?;
        let mut users =
            store::list_users(&db, &query, after.as_ref(), i64::from(limit) + 1, now).await?;
        let next_page_token = if users.len() > limit as usize {
            users.truncate(limit as usize);
            users
                .last()
                .map(|last| paging::encode(&query, &(query.order.key_of(last), last.id)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListUsersResponse {
            users: users.iter().map(|u| u.to_proto(now)).collect(),
            next_page_token,
        })
    }

    /// Updates display name and phone (operators, or themself).
    pub(crate) async fn update_user(
        &self,
        caller: &Caller,
        user_id: Uuid,
        display_name: Option<String>,
        phone: Option<String>,
        etag: &str,
    ) -> Result<pb::User> {
        require_self_or_operator(caller, user_id)?;
        if display_name
            .as_deref()
            .is_some_and(|name| name.trim().is_empty())
        {
            return Err(Error::invalid("user.display_name", "must not be empty"));
        }
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::User>(&tx, caller, "UpdateUser", now).await?
        {
            return Ok(previous);
        }
        let before = self.load(&tx, user_id, true).await?;
        if !etag.is_empty() && etag != before.etag() {
            return Err(Error::refused(
                Code::Aborted,
                ErrorReason::EtagMismatch,
                "the user changed since it was read; re-read it",
            )
            .with_metadata("etag", before.etag()));
        }
        let patch = UserPatch {
            display_name: display_name.map(|n| n.trim().to_owned()),
            phone: phone.map(|p| p.trim().to_owned()),
            ..UserPatch::default()
        };
        let after = store::update_user(&tx, user_id, patch, now).await?;
        let changes = Changes::new()
            .field("display_name", &before.display_name, &after.display_name)
            .field("phone", &before.phone, &after.phone);
        self.audit_user(&tx, caller, now, "identity.user.update", user_id, changes)
            .await?;
        let answer = after.to_proto(now);
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }

    // ---- status -------------------------------------------------------------------------

    /// Disables, enables, locks or unlocks a user (operators; never oneself).
    #[instrument(skip(self, caller), name = "identity.domain.set_status")]
    pub(crate) async fn set_status(
        &self,
        caller: &Caller,
        user_id: Uuid,
        change: StatusChange,
    ) -> Result<pb::User> {
        let principal = require_operator(caller)?;
        let (rpc, verb) = change.names();
        if matches!(change, StatusChange::Disable | StatusChange::Lock { .. }) {
            forbid_self(principal, user_id, verb)?;
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
                    Code::FailedPrecondition,
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
                reset_failed_logins: true,
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
            outbox::enqueue(&tx, now, OutboxMessage {
                template: "account_locked",
                recipient: &after.email,
                variables: json!({ "display_name": after.display_name, "lock_expire_time": until, "automatic": false }),
                secret_variables: None,
            })
            .await?;
        }
        let answer = after.to_proto(now);
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        info!(user_id = %user_id, status = after.status.as_db(), "user status changed");
        Ok(answer)
    }

    // ---- email change -------------------------------------------------------------------

    /// Sends a verification link to a new email (operators, or themself).
    pub(crate) async fn change_email(
        &self,
        caller: &Caller,
        user_id: Uuid,
        new_email: &str,
    ) -> Result<pb::User> {
        require_self_or_operator(caller, user_id)?;
        let new_email = roster_kit::email::normalize("new_email", new_email)?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::User>(&tx, caller, "ChangeEmail", now).await?
        {
            return Ok(previous);
        }
        let before = self.load(&tx, user_id, true).await?;
        if before.email == new_email {
            return Err(Error::invalid("new_email", "is already the user's email"));
        }
        if store::find_by_email(&tx, &new_email).await?.is_some() {
            return Err(email_taken(&new_email));
        }
        let minted = token::mint(EMAIL_CHANGE_PREFIX);
        let expires_at = now + chrono(self.config.email_change_ttl);
        store::replace_one_time_token(
            &tx,
            user_id,
            Purpose::EmailChange,
            &minted.hash,
            Some(&new_email),
            now,
            expires_at,
        )
        .await?;
        let after = store::update_user(
            &tx,
            user_id,
            UserPatch {
                pending_email: Some(Some(new_email.clone())),
                ..UserPatch::default()
            },
            now,
        )
        .await?;
        outbox::enqueue(&tx, now, OutboxMessage {
            template: "email_change_verification",
            recipient: &new_email,
            variables: json!({ "display_name": after.display_name, "expire_time": expires_at }),
            secret_variables: Some(json!({
                "token": minted.secret,
                "verify_url": format!("{}/verify-email?token={}", self.config.public_url, minted.secret),
            })),
        })
        .await?;
        self.audit_user(
            &tx,
            caller,
            now,
            "identity.user.email_change_request",
            user_id,
            Changes::new().field("pending_email", &before.pending_email, &new_email),
        )
        .await?;
        let answer = after.to_proto(now);
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// Applies an email change with its token.
    pub(crate) async fn confirm_email_change(&self, secret: &str) -> Result<pb::User> {
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let (user_id, new_email) =
            store::consume_one_time_token(&tx, Purpose::EmailChange, &token::hash(secret), now)
                .await?
                .ok_or_else(token_invalid)?;
        let new_email = new_email.ok_or_else(token_invalid)?;
        let before = self.load(&tx, user_id, true).await?;
        let patch = UserPatch {
            email: Some(new_email.clone()),
            pending_email: Some(None),
            ..UserPatch::default()
        };
        let after = or_email_taken(
            store::update_user(&tx, user_id, patch, now).await,
            &new_email,
        )?;
        let caller = Caller {
            principal: Some(principal_of(&before)),
            request_id: String::new(),
        };
        self.audit_user(
            &tx,
            &caller,
            now,
            "identity.user.email_change",
            user_id,
            Changes::new().field("email", &before.email, &after.email),
        )
        .await?;
        tx.commit().await?;
        Ok(after.to_proto(now))
    }

    // ---- API keys -----------------------------------------------------------------------

    /// Creates an API key (operators, or for oneself).
    pub(crate) async fn create_api_key(
        &self,
        caller: &Caller,
        user_id: Uuid,
        display_name: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<pb::CreateApiKeyResponse> {
        require_self_or_operator(caller, user_id)?;
        let now = self.now();
        if expires_at.is_some_and(|at| at <= now) {
            return Err(Error::invalid("expire_time", "must be in the future"));
        }
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::CreateApiKeyResponse>(&tx, caller, "CreateApiKey", now).await?
        {
            return Ok(previous);
        }
        self.load(&tx, user_id, false).await?;
        let minted = token::mint(API_KEY_PREFIX);
        let prefix: String = minted.secret.chars().take(12).collect();
        let key = store::insert_api_key(
            &tx,
            user_id,
            display_name.trim(),
            &prefix,
            &minted.hash,
            now,
            expires_at,
        )
        .await?;
        audit::record(
            &tx,
            caller,
            now,
            AuditRecord {
                action: "identity.api_key.create",
                target_type: "api_key",
                target_id: key.id.to_string(),
                account_id: None,
                changes: Changes::new()
                    .field("user_id", None::<String>, user_id)
                    .field("expire_time", None::<String>, expires_at),
            },
        )
        .await?;
        requests::finish(&tx, caller, None::<&pb::CreateApiKeyResponse>).await?;
        tx.commit().await?;
        Ok(pb::CreateApiKeyResponse {
            api_key: Some(key.to_proto()),
            secret: minted.secret,
        })
    }

    /// Lists a user's API keys.
    pub(crate) async fn list_api_keys(
        &self,
        caller: &Caller,
        user_id: Uuid,
        show_all: bool,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::ListApiKeysResponse> {
        require_self_or_operator(caller, user_id)?;
        let limit = PageSize::LIST.resolve(page_size)?;
        let query = (user_id, show_all);
        let after: Option<(DateTime<Utc>, Uuid)> = paging::decode(&query, page_token)?;
        let db = self.pool.get().await?;
        let mut keys = store::list_api_keys(
            &db,
            user_id,
            !show_all,
            after.as_ref(),
            i64::from(limit) + 1,
            self.now(),
        )
        .await?;
        let next_page_token = if keys.len() > limit as usize {
            keys.truncate(limit as usize);
            keys.last()
                .map(|k| paging::encode(&query, &(k.created_at, k.id)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListApiKeysResponse {
            api_keys: keys.iter().map(store::ApiKeyRecord::to_proto).collect(),
            next_page_token,
        })
    }

    /// Revokes an API key (operators, or the key's user).
    pub(crate) async fn revoke_api_key(
        &self,
        caller: &Caller,
        api_key_id: Uuid,
    ) -> Result<pb::ApiKey> {
        let principal = caller.principal()?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let key = store::get_api_key(&tx, api_key_id).await?;
        // Someone else's key reads as missing: its existence is not theirs to learn.
        let key = key
            .filter(|k| principal.is_operator || k.user_id == principal.user_id)
            .ok_or_else(|| Error::not_found("api key", api_key_id))?;
        if key.revoked_at.is_some() {
            return Ok(key.to_proto());
        }
        let revoked = store::revoke_api_key(&tx, api_key_id, now)
            .await?
            .ok_or_else(|| Error::not_found("api key", api_key_id))?;
        audit::record(
            &tx,
            caller,
            now,
            AuditRecord {
                action: "identity.api_key.revoke",
                target_type: "api_key",
                target_id: api_key_id.to_string(),
                account_id: None,
                changes: Changes::new().field("revoke_time", None::<String>, now),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(revoked.to_proto())
    }

    // ---- passwords ----------------------------------------------------------------------

    /// Changes one's own password, proving the current one; ends one's other sessions.
    pub(crate) async fn change_password(
        &self,
        caller: &Caller,
        user_id: Uuid,
        old: &str,
        new: &str,
    ) -> Result<()> {
        let principal = caller.principal()?;
        if principal.user_id != user_id {
            return Err(Error::permission_denied(
                "only the user may change their password; operators set a temporary one",
            ));
        }
        let user = {
            let db = self.pool.get().await?;
            self.load(&db, user_id, false).await?
        };
        if user.kind == Kind::Service {
            return Err(wrong_kind());
        }
        check_policy("new_password", new, &user.email)?;
        if !self
            .hasher
            .verify(old, user.password_hash.as_deref())
            .await?
        {
            return Err(invalid_credentials().with_metadata("field", "old_password"));
        }
        let hash = self.hasher.hash(new).await?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let patch = UserPatch {
            password_hash: Some(hash),
            password_change_required: Some(false),
            ..UserPatch::default()
        };
        store::update_user(&tx, user_id, patch, now).await?;
        store::revoke_sessions(&tx, user_id, principal.session_id, now).await?;
        if let Some(session_id) = principal.session_id {
            store::lift_session_restriction(&tx, session_id).await?;
        }
        self.audit_user(
            &tx,
            caller,
            now,
            "identity.password.change",
            user_id,
            Changes::new().field("password", "(set)", "(changed)"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Emails a reset link if `email` belongs to a person. The answer, and its timing, are
    /// the same either way.
    #[instrument(skip_all, name = "identity.domain.request_password_reset")]
    pub(crate) async fn request_password_reset(&self, email: &str) -> Result<()> {
        let email = roster_kit::email::normalize("email", email)?;
        let answer_at = tokio::time::Instant::now() + self.config.reset_response_floor;
        let outcome = self.send_reset_link(&email).await;
        tokio::time::sleep_until(answer_at).await;
        if let Err(error) = outcome {
            // Failures are logged, not returned: an error for known emails only would tell.
            warn!(error = %error, "password reset request failed");
        }
        Ok(())
    }

    async fn send_reset_link(&self, email: &str) -> Result<()> {
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let Some(user) = store::find_by_email(&tx, email).await? else {
            return Ok(());
        };
        if user.kind != Kind::Human {
            return Ok(());
        }
        // One email a minute per person: a public RPC must not flood an inbox.
        let throttle_since = now - chrono::Duration::minutes(1);
        if store::token_sent_since(&tx, user.id, Purpose::PasswordReset, throttle_since).await? {
            info!(user_id = %user.id, "password reset throttled");
            return Ok(());
        }
        let minted = token::mint(RESET_PREFIX);
        let expires_at = now + chrono(self.config.reset_token_ttl);
        store::replace_one_time_token(
            &tx,
            user.id,
            Purpose::PasswordReset,
            &minted.hash,
            None,
            now,
            expires_at,
        )
        .await?;
        outbox::enqueue(&tx, now, OutboxMessage {
            template: "password_reset",
            recipient: &user.email,
            variables: json!({ "display_name": user.display_name, "expire_time": expires_at }),
            secret_variables: Some(json!({
                "token": minted.secret,
                "reset_url": format!("{}/reset-password?token={}", self.config.public_url, minted.secret),
            })),
        })
        .await?;
        self.audit_user(
            &tx,
            &Caller::default(),
            now,
            "identity.password.reset_request",
            user.id,
            Changes::new(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a new password with a reset token; ends every session.
    pub(crate) async fn reset_password(&self, secret: &str, new: &str) -> Result<()> {
        check_policy("new_password", new, "")?;
        let hash = self.hasher.hash(new).await?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let (user_id, _) =
            store::consume_one_time_token(&tx, Purpose::PasswordReset, &token::hash(secret), now)
                .await?
                .ok_or_else(token_invalid)?;
        let user = self.load(&tx, user_id, true).await?;
        // Rolling back keeps the token usable with a better password.
        check_policy("new_password", new, &user.email)?;
        let patch = UserPatch {
            password_hash: Some(hash),
            password_change_required: Some(false),
            ..UserPatch::default()
        };
        store::update_user(&tx, user_id, patch, now).await?;
        store::revoke_sessions(&tx, user_id, None, now).await?;
        let caller = Caller {
            principal: Some(principal_of(&user)),
            request_id: String::new(),
        };
        self.audit_user(
            &tx,
            &caller,
            now,
            "identity.password.reset",
            user_id,
            Changes::new().field("password", "(set)", "(reset)"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a generated temporary password (operators); returns it once.
    pub(crate) async fn set_temporary_password(
        &self,
        caller: &Caller,
        user_id: Uuid,
    ) -> Result<String> {
        require_operator(caller)?;
        let temporary = generate_temporary();
        let hash = self.hasher.hash(&temporary).await?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(_) = requests::begin::<pb::SetTemporaryPasswordResponse>(
            &tx,
            caller,
            "SetTemporaryPassword",
            now,
        )
        .await?
        {
            return Err(Error::internal("request log", "a secret answer was stored"));
        }
        let user = self.load(&tx, user_id, true).await?;
        if user.kind == Kind::Service {
            return Err(wrong_kind());
        }
        let patch = UserPatch {
            password_hash: Some(hash),
            password_change_required: Some(true),
            ..UserPatch::default()
        };
        store::update_user(&tx, user_id, patch, now).await?;
        store::revoke_sessions(&tx, user_id, None, now).await?;
        outbox::enqueue(
            &tx,
            now,
            OutboxMessage {
                template: "temporary_password_set",
                recipient: &user.email,
                variables: json!({ "display_name": user.display_name }),
                secret_variables: None,
            },
        )
        .await?;
        self.audit_user(
            &tx,
            caller,
            now,
            "identity.password.set_temporary",
            user_id,
            Changes::new().field(
                "password_change_required",
                user.password_change_required,
                true,
            ),
        )
        .await?;
        requests::finish(&tx, caller, None::<&pb::SetTemporaryPasswordResponse>).await?;
        tx.commit().await?;
        Ok(temporary)
    }

    // ---- audit and feed -----------------------------------------------------------------

    /// Lists audit events (operators).
    pub(crate) async fn list_audit_events(
        &self,
        caller: &Caller,
        query: &audit::AuditQuery,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::ListAuditEventsResponse> {
        require_operator(caller)?;
        let db = self.pool.get().await?;
        let (audit_events, next_page_token) =
            audit::list(&db, query, page_size, page_token).await?;
        Ok(pb::ListAuditEventsResponse {
            audit_events,
            next_page_token,
        })
    }

    /// Reads the user change feed (operators).
    pub(crate) async fn list_user_changes(
        &self,
        caller: &Caller,
        after: i64,
        page_size: i32,
    ) -> Result<pb::ListUserChangesResponse> {
        require_operator(caller)?;
        if after < 0 {
            return Err(Error::invalid("after_sequence", "must not be negative"));
        }
        let limit = PageSize {
            default: 100,
            max: 1000,
        }
        .resolve(page_size)?;
        let db = self.pool.get().await?;
        let users = store::list_changes(&db, after, i64::from(limit)).await?;
        let now = self.now();
        Ok(pb::ListUserChangesResponse {
            last_sequence: users.last().map_or(after, |u| u.change_seq),
            changes: users
                .iter()
                .map(|u| pb::UserChange {
                    sequence: u.change_seq,
                    user: Some(u.to_proto(now)),
                })
                .collect(),
        })
    }

    // ---- bootstrap and upkeep -----------------------------------------------------------

    /// Creates the first platform operator and an API key for it: the way in on an empty
    /// database. Refused once any operator exists.
    pub async fn bootstrap_operator(
        &self,
        email: &str,
        display_name: &str,
    ) -> Result<(pb::User, String)> {
        let email = roster_kit::email::normalize("operator_email", email)?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('roster.identity.bootstrap', 0))",
            &[],
        )
        .await?;
        if store::operator_exists(&tx).await? {
            return Err(Error::refused(
                Code::FailedPrecondition,
                ErrorReason::AlreadyExists,
                "a platform operator already exists; ask one for an API key (CreateApiKey)",
            ));
        }
        let user = or_email_taken(
            store::insert_user(
                &tx,
                &NewUser {
                    kind: Kind::Human,
                    email: &email,
                    display_name: if display_name.trim().is_empty() {
                        "Operator"
                    } else {
                        display_name.trim()
                    },
                    phone: "",
                    description: "",
                    is_operator: true,
                    password_hash: None,
                },
                now,
            )
            .await,
            &email,
        )?;
        let minted = token::mint(API_KEY_PREFIX);
        let prefix: String = minted.secret.chars().take(12).collect();
        let key =
            store::insert_api_key(&tx, user.id, "bootstrap", &prefix, &minted.hash, now, None)
                .await?;
        let caller = Caller {
            principal: Some(principal_of(&user)),
            request_id: String::new(),
        };
        self.audit_user(
            &tx,
            &caller,
            now,
            "identity.user.bootstrap_operator",
            user.id,
            Changes::new().field("email", None::<String>, &email).field(
                "api_key_id",
                None::<String>,
                key.id,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok((user.to_proto(now), minted.secret))
    }

    /// Deletes long-expired sessions and tokens and old request answers, every
    /// `interval`, until `shutdown`.
    pub async fn run_janitor(
        &self,
        interval: Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(interval) => {}
            }
            let keep_after = self.now() - chrono::Duration::days(1);
            let outcome =
                async { store::delete_stale(&self.pool.get().await?, keep_after).await }.await;
            match outcome {
                Ok(deleted) if deleted > 0 => info!(deleted, "stale credentials deleted"),
                Ok(_) => {}
                Err(error) => warn!(error = %error, "janitor failed"),
            }
        }
    }
}

fn wrong_kind() -> Error {
    Error::refused(
        Code::FailedPrecondition,
        ErrorReason::WrongUserKind,
        "service accounts have no password; use API keys",
    )
}

fn password_change_required() -> Error {
    Error::refused(
        Code::FailedPrecondition,
        ErrorReason::PasswordChangeRequired,
        "this session was opened with a temporary password: change the password first",
    )
}

/// The refusal for restricted sessions calling anything but ChangePassword/Logout.
pub(crate) fn restricted_session() -> Error {
    password_change_required()
}

fn principal_of(user: &UserRecord) -> Principal {
    Principal {
        user_id: user.id,
        is_service: user.kind == Kind::Service,
        is_operator: user.is_operator,
        impersonator_id: None,
        email: user.email.clone(),
        session_id: None,
        api_key_id: None,
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
