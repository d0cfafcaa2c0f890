//! Authentication, login (with lockout), logout and sessions.
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use roster_kit::audit::Changes;
use roster_kit::auth::{Caller, Principal};
use roster_kit::clock::to_timestamp;
use roster_kit::requests::Replay;
use roster_kit::{Error, Result, requests, token};
use roster_proto::identity as pb;
use roster_proto::types::ErrorReason;
use tracing::{instrument, warn};
use uuid::Uuid;

use super::model::{Kind, Status, UserRecord};
use super::{
    API_KEY_PREFIX, Authenticated, Identity, SESSION_PREFIX, acting_as, actor,
    check_can_authenticate, enqueue_lock_notice, invalid_credentials, password_change_required,
    require_self_or_operator, to_chrono,
};
use crate::store::{self, UserPatch};

impl Identity {
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
                is_roster_service: false,
            },
            password_change_only: owner.password_change_only,
        })
    }

    /// `Authenticate` for other services: restricted sessions are refused.
    #[instrument(skip_all, name = "identity.domain.authenticate_for_service")]
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
        let user = self.verify_login(user, password).await?;
        self.start_session(user).await
    }

    /// Proves `password` is `user`'s, as a login does: a service account reads as an
    /// unknown user, an unknown user takes as long as a known one (the same hashing work
    /// against a decoy), a wrong password counts toward the lockout, and disabled or
    /// locked users are refused.
    pub(super) async fn verify_login(
        &self,
        user: Option<UserRecord>,
        password: &str,
    ) -> Result<UserRecord> {
        // A service account's email answers exactly as an unknown one: a distinct refusal
        // would tell a stranger the address exists. Its failures count toward no lockout
        // either (a lock would stop its API keys).
        let user = user.filter(|u| u.kind == Kind::Human);
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
        Ok(user)
    }

    /// Opens a session for `user`, whose password was just proven, in a transaction of
    /// its own.
    pub(super) async fn start_session(&self, user: UserRecord) -> Result<pb::LoginResponse> {
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let session = self.open_session(&tx, user, now).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Opens a session for `user` in the caller's transaction: a new token living the
    /// session lifetime, failed logins forgotten, an ended lock lifted, the login audited.
    pub(super) async fn open_session(
        &self,
        db: &impl GenericClient,
        user: UserRecord,
        now: DateTime<Utc>,
    ) -> Result<pb::LoginResponse> {
        let session = token::mint(SESSION_PREFIX);
        let expires_at = now + to_chrono(self.config.session_ttl);
        store::insert_session(
            db,
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
                db,
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
        let caller = acting_as(&user);
        self.audit_user(
            db,
            &caller,
            now,
            "identity.session.create",
            user.id,
            Changes::new(),
        )
        .await?;
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
        let window_start = now - to_chrono(self.config.failed_login_window);
        let Some(failures) = store::record_failed_login(&tx, user.id, now, window_start).await?
        else {
            return Ok(());
        };
        let caller = Caller::default();
        let counted = Changes::new().field("failed_logins", failures - 1, failures);
        self.audit_user(
            &tx,
            &caller,
            now,
            "identity.session.login_failed",
            user.id,
            counted,
        )
        .await?;
        if u32::try_from(failures).unwrap_or(0) >= self.config.max_failed_logins {
            let until = now + to_chrono(self.config.lockout);
            let status = (
                Status::Locked,
                Some(until),
                "too many failed logins".to_owned(),
            );
            let patch = UserPatch {
                status: Some(status),
                reset_failed_logins: true,
                ..UserPatch::default()
            };
            let locked = store::update_user(&tx, user.id, patch, now).await?;
            store::revoke_sessions(&tx, user.id, None, now).await?;
            let changes = Changes::new().field("status", "active", "locked").field(
                "lock_expire_time",
                None::<String>,
                until,
            );
            self.audit_user(&tx, &caller, now, "identity.user.lock", user.id, changes)
                .await?;
            enqueue_lock_notice(&tx, now, &locked, Some(until), true).await?;
            warn!(user_id = %user.id, failures, "user locked after repeated failed logins");
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether `secret` is a session (live or not) whose logout with `request_id` was
    /// answered: its retry, refused by authentication now that the session ended, answers
    /// as the first call did.
    #[instrument(skip_all, name = "identity.domain.logout_answered")]
    pub(crate) async fn logout_answered(&self, secret: &str, request_id: &str) -> Result<bool> {
        if request_id.is_empty() || secret.split_once('_').map(|(p, _)| p) != Some(SESSION_PREFIX) {
            return Ok(false);
        }
        let db = self.pool.get().await?;
        let Some(user_id) = store::session_user(&db, &token::hash(secret)).await? else {
            return Ok(false);
        };
        let caller = actor(user_id, request_id);
        let answered = requests::answered::<pb::LogoutResponse>(&db, &caller, "Logout");
        Ok(answered.await?.is_some())
    }

    /// Ends the caller's session.
    #[instrument(skip_all, name = "identity.domain.logout")]
    pub(crate) async fn logout(&self, caller: &Caller) -> Result<()> {
        let principal = caller.principal()?;
        let session_id = principal.session_id.ok_or_else(|| {
            Error::refused(
                ErrorReason::InvalidState,
                "API keys have no session to end; revoke the key",
            )
        })?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(_) =
            requests::begin::<pb::LogoutResponse>(&tx, caller, "Logout", now).await?
        {
            return Ok(());
        }
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
        requests::finish(&tx, caller, Some(&pb::LogoutResponse {})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session of a user.
    #[instrument(skip_all, name = "identity.domain.revoke_sessions")]
    pub(crate) async fn revoke_sessions(
        &self,
        caller: &Caller,
        user_id: Uuid,
    ) -> Result<pb::RevokeSessionsResponse> {
        require_self_or_operator(caller, user_id)?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::RevokeSessionsResponse>(&tx, caller, "RevokeSessions", now)
                .await?
        {
            return Ok(previous);
        }
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
        let answer = pb::RevokeSessionsResponse {
            revoked_count: i32::try_from(revoked).unwrap_or(i32::MAX),
        };
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }
}
